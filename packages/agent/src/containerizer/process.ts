/**
 * Runs a task's command as a real process: `/bin/sh -c <value>` for a shell
 * command, or `<value>` with `arguments` as its argv otherwise. The process
 * gets its own process group (`detached`), runs in the sandbox, and writes
 * `stdout` and `stderr` files there. Kill sends SIGTERM to the whole group,
 * then SIGKILL after the grace period; when the main process ends, whatever
 * is left of its group is killed too (Mesos destroys the container then).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { AgoraError, type Clock, type Disposable, type Logger, silentLogger, systemClock } from '@agora/common';
import type { agora } from '@agora/proto';
import type { Container, ContainerExit, Containerizer, LaunchSpec } from './containerizer.js';
import { linkVolumes } from './volume-mounts.js';

export interface ProcessContainerizerOptions {
  /** @default systemClock */
  clock?: Clock;
  logger?: Logger;
}

interface Program {
  file: string;
  args: string[];
  argv0?: string;
}

/** What to exec for a CommandInfo; AGORA_ERR_LAUNCH_FAILED when there is nothing to run. */
export function programFor(command: agora.v1.CommandInfo.$Properties): Program {
  const value = command.value ?? '';
  if (command.shell ?? true) {
    if (value.trim() === '')
      throw new AgoraError('AGORA_ERR_LAUNCH_FAILED', 'the command is empty (CommandInfo.value)');
    return { file: '/bin/sh', args: ['-c', value] };
  }
  if (value === '') {
    throw new AgoraError('AGORA_ERR_LAUNCH_FAILED', 'CommandInfo.value must name the program when shell is false');
  }
  const argv = command.arguments ?? [];
  const argv0 = argv[0];
  return argv0 === undefined ? { file: value, args: [] } : { file: value, args: argv.slice(1), argv0 };
}

export class ProcessContainerizer implements Containerizer {
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(options: ProcessContainerizerOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger();
  }

  async launch(spec: LaunchSpec): Promise<Container> {
    const program = programFor(spec.command);
    let out: number | undefined;
    let err: number | undefined;
    let child: ChildProcess;
    try {
      mkdirSync(spec.sandbox, { recursive: true });
      linkVolumes(spec.sandbox, spec.volumes ?? []); // no mount namespace: symlinks, RO not enforced
      out = openSync(join(spec.sandbox, 'stdout'), 'a');
      err = openSync(join(spec.sandbox, 'stderr'), 'a');
      child = spawn(program.file, program.args, {
        cwd: spec.sandbox,
        env: spec.env,
        detached: true,
        stdio: ['ignore', out, err],
        ...(program.argv0 === undefined ? {} : { argv0: program.argv0 }),
      });
    } catch (cause) {
      throw launchFailed(program, cause);
    } finally {
      // The child has its own copies of the descriptors now.
      if (out !== undefined) closeSync(out);
      if (err !== undefined) closeSync(err);
    }
    await whenSpawned(child, (cause) => launchFailed(program, cause));
    const container = new ProcessContainer(spec.containerId, child, this.clock, this.logger);
    this.logger.debug({ containerId: spec.containerId, pid: container.pid, sandbox: spec.sandbox }, 'launched');
    return container;
  }
}

/** Settles once `child` has spawned; rejects with `fail(cause)` if it could not. */
export function whenSpawned(child: ChildProcess, fail: (cause: Error) => Error): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onSpawn = () => {
      child.off('error', onError);
      resolve();
    };
    const onError = (cause: Error) => {
      child.off('spawn', onSpawn);
      reject(fail(cause));
    };
    child.once('spawn', onSpawn);
    child.once('error', onError);
  });
}

function launchFailed(program: Program, cause: unknown): AgoraError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new AgoraError('AGORA_ERR_LAUNCH_FAILED', `cannot start ${program.file}: ${reason}`, {
    cause,
    data: { file: program.file },
  });
}

class ProcessContainer implements Container {
  readonly pid: number;
  readonly exited: Promise<ContainerExit>;
  private exit: ContainerExit | undefined;
  private killing = false;
  private killTimer: Disposable | undefined;

  constructor(
    readonly containerId: string,
    private readonly child: ChildProcess,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    if (child.pid === undefined) throw new AgoraError('AGORA_ERR_LAUNCH_FAILED', 'the process has no pid');
    this.pid = child.pid;
    child.on('error', (cause) => this.logger.warn({ err: cause, pid: this.pid }, 'process error'));
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        this.killTimer?.dispose();
        this.killTimer = undefined;
        // Leftovers of the group (background children) go with the main process.
        this.signalGroup('SIGKILL');
        resolve(this.exit);
      });
    });
  }

  get hasExited(): boolean {
    return this.exit !== undefined;
  }

  kill(gracePeriodMs: number): Promise<ContainerExit> {
    if (this.exit === undefined && !this.killing) {
      this.killing = true;
      if (gracePeriodMs <= 0) {
        this.signalGroup('SIGKILL');
      } else {
        this.signalGroup('SIGTERM');
        this.killTimer = this.clock.setTimeout(() => {
          this.killTimer = undefined;
          this.logger.info({ pid: this.pid, gracePeriodMs }, 'grace period over; sending SIGKILL');
          this.signalGroup('SIGKILL');
        }, gracePeriodMs);
      }
    }
    return this.exited;
  }

  detach(): void {
    this.killTimer?.dispose();
    this.killTimer = undefined;
    this.child.unref();
  }

  private signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') {
        this.logger.warn({ err, pid: this.pid, signal }, 'cannot signal the process group');
      }
    }
  }
}
