/**
 * Mesos' `--agent_removal_rate_limit` (e.g. `1/10mins`): agents that fail health checks are removed (marked
 * unreachable) at most `permits` per `perMs`, one every `perMs / permits`; the others wait in order for their
 * turn. A removal whose agent came back meanwhile is dropped by its callback (the caller checks). Unlimited
 * when no limit is configured: every removal runs at once.
 */
import type { Clock, Disposable } from '@agora/common';

export interface RemovalRateLimit {
  permits: number;
  perMs: number;
}

/** `N/<Mesos duration>` (`1/10mins`, `5/1secs`) → a rate limit. Throws a plain Error with the reason. */
export function parseRemovalRateLimit(text: string, parseDurationMs: (d: string) => number): RemovalRateLimit {
  const m = /^\s*(\d+)\s*\/\s*(\S+)\s*$/.exec(text);
  if (m === null) throw new Error(`must be <number>/<duration> such as 1/10mins, got '${text}'`);
  const permits = Number(m[1]);
  if (!(permits > 0)) throw new Error(`the number of removals must be positive, got '${text}'`);
  const perMs = parseDurationMs(m[2]!);
  if (!(perMs > 0)) throw new Error(`the duration must be positive, got '${text}'`);
  return { permits, perMs };
}

export class RemovalRateLimiter implements Disposable {
  private readonly queue: Array<() => void> = [];
  private nextAt = Number.NEGATIVE_INFINITY;
  private timer: Disposable | undefined;
  private disposed = false;

  constructor(
    private readonly clock: Clock,
    private readonly limit: RemovalRateLimit | undefined,
  ) {}

  /** Removals waiting for their turn. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Run `removal` now if the rate allows, else when its turn comes. */
  schedule(removal: () => void): void {
    if (this.disposed) return;
    if (this.limit === undefined) {
      removal();
      return;
    }
    this.queue.push(removal);
    this.drain();
  }

  dispose(): void {
    this.disposed = true;
    this.queue.length = 0;
    this.timer?.dispose();
    this.timer = undefined;
  }

  private drain(): void {
    const limit = this.limit;
    if (limit === undefined || this.timer !== undefined) return;
    while (this.queue.length > 0) {
      const now = this.clock.now();
      if (now < this.nextAt) {
        this.timer = this.clock.setTimeout(() => {
          this.timer = undefined;
          this.drain();
        }, this.nextAt - now);
        return;
      }
      this.nextAt = now + limit.perMs / limit.permits;
      this.queue.shift()!();
    }
  }
}
