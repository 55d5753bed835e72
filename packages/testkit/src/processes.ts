/**
 * Child processes owned by the test kit: each is killed by `stop()` and, as a
 * last resort, when this process exits (normally, by an uncaught error, or on
 * SIGINT/SIGTERM/SIGHUP), so no server outlives the test that started it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';

const exitHooks = new Set<() => void>();
let installed = false;

/** Run `fn` (synchronously) when the process exits or is told to stop by a signal. Returns an unregister function. */
export function onProcessExit(fn: () => void): () => void {
  installHooks();
  exitHooks.add(fn);
  return () => exitHooks.delete(fn);
}

function runExitHooks(): void {
  for (const fn of [...exitHooks]) {
    exitHooks.delete(fn);
    try {
      fn();
    } catch {
      // Best effort while exiting.
    }
  }
}

function installHooks(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runExitHooks);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      runExitHooks();
      process.removeListener(signal, onSignal);
      // Keep the default behaviour (die by the signal) unless someone else handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/**
 * Whether a process with this pid exists and is not a zombie (exited but not
 * yet reaped by its parent).
 */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S ..." — the state letter follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true; // no /proc (not Linux): kill(0) said it exists
  }
}

export interface ServerProcessOptions {
  command: string;
  args: string[];
  cwd: string;
  /** stdout and stderr are appended to this file. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
}

/** A long-running child process with a bounded, idempotent stop. */
export class ServerProcess {
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal name) when the process has exited. */
  readonly exited: Promise<number | string>;
  private exitedFlag = false;
  private readonly unhook: () => void;

  constructor(options: ServerProcessOptions) {
    const fd = openSync(options.logFile, 'a');
    try {
      this.child = spawn(options.command, options.args, {
        cwd: options.cwd,
        env: options.env ?? process.env,
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    const child = this.child;
    this.unhook = onProcessExit(() => {
      if (!this.exitedFlag) child.kill('SIGKILL');
    });
    this.exited = new Promise((resolve) => {
      child.once('error', (err) => {
        this.exitedFlag = true;
        this.unhook();
        resolve(`spawn error: ${err.message}`);
      });
      child.once('exit', (code, signal) => {
        this.exitedFlag = true;
        this.unhook();
        resolve(code ?? signal ?? 'unknown');
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get hasExited(): boolean {
    return this.exitedFlag;
  }

  /** Send `signal` (default SIGTERM), then SIGKILL if still running after `graceMs`; resolves once exited. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<void> {
    if (this.exitedFlag) return;
    this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        resolve();
      }, graceMs);
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    await this.exited;
  }

  /** Stop the process without letting it exit (SIGSTOP); `resume()` continues it. */
  pause(): void {
    if (!this.exitedFlag) this.child.kill('SIGSTOP');
  }

  resume(): void {
    if (!this.exitedFlag) this.child.kill('SIGCONT');
  }
}

/**
 * SIGKILL every process whose working directory or command line lies under
 * `dir` — the task processes (and their supervisors) of an agent whose work
 * dir is `dir`. Tasks outlive a killed agent by design; tests that kill agents
 * call this so nothing they started keeps running. Returns how many it killed.
 */
export function killProcessesUnder(dir: string): number {
  const root = dir.replace(/\/+$/, '');
  // `dir` itself or below it: never a sibling whose name merely starts the same (`<dir>0`, `<dir>-b`).
  const under = (path: string) => path === root || path.startsWith(`${root}/`);
  const named = new RegExp(`${root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w.-])`);
  let killed = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (under(cwd) || named.test(cmdline)) {
        process.kill(Number(entry), 'SIGKILL');
        killed++;
      }
    } catch {
      // gone already, or not ours to read
    }
  }
  return killed;
}
