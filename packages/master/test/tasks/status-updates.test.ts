/**
 * Tasks after launch, on a real master with protocol-level peers: status
 * updates forwarded to the framework and acknowledgements passed back to the
 * agent, no forwarding or ack while the framework is disconnected, kills,
 * explicit and implicit reconciliation, and teardown.
 */
import { uuidBytes } from '@agora/common';
import { agora, TaskState, TaskStatusReason, TaskStatusSource } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type AgentPeer,
  agentBarrier,
  CallType,
  cleanup,
  EventType,
  launchCall,
  nextOffer,
  registerAgent,
  scalar,
  schedulerBarrier,
  type SchedulerPeer,
  startMaster,
  subscribeScheduler,
  taskInfo,
  type TestMaster,
  waitForFramework,
} from '../support/harness.js';

const test = suite('status updates, kill and reconciliation');

interface Running {
  t: TestMaster;
  s: SchedulerPeer;
  a: AgentPeer;
}

/** A master, a framework and an agent with task `t1` launched (STAGING). */
async function withTask(capabilities: agora.v1.FrameworkInfo.Capability.Type[] = []): Promise<Running> {
  const t = await startMaster();
  const s = await subscribeScheduler(t, { capabilities });
  const a = await registerAgent(t);
  const offer = await nextOffer(s);
  s.send(launchCall(s, [offer.id.value], [taskInfo('t1', a.agentId, [scalar('cpus', 1), scalar('mem', 64)])], 0));
  await a.next((m) => m.run_task !== null, 'RunTask');
  return { t, s, a };
}

function statusUpdate(
  r: Running,
  taskId: string,
  state: TaskState,
  uuid: Uint8Array,
): agora.v1.agent.AgentToMaster.$Properties {
  return {
    status_update: {
      framework_id: { value: r.s.frameworkId },
      status: {
        task_id: { value: taskId },
        state,
        source: TaskStatusSource.SOURCE_EXECUTOR,
        agent_id: { value: r.a.agentId },
        timestamp: 1_700_000_000.5,
        uuid,
      },
    },
  };
}

function acknowledge(r: Running, taskId: string, uuid: Uint8Array): agora.v1.scheduler.Call.$Properties {
  return {
    type: CallType.ACKNOWLEDGE,
    framework_id: { value: r.s.frameworkId },
    acknowledge: { agent_id: { value: r.a.agentId }, task_id: { value: taskId }, uuid },
  };
}

function reconcile(r: Running, tasks: Array<{ id: string; agent?: string }>): agora.v1.scheduler.Call.$Properties {
  return {
    type: CallType.RECONCILE,
    framework_id: { value: r.s.frameworkId },
    reconcile: {
      tasks: tasks.map((x) => ({ task_id: { value: x.id }, ...(x.agent ? { agent_id: { value: x.agent } } : {}) })),
    },
  };
}

test('a status update is forwarded to the framework; its ACKNOWLEDGE reaches the agent', async () => {
  const r = await withTask();
  try {
    const uuid = uuidBytes();
    r.a.send(statusUpdate(r, 't1', TaskState.TASK_RUNNING, uuid));
    const update = await r.s.next((e) => e.type === EventType.UPDATE, 'UPDATE');
    assert.is(update.update!.status.state, TaskState.TASK_RUNNING);
    assert.equal([...update.update!.status.uuid!], [...uuid]);
    r.s.send(acknowledge(r, 't1', uuid));
    const ack = await r.a.next((m) => m.ack !== null, 'StatusUpdateAcknowledgement');
    assert.is(ack.ack!.task_id.value, 't1');
    assert.is(ack.ack!.framework_id.value, r.s.frameworkId);
    assert.equal([...ack.ack!.uuid], [...uuid]);
    const fw = await waitForFramework(
      r.t,
      r.s.frameworkId,
      (f) => (f['tasks'] as Array<Record<string, unknown>>)[0]?.['state'] === 'TASK_RUNNING',
    );
    const task = (fw['tasks'] as Array<Record<string, unknown>>)[0]!;
    assert.equal(task['statuses'], [{ state: 'TASK_RUNNING', timestamp: 1_700_000_000.5 }]);
  } finally {
    await cleanup(r.t, r.s, r.a);
  }
});

