/**
 * A custom executor end to end: the real master, a real agent, the scheduler
 * driver, and the example echo-executor (a real process started by the agent,
 * talking to it through the executor driver).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Agent, createAgent } from '@agora/agent';
import { silentLogger } from '@agora/common';
import { createMaster, type Master } from '@agora/master';
import { type agora, TaskState } from '@agora/proto';
import { type ExecutorMessage, SchedulerDriver } from '@agora/sdk';
import { waitFor } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const EXAMPLE = fileURLToPath(new URL('../../examples/echo-executor.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

const test = suite('custom executor (echo-executor example) with the real master and agent');
let root = '';
let master: Master;
let agent: Agent;
let driver: SchedulerDriver;

test.before(async () => {
  root = mkdtempSync(join(tmpdir(), 'agora-custom-executor-'));
  master = createMaster({ port: 0, host: '127.0.0.1', allocationIntervalMs: 100 }, { logger: silentLogger() });
  await master.start();
  agent = createAgent(
    {
      master: `127.0.0.1:${master.port}`,
      port: 0,
      workDir: join(root, 'agent'),
      resources: 'cpus:4;mem:2048;disk:1000;ports:[31000-31009]',
    },
    { logger: silentLogger() },
  );
  await agent.start();
  await waitFor(() => agent.agentId, { timeoutMs: 10_000, message: 'the agent registered' });
});

test.after(async () => {
  await driver?.close();
  await agent?.close({ killTasks: true });
  await master?.close();
  rmSync(root, { recursive: true, force: true });
});

const EXECUTOR: agora.v1.ExecutorInfo.$Properties = {
  executor_id: { value: 'echo' },
  name: 'echo-executor',
  command: { value: `exec "${process.execPath}" --conditions=development --import "${TSX}" "${EXAMPLE}"` },
  resources: [
    { name: 'cpus', type: 0, scalar: { value: 0.1 } },
    { name: 'mem', type: 0, scalar: { value: 64 } },
  ],
};

function task(id: string, agentId: string, data: string): agora.v1.TaskInfo.$Properties {
  return {
    name: id,
    task_id: { value: id },
    agent_id: { value: agentId },
    resources: [
      { name: 'cpus', type: 0, scalar: { value: 0.1 } },
      { name: 'mem', type: 0, scalar: { value: 16 } },
    ],
    executor: EXECUTOR,
    data: Buffer.from(data),
  };
}

test('one executor runs several tasks: FINISHED, FAILED, KILLED, framework messages both ways, shutdown', async () => {
  const statuses: agora.v1.TaskStatus[] = [];
  const messages: ExecutorMessage[] = [];
  driver = new SchedulerDriver({
    master: `127.0.0.1:${master.port}`,
    framework: { user: 'tester', name: 'custom-executor-test' },
    logger: silentLogger(),
  });
  driver.onDidUpdateStatus((s) => statuses.push(s));
  driver.onDidReceiveMessage((m) => messages.push(m));
  let launched = false;
  driver.onDidReceiveOffers((offers) => {
    const [offer, ...rest] = offers;
    if (rest.length > 0) driver.decline(rest.map((o) => o.id.value));
    if (offer === undefined) return;
    if (launched) return driver.decline([offer.id.value]);
    launched = true;
    const agentId = offer.agent_id.value;
    driver.launch(
      [offer.id.value],
      [
        task('ok', agentId, 'run:300'),
        task('bad', agentId, 'fail:200'),
        task('forever', agentId, 'forever'),
        task('stay', agentId, 'forever'),
      ],
    );
  });
  await driver.start();
  const seen = (id: string, state: TaskState) => statuses.find((s) => s.task_id.value === id && s.state === state);
  await waitFor(() => seen('ok', TaskState.TASK_FINISHED), { timeoutMs: 30_000, message: 'ok FINISHED' });
  await waitFor(() => seen('bad', TaskState.TASK_FAILED), { timeoutMs: 10_000, message: 'bad FAILED' });
  const running = await waitFor(() => seen('forever', TaskState.TASK_RUNNING), {
    timeoutMs: 10_000,
    message: 'forever RUNNING',
  });
  assert.is(running.executor_id?.value, 'echo');
  assert.match(running.message ?? '', /echo-executor runs 'forever'/);
  assert.is(seen('bad', TaskState.TASK_FAILED)?.message, 'failed as asked');

  // Framework message to the executor, echoed back through agent and master.
  driver.message(running.agent_id?.value ?? '', 'echo', Buffer.from('ping'));
  const echoed = await waitFor(() => messages[0], { timeoutMs: 10_000, message: 'the echo' });
  assert.is(Buffer.from(echoed.data).toString(), 'echo:ping');
  assert.is(echoed.executorId, 'echo');

  driver.kill('forever');
  const killed = await waitFor(() => seen('forever', TaskState.TASK_KILLED), {
    timeoutMs: 10_000,
    message: 'forever KILLED',
  });
  assert.is(killed.message, 'killed by the echo-executor');

  // All three ran in one executor: one sandbox under executors/echo.
  type ExecutorJson = { id: string; directory: string };
  type FrameworkJson = { executors: ExecutorJson[]; completed_executors: ExecutorJson[] };
  const state = (await (await fetch(`${agent.url}/state`)).json()) as {
    frameworks: FrameworkJson[];
    completed_frameworks: FrameworkJson[];
  };
  const executors = [...state.frameworks, ...state.completed_frameworks].flatMap((f) => [
    ...f.executors,
    ...f.completed_executors,
  ]);
  assert.equal(new Set(executors.map((e) => e.id)), new Set(['echo']));
  const dirs = new Set(executors.map((e) => e.directory));
  assert.is(dirs.size, 1, [...dirs].join(', '));
  assert.match([...dirs][0] ?? '', /\/executors\/echo\/runs\//);

  // Teardown (a task still runs): the agent sends SHUTDOWN and the executor exits.
  await waitFor(() => seen('stay', TaskState.TASK_RUNNING), { timeoutMs: 10_000, message: 'stay RUNNING' });
  const pids = executorPids();
  assert.ok(pids.length > 0, 'the executor runs (with its container supervisor)');
  await driver.teardown();
  await waitFor(() => executorPids().length === 0, { timeoutMs: 15_000, message: 'the executor exited' });
});

/** Processes started by this test's agent running the example executor. */
function executorPids(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (!cmdline.includes('echo-executor.ts')) continue;
      if (readFileSync(`/proc/${name}/environ`, 'utf8').includes(`MESOS_SANDBOX=${root}`)) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

test.run();
