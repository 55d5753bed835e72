/**
 * A real agent process for master tests: `packages/cli/src/main.ts agent`
 * under tsx (spawned by path: the master package does not depend on the agent
 * package). Killed at exit whatever happens.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort, killProcessesUnder, waitFor } from '@agora/testkit';

const MAIN = fileURLToPath(new URL('../../../cli/src/main.ts', import.meta.url));

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface AgentProcess {
  readonly child: ChildProcess;
  readonly port: number;
  output(): string;
  waitForOutput(re: RegExp, timeoutMs?: number): Promise<void>;
  /** SIGKILL (after SIGCONT, in case it is stopped), wait for the exit, then kill the tasks it left running. */
  stop(): Promise<void>;
}

export async function startAgentProcess(master: string, workDir: string, resources: string): Promise<AgentProcess> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      '--conditions=development',
      '--import',
      'tsx',
      MAIN,
      'agent',
      '--master',
      master,
      '--port',
      String(port),
      '--work_dir',
      workDir,
      '--resources',
      resources,
      '--isolation',
      'posix/cpu,posix/mem',
    ],
    { env: { ...process.env, AGORA_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  running.add(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<void>((resolve) =>
    child.on('exit', () => {
      running.delete(child);
      resolve();
    }),
  );
  return {
    child,
    port,
    output: () => out,
    async waitForOutput(re, timeoutMs = 30_000) {
      await waitFor(() => (re.test(out) ? true : undefined), {
        timeoutMs,
        intervalMs: 50,
        message: `agent output matching ${re} (output so far: ${out.slice(-2000)})`,
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGKILL');
      }
      await exited;
      killProcessesUnder(workDir);
    },
  };
}
