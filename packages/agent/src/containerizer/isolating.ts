/**
 * The isolating containerizer (Mesos' "mesos" containerizer): runs a task's
 * command with the isolators of the plan (cgroups cpu/mem, pid namespace,
 * disk/du) or the posix fallback, behind a tiny shell supervisor:
 *
 * ```
 * agent ─spawn(detached)─▶ sh supervisor ── joins the container's cgroups, records the exit status
 *                            └─▶ unshare --pid --mount --fork --kill-child ─▶ sh init (pid 1; mounts the volumes,
 *                                                                               forwards SIGTERM to the namespace)
 *                                                                   └─▶ the task's command
 * ```
 *
 * With the pid namespace the container also gets a private mount namespace,
 * where its volumes are bind-mounted into the sandbox (read-only for RO;
 * `volume-mounts.ts`); they vanish with the container. Without it (posix),
 * volumes are symlinks and RO is not enforced.
 *
 * The supervisor is detached (its own session), so `kill -9` of the agent
 * leaves the container running; it writes the command's exit status to
 * `<runtimeDir>/<container>/exit_status` (write + rename), so a restarted
 * agent learns how a container ended while it was down. Killing a container:
 * SIGTERM to every process of it (the cgroup, or the process group in the
 * posix fallback), SIGKILL to all of it after the grace period (cgroup.kill
 * on v2, freeze + SIGKILL + thaw on v1). When the task's init exits, the
 * kernel kills whatever is left in its pid namespace, and the agent kills
 * anything left in its cgroups before removing them. Without a pid namespace
 * or cgroups (posix), a process that leaves the process group (setsid)
 * escapes: that is the documented limit of the fallback.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { AgoraError, type Clock, type Disposable, type Logger, silentLogger, systemClock } from '@agora/common';
import type { agora } from '@agora/proto';
import {
  type ContainerCgroups,
  cgroupStats,
  createContainerCgroups,
  destroyContainerCgroups,
  killContainerCgroups,
  memoryLimitBytes,
  oomKills,
  procsFiles,
  containerPids,
  signalPids,
} from '../isolation/cgroups.js';
import type { IsolationPlan } from '../isolation/isolation.js';
import { isProcessAlive, namespaceInitBelow, processGroupUsage, processStartTime } from '../monitor/proc.js';
import type {
  Container,
  ContainerExit,
  ContainerLimitation,
  Containerizer,
  ContainerUsage,
  LaunchSpec,
} from './containerizer.js';
import { destroyOrphanContainers } from './orphans.js';
import { programFor } from './process.js';
import { diskUsageBytes, exitFromStatus, readStatusFile, shellQuote, supervisorScript } from './supervisor.js';
import { createMountPoints, linkVolumes, mountCommands, type VolumeMount } from './volume-mounts.js';

export { diskUsageBytes, exitFromStatus, shellQuote, supervisorScript } from './supervisor.js';

/** How long a new supervisor may take to join its cgroups. */
const JOIN_TIMEOUT_MS = 10_000;
/** Mesos' `--container_disk_watch_interval`. */
export const DEFAULT_DISK_WATCH_INTERVAL_MS = 15_000;
/** How often memory (OOM) limitations are checked. */
export const DEFAULT_LIMIT_WATCH_INTERVAL_MS = 500;
/** How often a recovered container (no longer the agent's child) is checked for exit. */
export const DEFAULT_RECOVER_POLL_MS = 250;

export interface IsolatingContainerizerOptions {
  plan: IsolationPlan;
  /** Per-container runtime files (the exit status) go under `<runtimeDir>/<container>/`. */
  runtimeDir: string;
  /** Hard cap at `cpus` with the CFS quota. @default false */
  cgroupsEnableCfs?: boolean;
  /** Kill a container whose sandbox grows past its `disk`. @default false */
  enforceDiskQuota?: boolean;
  /** @default DEFAULT_DISK_WATCH_INTERVAL_MS */
  diskWatchIntervalMs?: number;
  /** @default DEFAULT_LIMIT_WATCH_INTERVAL_MS */
  limitWatchIntervalMs?: number;
  /** @default DEFAULT_RECOVER_POLL_MS */
  recoverPollMs?: number;
  /** @default 'unshare' */
  unshare?: string;
  /** @default 'nsenter' */
  nsenter?: string;
  /** The agent's sandboxes root (`<work_dir>/agents/`), to tell its orphan containers from other agents'. */
  sandboxRoot?: string;
  clock?: Clock;
  logger?: Logger;
}

