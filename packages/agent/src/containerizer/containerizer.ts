/**
 * A containerizer starts a task's command in its sandbox and supervises it:
 * launch, wait (`exited`), kill, usage, recover. `isolating.ts` runs it with
 * the isolators of `--isolation` (cgroups, pid namespace, disk) or the posix
 * fallback, behind a tiny shell supervisor that records the exit status, so
 * a restarted agent can re-attach (`recover`); `process.ts` is the plain
 * process-group containerizer (no recovery). A Docker containerizer would
 * implement the same interface.
 */
import type { agora } from '@agora/proto';
import type { VolumeMount } from './volume-mounts.js';

export type { VolumeMount } from './volume-mounts.js';

export interface LaunchSpec {
  /** Unique per run (a UUID). */
  containerId: string;
  /** The sandbox directory; created if missing. The command runs there, writing `stdout` and `stderr`. */
  sandbox: string;
  command: agora.v1.CommandInfo.$Properties;
  /** The complete environment (nothing else is inherited). */
  env: Record<string, string>;
  /** The task's resources: cpus, mem and disk become the container's limits. */
  resources?: readonly agora.v1.Resource.$Properties[] | null | undefined;
  /**
   * Host directories (persistent volumes) to appear at `<sandbox>/<containerPath>`: bind-mounted in the
   * container's own mount namespace (read-only for `readOnly`) where it has one, else symlinked.
   */
  volumes?: readonly VolumeMount[] | undefined;
}

/** A limit the container hit (the containerizer killed it for that). */
export interface ContainerLimitation {
  kind: 'memory' | 'disk';
  message: string;
}

/** How a container's main process ended: an exit code, or the signal that killed it. */
export interface ContainerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the container was killed for exceeding a limit. */
  limitation?: ContainerLimitation | undefined;
  /** The exit status could not be known (the container ended while the agent was down and left no record). */
  unknown?: boolean | undefined;
}

/** Mesos' ResourceStatistics (the `statistics` object of `/monitor/statistics`). */
export interface ContainerUsage {
  timestamp: number;
  cpus_user_time_secs: number;
  cpus_system_time_secs: number;
  cpus_limit?: number;
  cpus_quota_secs?: number;
  cpus_period_secs?: number;
  mem_rss_bytes: number;
  mem_total_bytes?: number;
  mem_limit_bytes?: number;
  disk_used_bytes?: number;
  disk_limit_bytes?: number;
  processes: number;
  threads: number;
}

export interface Container {
  readonly containerId: string;
  /** The main process id; also the process group id. */
  readonly pid: number;
  /** Resolves once the main process has exited and the rest of its process group has been killed. */
  readonly exited: Promise<ContainerExit>;
  readonly hasExited: boolean;
  /**
   * SIGTERM to the whole process group, then SIGKILL to the group after `gracePeriodMs`
   * (at once when 0). Resolves when the main process has exited.
   */
  kill(gracePeriodMs: number): Promise<ContainerExit>;
  /** Stop supervising: the process keeps running and no longer holds this process open. */
  detach(): void;
  /** Current resource usage. */
  usage?(): Promise<ContainerUsage>;
  /** What a restarted agent needs to re-attach (checkpointed). */
  checkpoint?(): unknown;
  /**
   * How to run a helper command (a COMMAND check) inside this container, so it
   * sees what the task sees and its cost is charged to the task: the program to
   * spawn instead of `file args` (it joins the container's cgroups and pid
   * namespace, then runs `file args`). Undefined once the container has ended.
   */
  enter?(file: string, args: readonly string[]): { file: string; args: string[] } | undefined;
  /**
   * Put more volumes into the running container (a custom executor's new task), as `LaunchSpec.volumes` does at
   * launch: bind mounts in its mount namespace, or symlinks. Throws (AgoraError) when it cannot.
   */
  addVolumes?(volumes: readonly VolumeMount[]): void;
}

export interface Containerizer {
  /** Start the command; rejects with AGORA_ERR_LAUNCH_FAILED when it cannot be started. */
  launch(spec: LaunchSpec): Promise<Container>;
  /**
   * Re-attach to a container from a checkpoint (`Container.checkpoint()`), after an
   * agent restart. The container may have ended meanwhile: `exited` then resolves
   * with the status it recorded. Throws when the checkpoint is not one of its own.
   */
  recover?(checkpoint: unknown): Container;
  /**
   * Kill and remove what may be left of a container known only by id (launched but
   * not yet checkpointed when the agent died). Resolves whether or not anything was there.
   */
  destroy?(containerId: string): Promise<void>;
  /**
   * At recovery: destroy every container of this agent that no readable checkpoint
   * names (`known`); resolves with the ids of those that were still there.
   */
  destroyOrphans?(known: ReadonlySet<string>): Promise<string[]>;
}

/** `Command exited with status N` / `Command terminated with signal SIGX` (the command executor's messages). */
export function describeExit(exit: ContainerExit): string {
  if (exit.limitation !== undefined) return exit.limitation.message;
  if (exit.unknown === true) return 'The container ended while the agent was down; its exit status is unknown';
  if (exit.signal !== null) return `Command terminated with signal ${exit.signal}`;
  return `Command exited with status ${exit.code ?? 'unknown'}`;
}
