import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agora, TaskState, TaskStatusReason, TaskStatusSource } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ProcessContainerizer } from '../../src/containerizer/process.js';
import {
  CommandExecutor,
  DEFAULT_KILL_GRACE_PERIOD_MS,
  killGracePeriodMs,
} from '../../src/executor/command-executor.js';
import { killGroup, waitFor } from '../support/wait.js';

const test = suite('command executor');
let root = '';
const executors: CommandExecutor[] = [];

test.before(() => {
  root = mkdtempSync(join(tmpdir(), 'agora-executor-'));
});

test.after(() => {
  for (const e of executors) killGroup(e.pid);
  rmSync(root, { recursive: true, force: true });
});

const KILLING = agora.v1.FrameworkInfo.Capability.Type.TASK_KILLING_STATE;

function start(
  taskId: string,
  command: agora.v1.CommandInfo.$Properties | undefined,
  opts: { killingState?: boolean; gracePeriodNs?: number } = {},
) {
  const statuses: agora.v1.TaskStatus.$Properties[] = [];
  const task: agora.v1.TaskInfo.$Properties = { name: taskId, task_id: { value: taskId }, agent_id: { value: 'a1' } };
  if (command !== undefined) task.command = command;
  if (opts.gracePeriodNs !== undefined) task.kill_policy = { grace_period: { nanoseconds: opts.gracePeriodNs } };
  const executor = new CommandExecutor({
    task,
    framework: {
      user: 'u',
      name: 'fw',
      id: { value: 'f1' },
      capabilities: opts.killingState ? [{ type: KILLING }] : [],
    },
    frameworkId: 'f1',
    agentId: 'a1',
    containerId: `c-${taskId}`,
    sandbox: join(root, taskId),
    env: { PATH: process.env['PATH'] ?? '/bin' },
    containerizer: new ProcessContainerizer(),
    onStatus: (s) => statuses.push(s),
  });
  executors.push(executor);
  return { executor, statuses, states: () => statuses.map((s) => TaskState[s.state]) };
}

test('exit 0: STARTING, RUNNING, FINISHED', async () => {
  const { executor, statuses, states } = start('ok', { value: 'echo done' });
  await executor.launch();
  await executor.done;
  assert.equal(states(), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
  const last = statuses[2]!;
  assert.is(last.source, TaskStatusSource.SOURCE_EXECUTOR);
  assert.is(last.agent_id?.value, 'a1');
  assert.is(last.executor_id?.value, 'ok');
  assert.is(last.task_id.value, 'ok');
  assert.is(readFileSync(join(root, 'ok', 'stdout'), 'utf8'), 'done\n');
});

test('non-zero exit: TASK_FAILED with the exit status in the message', async () => {
  const { executor, statuses, states } = start('bad', { value: 'exit 7' });
  await executor.launch();
  await executor.done;
  assert.equal(states(), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FAILED']);
  assert.is(statuses[2]?.message, 'Command exited with status 7');
});

test('a program that cannot start: TASK_FAILED, REASON_CONTAINER_LAUNCH_FAILED', async () => {
  const { executor, statuses, states } = start('nope', { value: '/no/such/program', shell: false });
  await executor.launch();
  await executor.done;
  assert.equal(states(), ['TASK_STARTING', 'TASK_FAILED']);
  assert.is(statuses[1]?.reason, TaskStatusReason.REASON_CONTAINER_LAUNCH_FAILED);
  assert.match(statuses[1]?.message ?? '', '/no/such/program');
});

test('a task without a command: TASK_FAILED', async () => {
  const { executor, states } = start('nocmd', undefined);
  await executor.launch();
  await executor.done;
  assert.equal(states(), ['TASK_STARTING', 'TASK_FAILED']);
});

test('kill: TASK_KILLED; TASK_KILLING first only when the framework has TASK_KILLING_STATE', async () => {
  const plain = start('k1', { value: 'sleep 1000' });
  await plain.executor.launch();
  await plain.executor.kill(2000);
  assert.equal(plain.states(), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLED']);
  assert.is(plain.statuses[2]?.message, 'Command terminated with signal SIGTERM');

  const aware = start('k2', { value: 'sleep 1000' }, { killingState: true });
  await aware.executor.launch();
  await aware.executor.kill(2000);
  assert.equal(aware.states(), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_KILLED']);
});

test('kill before launch: TASK_KILLED without starting a process', async () => {
  const { executor, statuses, states } = start('early', { value: 'sleep 1000' });
  await executor.kill(1000);
  assert.equal(states(), ['TASK_KILLED']);
  assert.is(statuses[0]?.reason, TaskStatusReason.REASON_TASK_KILLED_DURING_LAUNCH);
  assert.is(executor.pid, undefined);
});

test('nothing is reported after a terminal state', async () => {
  const { executor, states } = start('once', { value: 'true' });
  await executor.launch();
  await executor.done;
  await executor.kill(10);
  await waitFor(() => executor.isTerminal, 'terminal');
  assert.equal(states(), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
});

test('grace period: the kill policy of the kill, else the task, else 3 s', () => {
  const task: agora.v1.TaskInfo.$Properties = { name: 't', task_id: { value: 't' }, agent_id: { value: 'a' } };
  assert.is(killGracePeriodMs(task), DEFAULT_KILL_GRACE_PERIOD_MS);
  assert.is(DEFAULT_KILL_GRACE_PERIOD_MS, 3000);
  const withPolicy = { ...task, kill_policy: { grace_period: { nanoseconds: 5e9 } } };
  assert.is(killGracePeriodMs(withPolicy), 5000);
  assert.is(killGracePeriodMs(withPolicy, { grace_period: { nanoseconds: 1e8 } }), 100);
  assert.is(killGracePeriodMs(withPolicy, {}), 5000);
});

test.run();