/** What the agent checkpoints about a container. */
export interface IsolatedContainerCheckpoint {
  kind: 'agora-isolating/1';
  containerId: string;
  /** The supervisor's pid, also the process group id. */
  pid: number;
  /** The supervisor's start time (clock ticks since boot): tells it from a reused pid. */
  startTime: number | undefined;
  sandbox: string;
  statusFile: string;
  cgroups: ContainerCgroups | undefined;
  pidNamespace: boolean;
  /** The container has its own mount namespace (with the pid namespace), where its volumes are mounted. */
  mountNamespace?: boolean | undefined;
  limits: { cpus?: number | undefined; memBytes?: number | undefined; diskBytes?: number | undefined };
}

function scalar(
  resources: readonly agora.v1.Resource.$Properties[] | null | undefined,
  name: string,
): number | undefined {
  let total: number | undefined;
  for (const r of resources ?? []) {
    if (r.name === name && r.scalar?.value !== undefined && r.scalar.value !== null) {
      total = (total ?? 0) + r.scalar.value;
    }
  }
  return total;
}

export class IsolatingContainerizer implements Containerizer {
  private readonly logger: Logger;

  constructor(private readonly options: IsolatingContainerizerOptions) {
    this.logger = options.logger ?? silentLogger();
  }

  get plan(): IsolationPlan {
    return this.options.plan;
  }

  async launch(spec: LaunchSpec): Promise<Container> {
    const { plan } = this.options;
    const program = programFor(spec.command);
    const cpus = scalar(spec.resources, 'cpus');
    const mem = scalar(spec.resources, 'mem');
    const disk = scalar(spec.resources, 'disk');
    const limits = {
      cpus: plan.cpu ? cpus : undefined,
      memBytes: plan.mem && mem !== undefined ? memoryLimitBytes(mem) : undefined,
      diskBytes: disk === undefined ? undefined : Math.floor(disk * 1024 * 1024),
    };
    const runtime = join(this.options.runtimeDir, spec.containerId);
    const statusFile = join(runtime, 'exit_status');
    let cgroups: ContainerCgroups | undefined;
    let out: number | undefined;
    let err: number | undefined;
    let child: ChildProcess;
    try {
      mkdirSync(spec.sandbox, { recursive: true });
      mkdirSync(runtime, { recursive: true });
      const volumes = spec.volumes ?? [];
      // filesystem/linux: bind mounts in the container's mount namespace; filesystem/posix: symlinks.
      if (plan.pidNamespace) createMountPoints(spec.sandbox, volumes);
      else linkVolumes(spec.sandbox, volumes);
      if (plan.cgroups !== undefined) {
        cgroups = createContainerCgroups(plan.cgroups, spec.containerId, {
          cpus: limits.cpus,
          memBytes: limits.memBytes,
          cfs: plan.cpu && (this.options.cgroupsEnableCfs ?? false),
        });
      }
      const script = supervisorScript({
        procsFiles: cgroups === undefined ? [] : procsFiles(cgroups),
        pidNamespace: plan.pidNamespace,
        unshare: this.options.unshare ?? 'unshare',
        statusFile,
        mounts: mountCommands(spec.sandbox, volumes),
      });
      out = openSync(join(spec.sandbox, 'stdout'), 'a');
      err = openSync(join(spec.sandbox, 'stderr'), 'a');
      child = spawn('/bin/sh', ['-c', script, 'agora-supervisor', program.file, ...program.args], {
        cwd: spec.sandbox,
        env: spec.env,
        detached: true,
        stdio: ['ignore', out, err],
      });
    } catch (cause) {
      if (cgroups !== undefined) await destroyContainerCgroups(cgroups).catch(() => undefined);
      throw launchFailed(program.file, cause);
    } finally {
      if (out !== undefined) closeSync(out);
      if (err !== undefined) closeSync(err);
    }
    await new Promise<void>((resolve, reject) => {
      const onSpawn = () => {
        child.off('error', onError);
        resolve();
      };
      const onError = (cause: Error) => {
        child.off('spawn', onSpawn);
        reject(launchFailed(program.file, cause));
      };
      child.once('spawn', onSpawn);
      child.once('error', onError);
    }).catch(async (e: unknown) => {
      if (cgroups !== undefined) await destroyContainerCgroups(cgroups).catch(() => undefined);
      throw e;
    });
    const pid = child.pid as number;
    if (cgroups !== undefined) await this.joined(cgroups, pid, child, program.file);
    const checkpoint: IsolatedContainerCheckpoint = {
      kind: 'agora-isolating/1',
      containerId: spec.containerId,
      pid,
      startTime: processStartTime(pid),
      sandbox: spec.sandbox,
      statusFile,
      cgroups,
      pidNamespace: plan.pidNamespace,
      mountNamespace: plan.pidNamespace,
      limits,
    };
    this.logger.debug({ containerId: spec.containerId, pid, isolation: plan.mode, limits }, 'container launched');
    return new IsolatedContainer(checkpoint, child, this.options, this.logger);
  }

