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

/** Start `agora agent` against `peer` on `port`; `cleanups` gets its SIGKILL. */
export function spawnAgent(
  peer: MasterPeer,
  workDir: string,
  port: number,
  cleanups: Array<() => Promise<void> | void>,
  extra: string[] = [],
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
  const kill9 = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  cleanups.push(kill9);
  return { child, output: () => out, exited, kill9 };
}
