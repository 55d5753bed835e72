/**
 * The agent wiring of the files API, the fetcher and health checks: a real
 * agent against a master peer, with real task processes.
 */
import { join } from 'node:path';
import { type agora, TaskState, TaskStatusReason } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ProcessContainerizer } from '../../src/containerizer/process.js';
import type { Agent } from '../../src/index.js';
import type { MasterPeer } from '../support/master-peer.js';
import { type PeerAgent, reachState, runTask, startPeerAgent } from '../support/peer-agent.js';
import { waitFor } from '../support/wait.js';

const test = suite('agent sandboxes, fetcher and health-check wiring');
let setup: PeerAgent | undefined;
let root = '';
let peer: MasterPeer;
let agent: Agent;

test.before(async () => {
  setup = await startPeerAgent({
    prefix: 'agora-agent-files-',
    config: { reconnectInitialMs: 50 },
    deps: { containerizer: new ProcessContainerizer() },
  });
  ({ root, peer, agent } = setup);
});

test.after(async () => {
  await setup?.close();
});

const run = (taskId: string, task: Partial<agora.v1.TaskInfo.$Properties>): void => runTask(peer, taskId, task);
const reach = (taskId: string, state: TaskState) => reachState(peer, taskId, state);

test('a task writes stdout; /files/read serves it from the sandbox; outside paths are refused', async () => {
  run('echo', { command: { value: 'echo hello-sandbox; echo oops >&2' } });
  await reach('echo', TaskState.TASK_FINISHED);
  const state = (await (await fetch(`${agent.url}/state`)).json()) as {
    frameworks: Array<{ completed_executors: Array<{ directory: string }> }>;
    completed_frameworks: Array<{ completed_executors: Array<{ directory: string }> }>;
  };
  const fw = state.frameworks[0] ?? state.completed_frameworks[0];
  const dir = fw?.completed_executors[0]?.directory as string;
  const read = async (path: string) => fetch(`${agent.url}/files/read?path=${encodeURIComponent(path)}&offset=0`);
  assert.equal(await (await read(join(dir, 'stdout'))).json(), { data: 'hello-sandbox\n', offset: 0 });
  assert.equal(await (await read(join(dir, 'stderr'))).json(), { data: 'oops\n', offset: 0 });
  const browse = (await (await fetch(`${agent.url}/files/browse?path=${encodeURIComponent(dir)}`)).json()) as Array<{
    path: string;
  }>;
  assert.ok(browse.some((e) => e.path === join(dir, 'stdout')));
  assert.is((await read('/etc/passwd')).status, 403);
  assert.is((await read(join(root, 'work'))).status, 403);
});

test('a URI that cannot be fetched ends the task TASK_FAILED with REASON_FETCHER_FAILED', async () => {
  run('fetch-fail', { command: { value: 'true', uris: [{ value: join(root, 'no-such-file.tgz') }] } });
  const failed = await reach('fetch-fail', TaskState.TASK_FAILED);
  assert.is(failed.status.reason, TaskStatusReason.REASON_FETCHER_FAILED);
  assert.match(failed.status.message ?? '', 'no-such-file.tgz');
});

test('a task with an invalid health check is refused with TASK_ERROR; the agent keeps working', async () => {
  run('bad-check', { command: { value: 'sleep 5' }, health_check: { http: { port: 0 } } });
  const error = await reach('bad-check', TaskState.TASK_ERROR);
  assert.is(error.status.reason, TaskStatusReason.REASON_TASK_INVALID);
  assert.match(error.status.message ?? '', /invalid health check/);
  run('after', { command: { value: 'true' } });
  await reach('after', TaskState.TASK_FINISHED);
});

test('a COMMAND health check runs through the agent and reports healthy once', async () => {
  run('checked', {
    command: { value: 'sleep 30' },
    health_check: { command: { value: 'true' }, delay_seconds: 0, interval_seconds: 0.05 },
    kill_policy: { grace_period: { nanoseconds: 0 } },
  });
  const healthy = await waitFor(() => {
    for (const u of peer.updates('checked')) peer.ack(u);
    return peer.updates('checked').find((u) => u.status.healthy === true);
  }, 'healthy update');
  assert.is(healthy.status.reason, TaskStatusReason.REASON_TASK_HEALTH_CHECK_STATUS_UPDATED);
  await new Promise((r) => setTimeout(r, 300));
  for (const u of peer.updates('checked')) peer.ack(u);
  await new Promise((r) => setTimeout(r, 100));
  assert.is(peer.updates('checked').filter((u) => u.status.healthy === true).length, 1, 'reported once');
  peer.send({ kill_task: { framework_id: { value: 'F1' }, task_id: { value: 'checked' } } });
  await reach('checked', TaskState.TASK_KILLED);
});

test.run();
