/** Bounded polling: wait until a check returns a value, or fail with a named timeout. */
import { AgoraError } from '@agora/common';

export interface WaitForOptions {
  /** Give up after this long. @default 10000 */
  timeoutMs?: number;
  /** Pause between checks. @default 50 */
  intervalMs?: number;
  /** What is being waited for; put in the timeout error. @default 'condition' */
  message?: string;
}

export const DEFAULT_WAIT_FOR_OPTIONS: Required<WaitForOptions> = {
  timeoutMs: 10_000,
  intervalMs: 50,
  message: 'condition',
};

type Pending = undefined | null | false;

/**
 * Calls `check` until it returns something other than `undefined`, `null` or
 * `false` (sync or async) and resolves with that value. A check that throws
 * counts as "not yet"; its last error is the timeout error's `cause`. After
 * `timeoutMs` rejects with AGORA_ERR_TIMEOUT naming `message`.
 */
export async function waitFor<T>(
  check: () => T | Pending | Promise<T | Pending>,
  options: WaitForOptions = {},
): Promise<T> {
  const { timeoutMs, intervalMs, message } = { ...DEFAULT_WAIT_FOR_OPTIONS, ...options };
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== null && value !== false) return value as T;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      const why = lastError === undefined ? '' : ` (last error: ${errorText(lastError)})`;
      throw new AgoraError('AGORA_ERR_TIMEOUT', `timed out after ${timeoutMs} ms waiting for ${message}${why}`, {
        cause: lastError,
        data: { timeoutMs, message },
      });
    }
    await sleep(Math.min(intervalMs, left));
  }
}

/** Resolve after `ms` milliseconds (for polling loops; tests should wait on conditions, not time). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
