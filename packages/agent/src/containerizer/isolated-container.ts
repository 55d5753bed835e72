/**
 * A container of the isolating containerizer (see `isolating.ts`): waits for
 * its supervisor's exit (as the agent's child, or by polling after a
 * recovery), kills it (SIGTERM, then SIGKILL after the grace period), watches
 * its memory (OOM) and disk limits, reports its usage and lets commands enter
 * it (`enter`) or volumes be added to it (`addVolumes`).
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { AgoraError, type Clock, type Disposable, type Logger, systemClock } from '@agora/common';
import {
  cgroupStats,
  containerPids,
  destroyContainerCgroups,
  killContainerCgroups,
  oomKills,
  procsFiles,
  signalPids,
} from '../isolation/cgroups.js';
import { isProcessAlive, namespaceInitBelow, processGroupUsage } from '../monitor/proc.js';
import type { Container, ContainerExit, ContainerLimitation, ContainerUsage } from './containerizer.js';
import {
  DEFAULT_DISK_WATCH_INTERVAL_MS,
  DEFAULT_LIMIT_WATCH_INTERVAL_MS,
  DEFAULT_RECOVER_POLL_MS,
  type IsolatedContainerCheckpoint,
  type IsolatingContainerizerOptions,
} from './isolating-options.js';
import { diskUsageBytes, exitFromStatus, joinCgroupsScript, readStatusFile, shellQuote } from './supervisor.js';
import { createMountPoints, linkVolumes, mountCommands, type VolumeMount } from './volume-mounts.js';

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // gone
  }
}

export class IsolatedContainer implements Container {
  readonly containerId: string;
  readonly pid: number;
  readonly exited: Promise<ContainerExit>;
  private exit: ContainerExit | undefined;
  private mainEnded = false;
  private killing = false;
  private killTimer: Disposable | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private limitation: ContainerLimitation | undefined;
  private diskUsed: number | undefined;
  private readonly clock: Clock;

  constructor(
    private readonly cp: IsolatedContainerCheckpoint,
    private readonly child: ChildProcess | undefined,
    private readonly options: IsolatingContainerizerOptions,
    private readonly logger: Logger,
  ) {
    this.containerId = cp.containerId;
    this.pid = cp.pid;
    this.clock = options.clock ?? systemClock;
    this.exited = new Promise<ContainerExit>((resolve) => {
      const finish = (main: ContainerExit) => {
        if (this.mainEnded) return;
        this.mainEnded = true;
        void this.finish(main).then(resolve);
      };
      if (child !== undefined) {
        child.on('error', (e) => this.logger.warn({ err: e, pid: this.pid }, 'supervisor error'));
        const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
          if (signal !== null) finish({ code: null, signal });
          else finish(exitFromStatus(code ?? 0));
        };
        // A command that ends at once may have exited while launch() waited for the cgroups:
        // its 'exit' event is gone, but Node keeps the status on the child.
        if (child.exitCode !== null || child.signalCode !== null) onExit(child.exitCode, child.signalCode);
        else child.once('exit', onExit);
      } else if (!isProcessAlive(cp.pid, cp.startTime)) {
        finish(this.recordedExit());
      } else {
        this.every(options.recoverPollMs ?? DEFAULT_RECOVER_POLL_MS, () => {
          if (!isProcessAlive(cp.pid, cp.startTime)) finish(this.recordedExit());
        });
      }
    });
    if (!this.mainEnded) this.watchLimits();
  }

  get hasExited(): boolean {
    return this.exit !== undefined;
  }

  checkpoint(): IsolatedContainerCheckpoint {
    return this.cp;
  }

  kill(gracePeriodMs: number): Promise<ContainerExit> {
    // Whoever kills waits for the exit: a detached (unref'd) supervisor must keep the process alive until it comes.
    this.child?.ref();
    if (this.exit === undefined && !this.killing) {
      this.killing = true;
      if (gracePeriodMs <= 0) {
        void this.hardKill();
      } else {
        this.signalAll('SIGTERM');
        this.killTimer = this.clock.setTimeout(() => {
          this.killTimer = undefined;
          this.logger.info({ pid: this.pid, gracePeriodMs }, 'grace period over; killing the container');
          void this.hardKill();
        }, gracePeriodMs);
      }
    }
    return this.exited;
  }

  detach(): void {
    this.stopTimers();
    this.child?.unref();
  }

  enter(file: string, args: readonly string[]): { file: string; args: string[] } | undefined {
    if (this.mainEnded || !isProcessAlive(this.pid, this.cp.startTime)) return undefined;
    const files = this.cp.cgroups === undefined ? [] : procsFiles(this.cp.cgroups);
    let run = 'exec "$@"';
    if (this.cp.pidNamespace) {
      const init = namespaceInitBelow(this.pid);
      if (init === undefined) return undefined;
      // nsenter forks after entering the pid namespace: the command runs as a process of the namespace.
      // Entering a mount namespace moves to its root: go back to the caller's working directory by path, inside
      // the namespace (a directory opened outside it, as `nsenter --wd` does, would not show the container's mounts).
      const cd = `/bin/sh -c 'cd "$0" && exec "$@"' "$(pwd)"`;
      const mount = this.cp.mountNamespace === true ? ` --mount -- ${cd}` : ' --';
      run = `exec ${shellQuote(this.options.nsenter ?? 'nsenter')} --target ${init} --pid${mount} "$@"`;
    }
    return { file: '/bin/sh', args: ['-c', `${joinCgroupsScript(files)}${run}`, 'agora-enter', file, ...args] };
  }

  addVolumes(volumes: readonly VolumeMount[]): void {
    if (volumes.length === 0) return;
    if (this.cp.mountNamespace !== true) {
      linkVolumes(this.cp.sandbox, volumes);
      return;
    }
    const init = this.mainEnded ? undefined : namespaceInitBelow(this.pid);
    if (init === undefined) throw new AgoraError('AGORA_ERR_LAUNCH_FAILED', 'the container has ended');
    createMountPoints(this.cp.sandbox, volumes);
    const script = mountCommands(this.cp.sandbox, volumes);
    const nsenter = this.options.nsenter ?? 'nsenter';
    const r = spawnSync(nsenter, ['--target', String(init), '--mount', '--', '/bin/sh', '-c', script], {
      stdio: 'pipe',
      timeout: 10_000,
    });
    if (r.error !== undefined || r.status !== 0) {
      const why = r.error?.message ?? r.stderr.toString().trim();
      throw new AgoraError('AGORA_ERR_LAUNCH_FAILED', `cannot mount the volumes in the container: ${why}`);
    }
    this.logger.info(
      { containerId: this.containerId, volumes: volumes.map((v) => v.containerPath) },
      'volumes mounted',
    );
  }

  async usage(): Promise<ContainerUsage> {
    const { limits, cgroups } = this.cp;
    const usage: ContainerUsage = {
      timestamp: this.clock.now() / 1000,
      cpus_user_time_secs: 0,
      cpus_system_time_secs: 0,
      mem_rss_bytes: 0,
      processes: 0,
      threads: 0,
    };
    if (cgroups !== undefined) {
      const s = cgroupStats(cgroups);
      Object.assign(usage, {
        cpus_user_time_secs: s.cpusUserTimeSecs,
        cpus_system_time_secs: s.cpusSystemTimeSecs,
        mem_rss_bytes: s.memRssBytes,
        mem_total_bytes: s.memTotalBytes,
        processes: s.processes,
        threads: s.threads,
      });
      if (s.memLimitBytes !== undefined) usage.mem_limit_bytes = s.memLimitBytes;
      if (s.cfsQuotaUs !== undefined && s.cfsPeriodUs !== undefined) {
        usage.cpus_quota_secs = s.cfsQuotaUs / 1e6;
        usage.cpus_period_secs = s.cfsPeriodUs / 1e6;
      }
    } else if (!this.mainEnded) {
      const u = processGroupUsage(this.pid);
      Object.assign(usage, {
        cpus_user_time_secs: u.cpusUserTimeSecs,
        cpus_system_time_secs: u.cpusSystemTimeSecs,
        mem_rss_bytes: u.memRssBytes,
        processes: u.processes,
        threads: u.threads,
      });
    }
    if (limits.cpus !== undefined) usage.cpus_limit = limits.cpus;
    if (usage.mem_limit_bytes === undefined && limits.memBytes !== undefined) usage.mem_limit_bytes = limits.memBytes;
    if (limits.diskBytes !== undefined) usage.disk_limit_bytes = limits.diskBytes;
    if (this.diskUsed !== undefined) usage.disk_used_bytes = this.diskUsed;
    return usage;
  }

  private recordedExit(): ContainerExit {
    const rc = readStatusFile(this.cp.statusFile);
    if (rc !== undefined) return exitFromStatus(rc);
    return { code: null, signal: null, unknown: true };
  }

  private every(ms: number, fn: () => void): void {
    // Held open on purpose (like the child process itself) until the container ends or is detached.
    this.timers.push(setInterval(fn, ms));
  }

  private stopTimers(): void {
    for (const t of this.timers.splice(0)) clearInterval(t);
    this.killTimer?.dispose();
    this.killTimer = undefined;
  }

  private watchLimits(): void {
    const { cgroups, limits } = this.cp;
    if (cgroups !== undefined && limits.memBytes !== undefined) {
      this.every(this.options.limitWatchIntervalMs ?? DEFAULT_LIMIT_WATCH_INTERVAL_MS, () => {
        if (this.limitation === undefined && !this.mainEnded && oomKills(cgroups) > 0) this.memoryLimited();
      });
    }
    if (this.options.plan.disk) {
      let busy = false;
      this.every(this.options.diskWatchIntervalMs ?? DEFAULT_DISK_WATCH_INTERVAL_MS, () => {
        if (busy || this.mainEnded) return;
        busy = true;
        diskUsageBytes(this.cp.sandbox)
          .then((used) => {
            this.diskUsed = used;
            const limit = limits.diskBytes;
            if (
              this.options.enforceDiskQuota === true &&
              limit !== undefined &&
              used > limit &&
              this.limitation === undefined &&
              !this.mainEnded
            ) {
              this.limitation = {
                kind: 'disk',
                message: `Disk usage (${used} bytes) exceeds quota (${limit} bytes)`,
              };
              this.logger.warn({ containerId: this.containerId, used, limit }, 'disk quota exceeded; killing');
              void this.hardKill();
            }
          })
          .catch((e: unknown) => this.logger.debug({ err: e }, 'du failed'))
          .finally(() => {
            busy = false;
          });
      });
    }
  }

  private memoryLimited(): void {
    const limit = this.cp.limits.memBytes ?? 0;
    this.limitation = {
      kind: 'memory',
      message: `Memory limit exceeded: the container was OOM-killed (limit ${limit} bytes)`,
    };
    this.logger.warn({ containerId: this.containerId, limit }, 'memory limit exceeded; killing the container');
    void this.hardKill();
  }

  private signalAll(signal: NodeJS.Signals): void {
    if (this.cp.cgroups !== undefined) signalPids(containerPids(this.cp.cgroups), signal);
    else this.signalGroup(signal);
  }

  /**
   * Signal the supervisor's process group. A pid is never reused while a group
   * still has that id, so the group is ours if the supervisor (checked by start
   * time) is alive or some process still belongs to the group.
   */
  private signalGroup(signal: NodeJS.Signals): void {
    const ours =
      (this.child !== undefined && !this.mainEnded) ||
      isProcessAlive(this.pid, this.cp.startTime) ||
      processGroupUsage(this.pid).processes > 0;
    if (ours) signalGroup(this.pid, signal);
  }

  private async hardKill(): Promise<void> {
    this.killTimer?.dispose();
    this.killTimer = undefined;
    if (this.cp.cgroups !== undefined) {
      // The supervisor's process group too: whatever has not joined the cgroups (yet) goes as well.
      this.signalGroup('SIGKILL');
      await killContainerCgroups(this.cp.cgroups);
    } else {
      this.signalAll('SIGKILL');
    }
  }

  /** The supervisor has exited: kill what is left, remove the cgroups, settle the exit. */
  private async finish(main: ContainerExit): Promise<ContainerExit> {
    this.stopTimers();
    const { cgroups } = this.cp;
    if (cgroups !== undefined) {
      if (this.limitation === undefined && this.cp.limits.memBytes !== undefined && oomKills(cgroups) > 0) {
        this.memoryLimited();
      }
      await destroyContainerCgroups(cgroups).catch((e: unknown) =>
        this.logger.warn({ err: e, containerId: this.containerId }, 'cannot remove the container cgroups'),
      );
    } else {
      this.signalAll('SIGKILL');
    }
    this.exit = this.limitation === undefined ? main : { ...main, limitation: this.limitation };
    return this.exit;
  }
}