  /** Wait (bounded) until the supervisor is in the container's cgroups, so a kill right after launch finds it. */
  private async joined(cgroups: ContainerCgroups, pid: number, child: ChildProcess, file: string): Promise<void> {
    const deadline = Date.now() + JOIN_TIMEOUT_MS;
    while (!containerPids(cgroups).includes(pid)) {
      if (child.exitCode !== null || child.signalCode !== null) return; // it ended already (e.g. could not join)
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        await destroyContainerCgroups(cgroups).catch(() => undefined);
        throw launchFailed(file, new Error(`the supervisor did not join its cgroups within ${JOIN_TIMEOUT_MS} ms`));
      }
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  async destroy(containerId: string): Promise<void> {
    const host = this.options.plan.cgroups;
    if (host === undefined) return;
    const paths: Record<string, string> = {};
    for (const [c, base] of Object.entries(host.bases)) paths[c] = join(base, containerId);
    const cg: ContainerCgroups = { version: host.version, paths };
    if (!Object.values(paths).some((p) => existsSync(p))) return;
    this.logger.warn({ containerId }, 'destroying an orphan container');
    await destroyContainerCgroups(cg);
  }

  destroyOrphans(known: ReadonlySet<string>): Promise<string[]> {
    return destroyOrphanContainers({
      runtimeDir: this.options.runtimeDir,
      sandboxRoot: this.options.sandboxRoot,
      cgroups: this.options.plan.cgroups,
      known,
      logger: this.logger,
    });
  }

  recover(raw: unknown): Container {
    const cp = raw as IsolatedContainerCheckpoint;
    if (cp === null || typeof cp !== 'object' || cp.kind !== 'agora-isolating/1' || !Number.isInteger(cp.pid)) {
      throw new AgoraError('AGORA_ERR_BAD_REQUEST', 'not a checkpoint of the isolating containerizer', {
        data: { kind: (cp as { kind?: unknown } | null)?.kind },
      });
    }
    const container = new IsolatedContainer(cp, undefined, this.options, this.logger);
    this.logger.info({ containerId: cp.containerId, pid: cp.pid, alive: !container.hasExited }, 'container recovered');
    return container;
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // gone
  }
}

function launchFailed(file: string, cause: unknown): AgoraError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new AgoraError('AGORA_ERR_LAUNCH_FAILED', `cannot start ${file}: ${reason}`, { cause, data: { file } });
}

class IsolatedContainer implements Container {
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
    const joinCgroups =
      files.length === 0
        ? ''
        : `for f in ${files.map(shellQuote).join(' ')}; do echo $$ > "$f" || { echo "agora: cannot join cgroup $f" >&2; exit 125; }; done\n`;
    return { file: '/bin/sh', args: ['-c', `${joinCgroups}${run}`, 'agora-enter', file, ...args] };
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
