/**
 * Custom executors on a real agent (against a master peer): the failure paths
 * — an executor that never subscribes, one that exits, invalid ExecutorInfos,
 * a kill before the executor subscribed, and a subscription for an executor
 * the agent does not run. (The happy path with the SDK's executor driver and
 * the example executor is packages/sdk/test/executor/custom-executor.test.ts.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { uuidBytes } from '@agora/common';
import { agora, TaskState, TaskStatusReason } from '@agora/proto';
import { connectChannel } from '@agora/transport';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ProcessContainerizer } from '../../src/containerizer/process.js';
import type { Agent } from '../../src/index.js';
import type { MasterPeer } from '../support/master-peer.js';
import { type PeerAgent, reachState, runTask, startPeerAgent } from '../support/peer-agent.js';
import { isAlive, waitFor } from '../support/wait.js';

const test = suite('custom executors: failure paths');
let setup: PeerAgent | undefined;
let root = '';
let peer: MasterPeer;
let agent: Agent;

test.before(async () => {
  setup = await startPeerAgent({
    prefix: 'agora-custom-exec-',
    config: {
      reconnectInitialMs: 50,
      executorRegistrationTimeoutMs: 500,
      executorShutdownGraceMs: 200,
      executorHeartbeatIntervalMs: 100,
    },
    deps: { containerizer: new ProcessContainerizer() },
  });
  ({ root, peer, agent } = setup);
});

test.after(async () => {
  await setup?.close();
});

const run = (taskId: string, task: Partial<agora.v1.TaskInfo.$Properties>): void => runTask(peer, taskId, task);
const reach = (taskId: string, state: TaskState) => reachState(peer, taskId, state);

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

test('a subscribed executor gets HEARTBEAT events every --http_heartbeat_interval', async () => {
  run('t-beat', { executor: executor('beat', 'exec sleep 30') });
  const url = `ws://127.0.0.1:${agent.port}/agora/v1/executor`;
  const channel = await connectChannel(url, agora.v1.executor.ExecutorEvent, agora.v1.executor.ExecutorCall);
  const events: agora.v1.executor.ExecutorEvent[] = [];
  channel.onDidReceive((e) => events.push(e));
  channel.send({
    framework_id: { value: 'F1' },
    executor_id: { value: 'beat' },
    type: agora.v1.executor.ExecutorCall.Type.SUBSCRIBE,
    subscribe: {},
  });
  const Type = agora.v1.executor.ExecutorEvent.Type;
  await waitFor(() => events.filter((e) => e.type === Type.HEARTBEAT).length >= 3, 'three heartbeats');
  assert.is(events[0]?.type, Type.SUBSCRIBED);
  assert.ok(events.some((e) => e.launch?.task.task_id.value === 't-beat'));
  channel.send({
    framework_id: { value: 'F1' },
    executor_id: { value: 'beat' },
    type: agora.v1.executor.ExecutorCall.Type.UPDATE,
    update: { status: { task_id: { value: 't-beat' }, state: TaskState.TASK_FINISHED, uuid: uuidBytes() } },
  });
  await reach('t-beat', TaskState.TASK_FINISHED);
  channel.close(1000, 'done');
});

test('a kill while the executor is reconnecting waits for it and is sent when it subscribes again', async () => {
  run('t-away', { executor: executor('away', 'exec sleep 30') });
  const url = `ws://127.0.0.1:${agent.port}/agora/v1/executor`;
  const Call = agora.v1.executor.ExecutorCall.Type;
  const ids = { framework_id: { value: 'F1' }, executor_id: { value: 'away' } };
  const first = await connectChannel(url, agora.v1.executor.ExecutorEvent, agora.v1.executor.ExecutorCall);
  const firstEvents: agora.v1.executor.ExecutorEvent[] = [];
  first.onDidReceive((e) => firstEvents.push(e));
  first.send({ ...ids, type: Call.SUBSCRIBE, subscribe: {} });
  const task = await waitFor(() => firstEvents.find((e) => e.launch)?.launch?.task, 'LAUNCH');
  first.send({
    ...ids,
    type: Call.UPDATE,
    update: { status: { task_id: { value: 't-away' }, state: TaskState.TASK_RUNNING, uuid: uuidBytes() } },
  });
  await reach('t-away', TaskState.TASK_RUNNING);
  first.close(1000, 'connection lost');
  await new Promise((r) => setTimeout(r, 100));
  peer.send({ kill_task: { framework_id: { value: 'F1' }, task_id: { value: 't-away' } } });
  await new Promise((r) => setTimeout(r, 200));
  assert.not.ok(
    peer.updates('t-away').some((u) => u.status.state === TaskState.TASK_KILLED),
    'not reported killed while the executor still runs it',
  );
  const second = await connectChannel(url, agora.v1.executor.ExecutorEvent, agora.v1.executor.ExecutorCall);
  const events: agora.v1.executor.ExecutorEvent[] = [];
  second.onDidReceive((e) => events.push(e));
  second.send({ ...ids, type: Call.SUBSCRIBE, subscribe: { unacknowledged_tasks: [task] } });
  await waitFor(() => events.find((e) => e.kill?.task_id.value === 't-away'), 'the KILL on the new connection');
  assert.not.ok(
    events.some((e) => e.launch),
    'a task the executor lists is not launched again',
  );
  second.send({
    ...ids,
    type: Call.UPDATE,
    update: { status: { task_id: { value: 't-away' }, state: TaskState.TASK_KILLED, uuid: uuidBytes() } },
  });
  await reach('t-away', TaskState.TASK_KILLED);
  second.close(1000, 'done');
});

test.run();
