/**
 * COMMAND health checks run inside the task's container, through a whole
 * in-process agent with the isolation this host offers: the check's process
 * is in the task's pid namespace (it sees the namespace the task wrote down)
 * and in the task's cgroups (its /proc/self/cgroup is the task's). Run from
 * the agent as before, both checks fail: the task would be killed.
 */
import { readlinkSync } from 'node:fs';
import { TaskState, TaskStatusReason } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { detectHostIsolation } from '../../src/isolation/isolation.js';
import { type PeerAgent, reachState, runTask, startPeerAgent } from '../support/peer-agent.js';
import { waitFor } from '../support/wait.js';

const test = suite('health checks: COMMAND checks run in the task’s pid namespace and cgroups');
const host = detectHostIsolation();
let setup: PeerAgent | undefined;

test.before(async () => {
  setup = await startPeerAgent({ prefix: 'agora-hc-ns-' });
});
test.after(async () => {
  await setup?.close();
});

/** The task writes down what it sees, then runs; the check compares with what it sees itself. */
function checkedTask(taskId: string, check: string): void {
  if (setup === undefined) throw new Error('no agent');
  runTask(setup.peer, taskId, {
    command: { value: 'readlink /proc/self/ns/pid > ns; cat /proc/self/cgroup > cg; exec sleep 60' },
    health_check: {
      type: 1, // COMMAND
      command: { value: check },
      delay_seconds: 0.2,
      interval_seconds: 0.2,
      timeout_seconds: 5,
      grace_period_seconds: 0,
      consecutive_failures: 1,
    },
  });
}

async function firstHealth(taskId: string) {
  const peer = (setup as PeerAgent).peer;
  await reachState(peer, taskId, TaskState.TASK_RUNNING);
  return waitFor(
    () => {
      for (const u of peer.updates(taskId)) peer.ack(u);
      return peer
        .updates(taskId)
        .find(
          (u) =>
            u.status.reason === TaskStatusReason.REASON_TASK_HEALTH_CHECK_STATUS_UPDATED ||
            u.status.state === TaskState.TASK_KILLED,
        );
    },
    `${taskId} health`,
    20_000,
  );
}

test('the check is in the task’s pid namespace', async () => {
  checkedTask('ns', '[ "$(readlink /proc/self/ns/pid)" = "$(cat ns)" ]');
  const update = await firstHealth('ns');
  if (host.pidNamespace) {
    assert.is(update.status.state, TaskState.TASK_RUNNING);
    assert.is(update.status.healthy, true, update.status.message ?? '');
    // And it is not the agent's namespace: the task really is in its own.
    const ns = readlinkSync('/proc/self/ns/pid');
    const peer = (setup as PeerAgent).peer;
    assert.ok(peer.updates('ns').every((u) => !(u.status.message ?? '').includes(ns)));
  } else {
    // No pid namespace on this host: task and check share the host's, so the check passes too.
    assert.is(update.status.healthy, true);
  }
});

test('the check is in the task’s cgroups (its cost is charged to the task)', async () => {
  checkedTask('cg', 'cat /proc/self/cgroup | cmp -s - cg');
  const update = await firstHealth('cg');
  assert.is(update.status.state, TaskState.TASK_RUNNING, update.status.message ?? '');
  assert.is(update.status.healthy, true, update.status.message ?? '');
  if (host.cgroups !== undefined) {
    // The task's cgroups are the container's own, not the agent's: the check ran in a cgroup named by no one else.
    const { readFileSync } = await import('node:fs');
    assert.is.not(readFileSync('/proc/self/cgroup', 'utf8'), '');
    const state = (await (await fetch(`${(setup as PeerAgent).agent.url}/state`)).json()) as {
      isolation: { mode: string };
    };
    assert.match(state.isolation.mode, /^cgroups-v[12]$/);
  }
});

test('a check comparing with the agent’s own view fails inside the container', async () => {
  if (!host.pidNamespace) return;
  const own = readlinkSync('/proc/self/ns/pid');
  checkedTask('outside', `[ "$(readlink /proc/self/ns/pid)" = "${own}" ]`);
  const update = await firstHealth('outside');
  // consecutive_failures 1, grace 0: the first failure kills the task.
  const killed = await reachState((setup as PeerAgent).peer, 'outside', TaskState.TASK_KILLED);
  assert.ok(update.status.state === TaskState.TASK_KILLED || update.status.healthy === false);
  assert.match(killed.status.message ?? '', /consecutive failed health checks/);
});

test.run();
