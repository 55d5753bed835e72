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
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { AgoraError, type Logger, silentLogger } from '@agora/common';
import type { agora } from '@agora/proto';
import {
  type ContainerCgroups,
  containerCgroupsOf,
  containerPids,
  createContainerCgroups,
  destroyContainerCgroups,
  memoryLimitBytes,
  procsFiles,
} from '../isolation/cgroups.js';
import type { IsolationPlan } from '../isolation/isolation.js';
import { processStartTime } from '../monitor/proc.js';
import type { Container, Containerizer, LaunchSpec } from './containerizer.js';
import { IsolatedContainer } from './isolated-container.js';
import type { IsolatedContainerCheckpoint, IsolatingContainerizerOptions } from './isolating-options.js';
import { destroyOrphanContainers } from './orphans.js';
import { programFor, whenSpawned } from './process.js';
import { supervisorScript } from './supervisor.js';
import { createMountPoints, linkVolumes, mountCommands } from './volume-mounts.js';

// The options, the checkpoint and their defaults.
export * from './isolating-options.js';
export { diskUsageBytes, exitFromStatus, shellQuote, supervisorScript } from './supervisor.js';

/** How long a new supervisor may take to join its cgroups. */
const JOIN_TIMEOUT_MS = 10_000;

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
    await whenSpawned(child, (cause) => launchFailed(program.file, cause)).catch(async (e: unknown) => {
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
    const cg = containerCgroupsOf(host, containerId);
    if (!Object.values(cg.paths).some((p) => existsSync(p))) return;
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

function launchFailed(file: string, cause: unknown): AgoraError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new AgoraError('AGORA_ERR_LAUNCH_FAILED', `cannot start ${file}: ${reason}`, { cause, data: { file } });
}
