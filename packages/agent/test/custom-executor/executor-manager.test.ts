/**
 * Custom executors on a real agent (against a master peer): the failure paths
 * — an executor that never subscribes, one that exits, invalid ExecutorInfos,
 * a kill before the executor subscribed, and a subscription for an executor
 * the agent does not run. (The happy path with the SDK's executor driver and
 * the example executor is packages/sdk/test/executor/custom-executor.test.ts.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
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
    config: { reconnectInitialMs: 50, executorRegistrationTimeoutMs: 500, executorShutdownGraceMs: 200 },
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

test.run();
