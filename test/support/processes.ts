/**
 * Helpers for end-to-end tests that run Agora daemons as real processes
 * (`packages/cli/src/main.ts` under tsx) and look at task processes in /proc.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@agora/testkit';

const MAIN = fileURLToPath(new URL('../../packages/cli/src/main.ts', import.meta.url));

export interface Daemon {
  readonly name: string;
  readonly child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves once a line matching `re` was printed (bounded). */
  waitForOutput(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  kill(signal?: NodeJS.Signals): void;
  /** Resolves when the process has exited. */
  exited(): Promise<number | null>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export function startDaemon(name: string, args: string[], env: NodeJS.ProcessEnv = {}): Daemon {
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', MAIN, ...args], {
    env: { ...process.env, AGORA_LOG_LEVEL: process.env['AGORA_E2E_LOG_LEVEL'] ?? 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      running.delete(child);
      for (const l of listeners) l();
      resolve(code);
    }),
  );
  return {
    name,
    child,
    output: () => out,
    waitForOutput(re, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(re);
          if (m) {
            done();
            resolve(m);
          } else if (child.exitCode !== null) {
            done();
            reject(new Error(`${name} exited (${child.exitCode}) before printing ${re}:\n${out}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${name} did not print ${re} within ${timeoutMs} ms:\n${out}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    exited: () => exit,
  };
}

/** Pids of live processes whose command line contains every one of `parts`. */
export function findProcesses(...parts: string[]): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (parts.every((p) => cmd.includes(p))) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // field 3 is the state; Z (zombie) and X (dead) count as gone
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export async function httpJson(
  method: string,
  url: string,
  body?: unknown,
): Promise<{ status: number; headers: Headers; json: unknown }> {
  const res = await fetch(url, {
    method,
    redirect: 'manual',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, json };
}

/** Pids of live processes whose working directory is inside `dir` (task sandboxes of a test's work dir). */
export function findProcessesUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`).startsWith(dir) && isAlive(Number(entry))) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

/** SIGKILL every process under `dir` (cleanup); one that exits meanwhile is not an error. */
export function killProcessesUnder(dir: string): void {
  for (const pid of findProcessesUnder(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
}

export interface MarathonTask {
  id: string;
  host: string;
  ports: number[];
  state: string;
}

export interface MarathonApp {
  tasksRunning: number;
  tasks: MarathonTask[];
  lastTaskFailure?: unknown;
}

/** Poll marathon until the app has `count` running tasks (bounded); returns the app JSON. */
export function waitForRunningApp(api: string, appId: string, count: number, timeoutMs = 60_000): Promise<MarathonApp> {
  return waitFor(
    async () => {
      const r = await httpJson('GET', `${api}/v2/apps${appId}`);
      const app = (r.json as { app?: MarathonApp }).app;
      return app && app.tasksRunning === count && app.tasks.length === count ? app : undefined;
    },
    { timeoutMs, intervalMs: 500, message: `app ${appId} never had ${count} running tasks` },
  );
}

/** The HTTP status a task's server answers with on 127.0.0.1:port, waiting until it listens (bounded). */
export function waitForHttp(port: number, timeoutMs = 20_000): Promise<number> {
  // RUNNING means the process started; the server inside may need a moment to listen.
  return waitFor(
    () =>
      fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.status,
        () => undefined,
      ),
    { timeoutMs, intervalMs: 200, message: `task on port ${port} never answered HTTP` },
  );
}
