/** What a health probe returns: whether the task is healthy, and why not. */
export interface ProbeResult {
  ok: boolean;
  /** Why it failed (or what succeeded), for logs and status messages. */
  message: string;
}

/** One probe attempt; must settle within `timeoutMs` (a timeout is a failure). */
export type Probe = (timeoutMs: number) => Promise<ProbeResult>;
