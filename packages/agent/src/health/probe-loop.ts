/**
 * The timer loop shared by health checks and generalized checks: the first
 * probe after a delay, then one every `interval` after the previous one
 * ended, each bounded by `timeout`; each result goes to `onResult` (unless the
 * loop was disposed while the probe ran). The decisions stay in the callers'
 * pure policies.
 */
import type { Clock, Disposable } from '@agora/common';
import type { Probe, ProbeResult } from './probe.js';

/** When probes run: `timeoutMs` bounds each, `intervalMs` separates the end of one from the start of the next. */
export interface ProbeTiming {
  timeoutMs: number;
  intervalMs: number;
}

export class ProbeLoop implements Disposable {
  private timer: Disposable | undefined;
  private disposed = false;
  private count = 0;

  /** `onResult` hears each result; the next probe is scheduled after it returns, unless the loop was disposed. */
  constructor(
    private readonly probe: Probe,
    private readonly clock: Clock,
    private readonly timing: ProbeTiming,
    private readonly onResult: (result: ProbeResult) => void,
  ) {}

  /** Probes run so far. */
  get runs(): number {
    return this.count;
  }

  /** A probe is scheduled or has run. */
  get started(): boolean {
    return this.timer !== undefined || this.count > 0;
  }

  /** Schedule the first probe after `delayMs`. */
  start(delayMs: number): void {
    this.schedule(delayMs);
  }

  dispose(): void {
    this.disposed = true;
    this.timer?.dispose();
    this.timer = undefined;
  }

  private schedule(ms: number): void {
    if (this.disposed) return;
    this.timer = this.clock.setTimeout(() => void this.runOnce(), ms);
  }

  private async runOnce(): Promise<void> {
    this.timer = undefined;
    if (this.disposed) return;
    this.count++;
    const result = await this.probe(this.timing.timeoutMs);
    if (this.disposed) return;
    this.onResult(result);
    this.schedule(this.timing.intervalMs);
  }
}
