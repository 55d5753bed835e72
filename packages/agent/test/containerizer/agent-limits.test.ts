/**
 * Limits and the kill policy through a whole in-process agent (isolation as
 * detected on this host): a task over its memory ends TASK_FAILED with
 * REASON_CONTAINER_LIMITATION_MEMORY (where cgroups exist; with the posix
 * fallback it is not limited, and /state says posix); a kill goes SIGTERM,
 * grace period, SIGKILL to the whole container, TASK_KILLING then TASK_KILLED.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@agora/common';
import { agora, TaskState, TaskStatusReason, ValueType } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type Agent, createAgent } from '../../src/agent.js';
import { detectHostIsolation } from '../../src/isolation/isolation.js';
import type { MasterPeer } from '../support/master-peer.js';
import { type PeerAgent, startPeerAgent } from '../support/peer-agent.js';
import { isAlive, waitFor } from '../support/wait.js';

const test = suite('agent: container limits and kill policy');
const HOST_PID = 'read -r p _ < /proc/self/stat; echo "$p"';
const FRAMEWORK: agora.v1.FrameworkInfo.$Properties = {
  user: 'tester',
  name: 'fw',
  id: { value: 'F1' },
  capabilities: [{ type: agora.v1.FrameworkInfo.Capability.Type.TASK_KILLING_STATE }],
};
let setup: PeerAgent | undefined;
let root = '';
let peer: MasterPeer;
let agent: Agent;
let acker: NodeJS.Timeout | undefined;

test.before(async () => {
  setup = await startPeerAgent({ prefix: 'agora-limits-', workSubdir: '', masterHostname: 'm' });
  ({ root, peer, agent } = setup);
  // Acknowledge every update as a master would, so each task's stream moves on.
  let acked = 0;
  acker = setInterval(() => {
    const updates = peer.received.filter((m) => m.status_update);
    for (const m of updates.slice(acked)) if (m.status_update) peer.ack(m.status_update);
    acked = updates.length;
  }, 20);
});

test.after(async () => {
  clearInterval(acker);
  await setup?.close();
});

function runTask(taskId: string, command: string, memMb: number, graceMs?: number): void {
  const task: agora.v1.TaskInfo.$Properties = {
    name: taskId,
    task_id: { value: taskId },
    agent_id: { value: 'A1' },
    resources: [
      { name: 'cpus', type: ValueType.SCALAR, scalar: { value: 0.2 } },
      { name: 'mem', type: ValueType.SCALAR, scalar: { value: memMb } },
    ],
    command: { value: command },
  };
  if (graceMs !== undefined) task.kill_policy = { grace_period: { nanoseconds: graceMs * 1e6 } };
  peer.send({ run_task: { framework: FRAMEWORK, task } });
}

test('a task allocating past its mem ends TASK_FAILED with REASON_CONTAINER_LIMITATION_MEMORY', async () => {
  const host = detectHostIsolation();
  const state = (await (await fetch(`${agent.url}/state`)).json()) as {
    isolation: { mode: string; fallbacks: string[] };
  };
  runTask('hog', 'head -c 300m /dev/zero | tail > /dev/null', 48);
  if (host.cgroups !== undefined) {
    assert.match(state.isolation.mode, /^cgroups-v[12]$/);
    const failed = await peer.update('hog', TaskState.TASK_FAILED, 20_000);
    assert.is(failed.status.reason, TaskStatusReason.REASON_CONTAINER_LIMITATION_MEMORY);
    assert.match(failed.status.message ?? '', /Memory limit exceeded/);
  } else {
    assert.is(state.isolation.mode, 'posix');
    assert.ok(state.isolation.fallbacks.some((f) => f.startsWith('cgroups unavailable')));
    await peer.update('hog', TaskState.TASK_FINISHED, 20_000);
  }
});

test('kill: TASK_KILLING, SIGTERM, the grace period, then SIGKILL for the whole container, TASK_KILLED', async () => {
  // The whole tree ignores SIGTERM, so only the SIGKILL after the grace period ends it.
  runTask('stubborn', `trap '' TERM; (${HOST_PID} > child; exec sleep 1000) & ${HOST_PID} > pid; wait`, 64, 400);
  await peer.update('stubborn', TaskState.TASK_RUNNING);
  const sandbox = join(root, 'agents', 'A1', 'frameworks', 'F1', 'executors', 'stubborn', 'runs', 'latest');
  const pids = await waitFor(() => {
    const files = ['pid', 'child'].map((f) => join(sandbox, f));
    if (!files.every((f) => existsSync(f) && readFileSync(f, 'utf8').trim() !== '')) return undefined;
    return files.map((f) => Number(readFileSync(f, 'utf8')));
  }, 'task pids');
  peer.send({ kill_task: { framework_id: { value: 'F1' }, task_id: { value: 'stubborn' } } });
  const killing = await peer.update('stubborn', TaskState.TASK_KILLING);
  assert.match(killing.status.message ?? '', /grace period 400 ms/);
  assert.ok(pids.every(isAlive), 'SIGTERM is ignored: still alive during the grace period');
  await peer.update('stubborn', TaskState.TASK_KILLED, 10_000);
  await waitFor(() => pids.every((p) => !isAlive(p)), 'every process gone after the grace period');
});

test('without cgroups and a pid namespace the agent runs the posix fallback and says so in /state and its log', async () => {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger({ component: 'agent', level: 'info', destination });
  const bare = createAgent(
    { master: `127.0.0.1:${peer.port}`, port: 0, workDir: join(root, 'bare'), resources: 'cpus:1;mem:256' },
    {
      logger,
      hostIsolation: {
        cgroups: undefined,
        cgroupsUnavailable: 'the agent is not running as root',
        pidNamespace: false,
        pidNamespaceUnavailable: 'unshare: not found',
      },
    },
  );
  await bare.start();
  try {
    const state = (await (await fetch(`${bare.url}/state`)).json()) as {
      isolation: { mode: string; isolators: string[]; fallbacks: string[]; pid_namespace: boolean };
    };
    assert.is(state.isolation.mode, 'posix');
    assert.equal(state.isolation.isolators, ['posix/cpu', 'posix/mem', 'disk/du']);
    assert.is(state.isolation.pid_namespace, false);
    assert.equal(state.isolation.fallbacks, [
      'cgroups unavailable (the agent is not running as root)',
      'pid namespace unavailable (unshare: not found)',
    ]);
    assert.ok(lines.some((l) => l.includes('isolation: posix fallback') && l.includes('not running as root')));
  } finally {
    await bare.close({ killTasks: true });
  }
});

test.run();
