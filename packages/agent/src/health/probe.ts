/** What a health probe returns: whether the task is healthy, and why not. */
export interface ProbeResult {
  ok: boolean;
  /** Why it failed (or what succeeded), for logs and status messages. */
  message: string;
  /** COMMAND: the command's exit code (unset when it timed out or was killed by a signal). */
  exitCode?: number;
  /** HTTP: the response's status code (unset when there was no response). */
  statusCode?: number;
  /** The probe did not finish within its timeout. */
  timedOut?: boolean;
}

/** One probe attempt; must settle within `timeoutMs` (a timeout is a failure). */
export type Probe = (timeoutMs: number) => Promise<ProbeResult>;
