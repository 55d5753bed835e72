/**
 * The agent wiring of the files API, the fetcher and health checks: a real
 * agent against a master peer, with real task processes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@agora/common';
import { type agora, TaskState, TaskStatusReason } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ProcessContainerizer } from '../../src/containerizer/process.js';
import { type Agent, createAgent } from '../../src/index.js';
import { MasterPeer } from '../support/master-peer.js';
import { waitFor } from '../support/wait.js';

const test = suite('agent sandboxes, fetcher and health-check wiring');
let root = '';
let peer: MasterPeer;
let agent: Agent;

test.before(async () => {
  root = mkdtempSync(join(tmpdir(), 'agora-agent-files-'));
  peer = await MasterPeer.start();
  agent = createAgent(
    {
      master: `127.0.0.1:${peer.port}`,
      port: 0,
      workDir: join(root, 'work'),
      resources: 'cpus:2;mem:1024;disk:1000;ports:[31000-31009]',
      reconnectInitialMs: 50,
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

/** Acknowledge everything (updates are sent one at a time) until the task reports `state`. */
async function reach(taskId: string, state: TaskState) {
  return waitFor(() => {
    for (const u of peer.updates(taskId)) peer.ack(u);
    return peer.updates(taskId).find((u) => u.status.state === state);
  }, `${taskId} ${TaskState[state]}`);
}

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