test('a terminal update frees the task resources; after its ack the task is among the completed ones', async () => {
  const r = await withTask();
  try {
    const uuid = uuidBytes();
    r.a.send(statusUpdate(r, 't1', TaskState.TASK_FINISHED, uuid));
    await r.s.next((e) => e.update?.status.state === TaskState.TASK_FINISHED, 'UPDATE FINISHED');
    const fw = await waitForFramework(r.t, r.s.frameworkId, () => true);
    assert.equal((fw['used_resources'] as Record<string, unknown>)['cpus'], 0);
    r.s.send(acknowledge(r, 't1', uuid));
    await r.a.next((m) => m.ack !== null, 'ack');
    const done = await waitForFramework(r.t, r.s.frameworkId, (f) => (f['tasks'] as unknown[]).length === 0);
    const completed = done['completed_tasks'] as Array<Record<string, unknown>>;
    assert.is(completed.length, 1);
    assert.is(completed[0]!['state'], 'TASK_FINISHED');
  } finally {
    await cleanup(r.t, r.s, r.a);
  }
});

test('while the framework is disconnected updates are neither forwarded nor acknowledged; the retry after re-subscribe is', async () => {
  const r = await withTask();
  let again: SchedulerPeer | undefined;
  try {
    const id = r.s.frameworkId;
    r.s.close();
    await waitForFramework(r.t, id, (f) => f['connected'] === false);
    const uuid = uuidBytes();
    r.a.send(statusUpdate(r, 't1', TaskState.TASK_RUNNING, uuid));
    // The master learns the state even so.
    await waitForFramework(
      r.t,
      id,
      (f) => (f['tasks'] as Array<Record<string, unknown>>)[0]?.['state'] === 'TASK_RUNNING',
    );
    await agentBarrier(r.t, r.a);
    assert.equal(
      r.a.all((m) => m.ack !== null),
      [],
      'no ack for a disconnected framework',
    );

    again = await subscribeScheduler(r.t, { id });
    r.a.send(statusUpdate({ ...r, s: again }, 't1', TaskState.TASK_RUNNING, uuid)); // the agent's retry
    const update = await again.next((e) => e.type === EventType.UPDATE, 'the retried UPDATE');
    assert.equal([...update.update!.status.uuid!], [...uuid]);
    again.send(acknowledge({ ...r, s: again }, 't1', uuid));
    await r.a.next((m) => m.ack !== null, 'ack after re-subscribe');
    const fw = await waitForFramework(r.t, id, () => true);
    const statuses = (fw['tasks'] as Array<Record<string, unknown>>)[0]!['statuses'] as unknown[];
    assert.is(statuses.length, 1, 'a retried update is recorded once');
  } finally {
    await cleanup(r.t, r.s, r.a, again);
  }
});

test('KILL of a known task sends KillTask (with the kill policy) to its agent', async () => {
  const r = await withTask();
  try {
    r.s.send({
      type: CallType.KILL,
      framework_id: { value: r.s.frameworkId },
      kill: { task_id: { value: 't1' }, kill_policy: { grace_period: { nanoseconds: 2_000_000_000 } } },
    });
    const kill = await r.a.next((m) => m.kill_task !== null, 'KillTask');
    assert.is(kill.kill_task!.task_id.value, 't1');
    assert.is(kill.kill_task!.framework_id.value, r.s.frameworkId);
    assert.is(Number(kill.kill_task!.kill_policy?.grace_period?.nanoseconds), 2_000_000_000);
  } finally {
    await cleanup(r.t, r.s, r.a);
  }
});

test('KILL of an unknown task is answered with TASK_LOST (reconciliation, no uuid)', async () => {
  const r = await withTask();
  try {
    r.s.send({
      type: CallType.KILL,
      framework_id: { value: r.s.frameworkId },
      kill: { task_id: { value: 'ghost' }, agent_id: { value: r.a.agentId } },
    });
    const update = await r.s.next((e) => e.update?.status.task_id.value === 'ghost', 'UPDATE for ghost');
    assert.is(update.update!.status.state, TaskState.TASK_LOST);
    assert.is(update.update!.status.reason, TaskStatusReason.REASON_RECONCILIATION);
    assert.is(update.update!.status.uuid, null);
    await agentBarrier(r.t, r.a);
    assert.equal(
      r.a.all((m) => m.kill_task !== null),
      [],
    );
  } finally {
    await cleanup(r.t, r.s, r.a);
  }
});

