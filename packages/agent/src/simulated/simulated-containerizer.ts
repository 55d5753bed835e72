/**
 * A containerizer whose tasks run virtually: no process is started. A task
 * "runs" for `taskDurationMs` on the clock, then finishes (exit 0) or, with
 * probability `failureRate`, fails (exit 1); a kill ends it at once
 * (SIGTERM, or SIGKILL after the grace period is not needed). Only the
 * sandbox's `stdout` / `stderr` files are written. For scale tests and
 * benchmarks (`agora agent --simulate`); never the default.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgoraError, type Clock, type Disposable, systemClock } from '@agora/common';
import type {
  Container,
  ContainerExit,
  ContainerUsage,
  Containerizer,
  LaunchSpec,
} from '../containerizer/containerizer.js';

export interface SimulatedLifecycle {
  /** How long a task runs; 0 or Infinity = until killed. @default 0 (until killed) */
  taskDurationMs?: number;
  /** The fraction (0..1) of tasks that end TASK_FAILED instead of TASK_FINISHED. @default 0 */
  failureRate?: number;
  /** @default Math.random */
  random?: () => number;
  clock?: Clock;
}

/**
 * Fake process ids, above Linux's PID_MAX_LIMIT (2^22): a signal sent to one
 * by mistake reaches no real process.
 */
let nextPid = 4_200_000;

class SimulatedContainer implements Container {
  readonly pid = nextPid++;
  readonly exited: Promise<ContainerExit>;
  private resolveExit!: (exit: ContainerExit) => void;
  private exit: ContainerExit | undefined;
  private timer: Disposable | undefined;
  private readonly startedMs: number;

  constructor(
    readonly containerId: string,
    private readonly clock: Clock,
    durationMs: number,
    fails: boolean,
  ) {
    this.startedMs = clock.now();
    this.exited = new Promise((resolve) => {
      this.resolveExit = resolve;
    });
    if (durationMs > 0 && Number.isFinite(durationMs)) {
      this.timer = clock.setTimeout(() => this.end({ code: fails ? 1 : 0, signal: null }), durationMs);
    }
  }

  get hasExited(): boolean {
    return this.exit !== undefined;
  }

  kill(_gracePeriodMs: number): Promise<ContainerExit> {
    this.end({ code: null, signal: 'SIGTERM' });
    return this.exited;
  }

  detach(): void {
    this.timer?.dispose();
  }

  async usage(): Promise<ContainerUsage> {
    const secs = Math.max(0, (this.clock.now() - this.startedMs) / 1000);
    return {
      timestamp: this.clock.now() / 1000,
      cpus_user_time_secs: secs * 0.01,
      cpus_system_time_secs: 0,
      mem_rss_bytes: 0,
      processes: this.hasExited ? 0 : 1,
      threads: this.hasExited ? 0 : 1,
    };
  }

  private end(exit: ContainerExit): void {
    if (this.exit !== undefined) return;
    this.exit = exit;
    this.timer?.dispose();
    this.resolveExit(exit);
  }
}

export class SimulatedContainerizer implements Containerizer {
  private readonly clock: Clock;
  private readonly random: () => number;
  /** Tasks launched so far. */
  launched = 0;

  constructor(private readonly lifecycle: SimulatedLifecycle = {}) {
    this.clock = lifecycle.clock ?? systemClock;
    this.random = lifecycle.random ?? Math.random;
    const rate = lifecycle.failureRate ?? 0;
    if (!(rate >= 0 && rate <= 1)) {
      throw new AgoraError('AGORA_ERR_BAD_FLAG', `--simulate_failure_rate ${rate} is invalid: expected 0 to 1`);
    }
    const d = lifecycle.taskDurationMs ?? 0;
    if (!(d >= 0)) {
      throw new AgoraError('AGORA_ERR_BAD_FLAG', `--simulate_task_duration ${d} is invalid: expected >= 0`);
    }
  }

  async launch(spec: LaunchSpec): Promise<Container> {
    try {
      mkdirSync(spec.sandbox, { recursive: true });
      writeFileSync(join(spec.sandbox, 'stdout'), `simulated task (container ${spec.containerId})\n`);
      writeFileSync(join(spec.sandbox, 'stderr'), '');
    } catch (err) {
      throw new AgoraError('AGORA_ERR_LAUNCH_FAILED', `cannot write the sandbox: ${(err as Error).message}`, {
        cause: err,
      });
    }
    this.launched++;
    const fails = this.random() < (this.lifecycle.failureRate ?? 0);
    return new SimulatedContainer(spec.containerId, this.clock, this.lifecycle.taskDurationMs ?? 0, fails);
  }
}
