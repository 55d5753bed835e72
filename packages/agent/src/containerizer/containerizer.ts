/**
 * A containerizer starts a task's command in its sandbox and supervises it.
 * `process.ts` runs it as a plain process in its own process group; isolation
 * (cgroups, pid namespace) and a simulated containerizer come later.
 */
import type { agora } from '@agora/proto';

export interface LaunchSpec {
  /** Unique per run (a UUID). */
  containerId: string;
  /** The sandbox directory; created if missing. The command runs there, writing `stdout` and `stderr`. */
  sandbox: string;
  command: agora.v1.CommandInfo.$Properties;
  /** The complete environment (nothing else is inherited). */
  env: Record<string, string>;
}

/** How a container's main process ended: an exit code, or the signal that killed it. */
export interface ContainerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
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
}

export interface Containerizer {
  /** Start the command; rejects with AGORA_ERR_LAUNCH_FAILED when it cannot be started. */
  launch(spec: LaunchSpec): Promise<Container>;
}

/** `Command exited with status N` / `Command terminated with signal SIGX` (the command executor's messages). */
export function describeExit(exit: ContainerExit): string {
  if (exit.signal !== null) return `Command terminated with signal ${exit.signal}`;
  return `Command exited with status ${exit.code ?? 'unknown'}`;
}