test('explicit reconciliation: latest state of known tasks, TASK_LOST (TASK_UNKNOWN if partition-aware) for unknown ones', async () => {
  for (const [capabilities, unknownState] of [
    [[], TaskState.TASK_LOST],
    [[agora.v1.FrameworkInfo.Capability.Type.PARTITION_AWARE], TaskState.TASK_UNKNOWN],
  ] as const) {
    const r = await withTask([...capabilities]);
    try {
      r.a.send(statusUpdate(r, 't1', TaskState.TASK_RUNNING, uuidBytes()));
      await r.s.next((e) => e.update?.status.state === TaskState.TASK_RUNNING, 'UPDATE RUNNING');
      r.s.send(
        reconcile(r, [
          { id: 't1', agent: r.a.agentId },
          { id: 'nope', agent: r.a.agentId },
        ]),
      );
      const known = await r.s.next(
        (e) =>
          e.update?.status.task_id.value === 't1' && e.update.status.reason === TaskStatusReason.REASON_RECONCILIATION,
        'reconciled t1',
      );
      assert.is(known.update!.status.state, TaskState.TASK_RUNNING);
      assert.is(known.update!.status.source, TaskStatusSource.SOURCE_MASTER);
      assert.is(known.update!.status.uuid, null);
      assert.is(known.update!.status.agent_id?.value, r.a.agentId);
      const unknown = await r.s.next((e) => e.update?.status.task_id.value === 'nope', 'reconciled nope');
      assert.is(unknown.update!.status.state, unknownState);
      assert.is(unknown.update!.status.reason, TaskStatusReason.REASON_RECONCILIATION);
    } finally {
      await cleanup(r.t, r.s, r.a);
    }
  }
});

test('explicit reconciliation of an unknown task on an unknown agent: no answer while agents may re-register, TASK_LOST after', async () => {
  const r = await withTask();
  try {
    r.s.send(reconcile(r, [{ id: 'elsewhere', agent: 'agent-not-back-yet' }, { id: 'no-agent' }]));
    await schedulerBarrier(r.s, r.a.agentId);
    assert.equal(
      r.s.all((e) => ['elsewhere', 'no-agent'].includes(e.update?.status.task_id.value ?? '')),
      [],
    );
    r.t.clock.advance(600_000); // Mesos' agent_reregister_timeout
    r.s.send(reconcile(r, [{ id: 'elsewhere', agent: 'agent-not-back-yet' }, { id: 'no-agent' }]));
    const a = await r.s.next((e) => e.update?.status.task_id.value === 'elsewhere', 'elsewhere');
    const b = await r.s.next((e) => e.update?.status.task_id.value === 'no-agent', 'no-agent');
    assert.is(a.update!.status.state, TaskState.TASK_LOST);
    assert.is(b.update!.status.state, TaskState.TASK_LOST);
  } finally {
    await cleanup(r.t, r.s, r.a);
  }
});

test('implicit reconciliation (empty list) reports every task of the framework', async () => {
  const r = await withTask();
  try {
    const offer = await nextOffer(r.s, 'second offer');
    r.s.send(launchCall(r.s, [offer.id.value], [taskInfo('t2', r.a.agentId, [scalar('cpus', 1)])], 0));
    await r.a.next((m) => m.run_task?.task.task_id.value === 't2', 'RunTask t2');
    r.a.send(statusUpdate(r, 't1', TaskState.TASK_RUNNING, uuidBytes()));
    await r.s.next((e) => e.update?.status.state === TaskState.TASK_RUNNING, 'UPDATE RUNNING');
    r.s.send(reconcile(r, []));
    const got = new Map<string, TaskState>();
    for (let i = 0; i < 2; i++) {
      const e = await r.s.next((x) => x.update?.status.reason === TaskStatusReason.REASON_RECONCILIATION, 'reconciled');
      got.set(e.update!.status.task_id.value, e.update!.status.state);
    }
    assert.equal([...got.entries()].sort(), [
      ['t1', TaskState.TASK_RUNNING],
      ['t2', TaskState.TASK_STAGING],
    ]);
  } finally {
    await cleanup(r.t, r.s, r.a);
  }
});

test('TEARDOWN removes the framework, closes its connection and tells its agents to shut it down', async () => {
  const r = await withTask();
  try {
    r.s.send({ type: CallType.TEARDOWN, framework_id: { value: r.s.frameworkId } });
    const shutdown = await r.a.next((m) => m.shutdown_framework !== null, 'ShutdownFramework');
    assert.is(shutdown.shutdown_framework!.framework_id.value, r.s.frameworkId);
    await r.s.waitClosed();
    const state = await r.t.getJson('/state');
    assert.equal(state['frameworks'], []);
    const completed = state['completed_frameworks'] as Array<Record<string, unknown>>;
    assert.is(completed[0]!['id'], r.s.frameworkId);
    assert.is((completed[0]!['completed_tasks'] as Array<Record<string, unknown>>)[0]!['state'], 'TASK_KILLED');
    // A late update for the torn-down framework is acknowledged by the master so the agent stops retrying.
    const uuid = uuidBytes();
    r.a.send(statusUpdate(r, 't1', TaskState.TASK_KILLED, uuid));
    const ack = await r.a.next((m) => m.ack !== null, 'ack from the master');
    assert.equal([...ack.ack!.uuid], [...uuid]);
  } finally {
    await cleanup(r.t, r.s, r.a);
  }
});

test.run();
