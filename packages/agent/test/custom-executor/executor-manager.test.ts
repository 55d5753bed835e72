/**
 * Custom executors on a real agent (against a master peer): the failure paths
 * — an executor that never subscribes, one that exits, invalid ExecutorInfos,
 * a kill before the executor subscribed, and a subscription for an executor
 * the agent does not run. (The happy path with the SDK's executor driver and
 * the example executor is packages/sdk/test/executor/custom-executor.test.ts.)
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@agora/common';
import { agora, TaskState, TaskStatusReason } from '@agora/proto';
import { connectChannel } from '@agora/transport';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ProcessContainerizer } from '../../src/containerizer/process.js';
import { type Agent, createAgent } from '../../src/index.js';
import { MasterPeer } from '../support/master-peer.js';
import { isAlive, waitFor } from '../support/wait.js';

const test = suite('custom executors: failure paths');
let root = '';
let peer: MasterPeer;
let agent: Agent;

test.before(async () => {
  root = mkdtempSync(join(tmpdir(), 'agora-custom-exec-'));
  peer = await MasterPeer.start();
  agent = createAgent(
    {
      master: `127.0.0.1:${peer.port}`,
      port: 0,
      workDir: join(root, 'work'),
      resources: 'cpus:2;mem:1024;disk:1000;ports:[31000-31009]',
      reconnectInitialMs: 50,
      executorRegistrationTimeoutMs: 500,
      executorShutdownGraceMs: 200,
    },
    { logger: silentLogger(), containerizer: new ProcessContainerizer() },
  );
  await agent.start();
  await peer.next((m) => m.register, 'Register');
  peer.send({ registered: { agent_id: { value: 'A1' }, master_info: { id: 'M1', ip: 0, port: 5050 } } });
  await waitFor(() => agent.agentId === 'A1', 'registered');
});

test.after(async () => {
  await agent?.close({ killTasks: true });
  await peer?.close();
  rmSync(root, { recursive: true, force: true });
});

function run(taskId: string, task: Partial<agora.v1.TaskInfo.$Properties>): void {
  peer.send({
    run_task: {
      framework: { user: 'u', name: 'fw', id: { value: 'F1' } },
      task: { name: taskId, task_id: { value: taskId }, agent_id: { value: 'A1' }, ...task },
    },
  });
}

async function reach(taskId: string, state: TaskState) {
  return waitFor(() => {
    for (const u of peer.updates(taskId)) peer.ack(u);
    return peer.updates(taskId).find((u) => u.status.state === state);
  }, `${taskId} ${TaskState[state]}`);
}

/** Host pids of the processes whose MESOS_SANDBOX lies under `dir`. */
function processesIn(dir: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, 'utf8').includes(`MESOS_SANDBOX=${dir}/`)) out.push(Number(name));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

const executor = (id: string, command: string): agora.v1.ExecutorInfo.$Properties => ({
  executor_id: { value: id },
  command: { value: command },
});

test('an executor that never subscribes is killed after the registration timeout; its task fails', async () => {
  run('t-silent', { executor: executor('silent', 'exec sleep 30') });
  const pids = await waitFor(() => {
    const found = processesIn(join(root, 'work', 'agents', 'A1', 'frameworks', 'F1', 'executors', 'silent'));
    return found.length > 0 && found;
  }, 'the executor process');
  const failed = await reach('t-silent', TaskState.TASK_FAILED);
  assert.is(failed.status.reason, TaskStatusReason.REASON_EXECUTOR_REGISTRATION_TIMEOUT);
  assert.is(failed.status.executor_id?.value, 'silent');
  await waitFor(() => pids.every((pid) => !isAlive(pid)), 'the executor process killed');
});

test('an executor that exits fails its tasks with REASON_EXECUTOR_TERMINATED and its exit status', async () => {
  run('t-exits', { executor: executor('quitter', 'exit 3') });
  const failed = await reach('t-exits', TaskState.TASK_FAILED);
  assert.is(failed.status.reason, TaskStatusReason.REASON_EXECUTOR_TERMINATED);
  assert.match(failed.status.message ?? '', /Executor terminated: Command exited with status 3/);
});

test('invalid ExecutorInfos are refused with TASK_ERROR', async () => {
  run('t-nocmd', { executor: { executor_id: { value: 'nocmd' } } });
  assert.match((await reach('t-nocmd', TaskState.TASK_ERROR)).status.message ?? '', /no command/);
  run('t-both', { executor: executor('both', 'true'), command: { value: 'true' } });
  assert.match((await reach('t-both', TaskState.TASK_ERROR)).status.message ?? '', /either a command or an executor/);
});

test('a kill before the executor subscribed ends the task TASK_KILLED', async () => {
  run('t-early', { executor: executor('slow', 'exec sleep 30') });
  await new Promise((r) => setTimeout(r, 50));
  peer.send({ kill_task: { framework_id: { value: 'F1' }, task_id: { value: 't-early' } } });
  const killed = await reach('t-early', TaskState.TASK_KILLED);
  assert.is(killed.status.reason, TaskStatusReason.REASON_TASK_KILLED_DURING_LAUNCH);
});

test('a SUBSCRIBE for an executor this agent does not run gets ERROR and is closed', async () => {
  const url = `ws://127.0.0.1:${agent.port}/agora/v1/executor`;
  const channel = await connectChannel(url, agora.v1.executor.ExecutorEvent, agora.v1.executor.ExecutorCall);
  const events: agora.v1.executor.ExecutorEvent[] = [];
  channel.onDidReceive((e) => events.push(e));
  let closed = false;
  channel.onDidClose(() => {
    closed = true;
  });
  channel.send({
    framework_id: { value: 'F1' },
    executor_id: { value: 'nobody' },
    type: agora.v1.executor.ExecutorCall.Type.SUBSCRIBE,
    subscribe: {},
  });
  await waitFor(() => closed, 'the agent closed the connection');
  assert.match(events[0]?.error?.message ?? '', /no executor 'nobody'/);
  // Other paths are not WebSocket endpoints.
  await connectChannel(
    `ws://127.0.0.1:${agent.port}/nope`,
    agora.v1.executor.ExecutorEvent,
    agora.v1.executor.ExecutorCall,
  ).then(
    (c) => {
      c.close(1000, 'unexpected');
      assert.unreachable('upgrade on an unknown path accepted');
    },
    (err: Error) => assert.match(err.message, /cannot connect/),
  );
});

test.run();
