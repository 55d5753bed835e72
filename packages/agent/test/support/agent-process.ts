/**
 * A real agent process (the CLI) for tests that kill it with SIGKILL and start
 * it again on the same work dir; its log is kept for assertions.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MasterPeer } from './master-peer.js';

export const REPO = resolve(fileURLToPath(new URL('../../../..', import.meta.url)));
const CLI = join(REPO, 'packages/cli/src/main.ts');

export interface AgentProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** SIGKILL, and wait until it is gone. */
  kill9(): Promise<void>;
}

/**
 * Start `agora agent` against `peer` on `port` (0: any); `cleanups` gets its stop (`stopSignal`, SIGKILL by
 * default; SIGTERM lets the agent kill its tasks).
 */
export function spawnAgent(
  peer: MasterPeer,
  workDir: string,
  port: number,
  cleanups: Array<() => Promise<void> | void>,
  extra: string[] = [],
  stopSignal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL',
): AgentProcess {
  const child = spawn(
    process.execPath,
    [
      '--conditions=development',
      '--import',
      'tsx',
      CLI,
      'agent',
      '--master',
      `127.0.0.1:${peer.port}`,
      '--port',
      String(port),
      '--work_dir',
      workDir,
      '--resources',
      'cpus:2;mem:1024;disk:1000;ports:[31000-31009]',
      ...extra,
    ],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AGORA_LOG_LEVEL: 'info' } },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const stop = (signal: NodeJS.Signals) => async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      await exited;
    }
  };
  const kill9 = stop('SIGKILL');
  cleanups.push(stop(stopSignal));
  return { child, output: () => out, exited, kill9 };
}
