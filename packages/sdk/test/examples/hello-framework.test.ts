/**
 * The example framework runs as its README says, as a real child process,
 * against a real master and agent (in this process, 127.0.0.1, random
 * ports): it launches its tasks, sees them FINISHED, tears itself down and
 * exits 0.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createAgent, type Agent } from '@agora/agent';
import { silentLogger } from '@agora/common';
import { createMaster, type Master } from '@agora/master';
import { removeTempDir, tempDir, waitFor } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const example = 'packages/sdk/examples/hello-framework.ts';

function runExample(
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', example, ...args], {
      cwd: root,
      env: { ...process.env, AGORA_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the example did not exit within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const test = suite('hello-framework example - end to end on a real master and agent');

test('launches 3 tasks, prints their updates, exits 0 after all FINISHED and tears down', async () => {
  const workDir = await tempDir('agora-sdk-example-');
  let master: Master | undefined;
  let agent: Agent | undefined;
  try {
    master = createMaster({ port: 0, host: '127.0.0.1', allocationIntervalMs: 200 }, { logger: silentLogger() });
    await master.start();
    agent = createAgent(
      {
        master: `127.0.0.1:${master.port}`,
        port: 0,
        workDir,
        resources: 'cpus:2;mem:1024;disk:1000;ports:[31000-31010]',
      },
      { logger: silentLogger() },
    );
    await agent.start();
    await waitFor(() => agent?.agentId, { timeoutMs: 10_000, message: 'the agent to register' });

    const run = await runExample(['--master', `127.0.0.1:${master.port}`, '--tasks', '3', '--timeout', '60'], 90_000);
    assert.is(run.code, 0, `exit code; stdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
    const finished = run.stdout.split('\n').filter((line) => / TASK_FINISHED/.test(line));
    assert.is(finished.length, 3, run.stdout);
    assert.match(run.stdout, /subscribed as framework \S+/);
    assert.match(run.stdout, '3 of 3 tasks finished');

    const id = /subscribed as framework (\S+)/.exec(run.stdout)?.[1];
    const state = (await (await fetch(`${master.url}/state`)).json()) as {
      frameworks: Array<{ id: string }>;
      completed_frameworks: Array<{ id: string }>;
    };
    assert.ok(
      state.completed_frameworks.some((f) => f.id === id),
      'torn down',
    );
    assert.not.ok(state.frameworks.some((f) => f.id === id));
  } finally {
    await agent?.close({ killTasks: true });
    await master?.close();
    await removeTempDir(workDir);
  }
});

test.run();
