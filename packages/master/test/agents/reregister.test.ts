/**
 * Agent re-registration: after a master failover the new leader learns agents,
 * their tasks and frameworks from Reregister, keeps the tasks of frameworks that
 * have not re-subscribed yet, and reports no task lost; after a reconnect to
 * the same master, tasks the agent no longer has are reported and pending kills
 * are delivered.
 */
import { uuidBytes } from '@agora/common';
import { type agora, TaskState, TaskStatusReason } from '@agora/proto';
import { CLOSE_REFUSED } from '@agora/transport';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type AgentPeer,
  agentInfo,
  CallType,
  cleanup,
  connectAgentChannel,
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
  waitFor,
  waitForFramework,
} from '../support/harness.js';

const test = suite('agent re-registration');

type Task = agora.v1.Task.$Properties;

function runningTask(frameworkId: string, agentId: string, id: string): Task {
  return {
    name: id,
    task_id: { value: id },
    framework_id: { value: frameworkId },
    agent_id: { value: agentId },
    state: TaskState.TASK_RUNNING,
    resources: [scalar('cpus', 1), scalar('mem', 128)],
    statuses: [{ task_id: { value: id }, state: TaskState.TASK_RUNNING, timestamp: 1_700_000_000 }],
  };
}

async function reregister(
  t: TestMaster,
  agentId: string,
  tasks: Task[],
  frameworks: agora.v1.FrameworkInfo.$Properties[],
) {
  const peer = await connectAgentChannel(t);
  peer.send({
    reregister: {
      agent_info: agentInfo({}, agentId),
      tasks,
      frameworks: frameworks.map((framework_info) => ({ framework_info })),
      version: '0.1.0',
    },
  });
  const answer = await peer.next((m) => m.reregistered !== null || m.refused !== null, 'Reregistered');
  return { peer: Object.assign(peer, { agentId }), answer };
}

test('after a master failover the new leader learns agent, tasks and framework from Reregister; nothing is lost', async () => {
  let first: TestMaster | undefined;
  let second: TestMaster | undefined;
  let s1: SchedulerPeer | undefined;
  let s2: SchedulerPeer | undefined;
  let a1: AgentPeer | undefined;
  let a2: AgentPeer | undefined;
  try {
    // A task runs under the first master.
    first = await startMaster();
    s1 = await subscribeScheduler(first, { name: 'marathon' });
    a1 = await registerAgent(first);
    const offer = await nextOffer(s1);
    s1.send(launchCall(s1, [offer.id.value], [taskInfo('app.1', a1.agentId, [scalar('cpus', 1), scalar('mem', 128)])]));
    await a1.next((m) => m.run_task !== null, 'RunTask');
    const frameworkId = s1.frameworkId;
    const agentId = a1.agentId;
    await first.close();
    first = undefined;

    // A new master: the agent comes back first, the framework later.
    second = await startMaster();
    const framework = { user: 'tester', name: 'marathon', id: { value: frameworkId } };
    const rr = await reregister(second, agentId, [runningTask(frameworkId, agentId, 'app.1')], [framework]);
    a2 = rr.peer;
    assert.is(rr.answer.reregistered?.agent_id.value, agentId);
    assert.is(rr.answer.reregistered?.master_info?.id, second.master.info.id);

    let state = await second.getJson('/state');
    const slaves = state['slaves'] as Array<Record<string, unknown>>;
    assert.is(slaves[0]!['id'], agentId);
    assert.equal((slaves[0]!['used_resources'] as Record<string, unknown>)['cpus'], 1);
    const fw = (state['frameworks'] as Array<Record<string, unknown>>)[0]!;
    assert.is(fw['id'], frameworkId);
    assert.is(fw['connected'], false);
    assert.is(fw['active'], false);
    assert.is(fw['recovered'], true);
    assert.equal(state['unregistered_frameworks'], [frameworkId]);
    assert.equal(
      (fw['tasks'] as Array<Record<string, unknown>>).map((x) => [x['id'], x['state']]),
      [['app.1', 'TASK_RUNNING']],
    );

    // The framework re-subscribes with its id; reconciliation says RUNNING; offers exclude the task's resources.
    s2 = await subscribeScheduler(second, { id: frameworkId, name: 'marathon' });
    assert.is(s2.frameworkId, frameworkId);
    s2.send({ type: CallType.RECONCILE, framework_id: { value: frameworkId }, reconcile: { tasks: [] } });
    const reconciled = await s2.next((e) => e.update?.status.task_id.value === 'app.1', 'reconciled app.1');
    assert.is(reconciled.update!.status.state, TaskState.TASK_RUNNING);
    const next = await nextOffer(s2, 'offer on the new leader');
    assert.is(next.resources.find((r) => r.name === 'cpus')?.scalar?.value, 3);
    await schedulerBarrier(s2, agentId);
    const lost = s2.all(
      (e) =>
        e.update?.status.task_id.value === 'app.1' &&
        [TaskState.TASK_LOST, TaskState.TASK_DROPPED].includes(e.update.status.state),
    );
    assert.equal(lost, [], 'no task is reported lost because of the failover');
    state = await second.getJson('/state');
    assert.equal(state['unregistered_frameworks'], []);
  } finally {
    await cleanup(first, s1, a1);
    await cleanup(second, s2, a2);
  }
});

test('updates for a recovered framework that has not re-subscribed are kept and not acknowledged', async () => {
  let t: TestMaster | undefined;
  let a: AgentPeer | undefined;
  try {
    t = await startMaster();
    const fwId = 'old-master-0001';
    const rr = await reregister(
      t,
      'old-master-S3',
      [runningTask(fwId, 'old-master-S3', 'job.1')],
      [{ user: 'u', name: 'chronos', id: { value: fwId } }],
    );
    a = rr.peer;
    a.send({
      status_update: {
        framework_id: { value: fwId },
        status: { task_id: { value: 'job.1' }, state: TaskState.TASK_FINISHED, uuid: uuidBytes() },
      },
    });
    const tm = t;
    const fw = await waitForFramework(
      tm,
      fwId,
      (f) => (f['tasks'] as Array<Record<string, unknown>>)[0]?.['state'] === 'TASK_FINISHED',
    );
    assert.is(fw['connected'], false);
    assert.equal(
      a.all((m) => m.ack !== null),
      [],
    );
  } finally {
    await cleanup(t, a);
  }
});

test('on reconnect to the same master, a launched task the agent does not report is TASK_LOST; pending kills are sent', async () => {
  let t: TestMaster | undefined;
  let s: SchedulerPeer | undefined;
  let a: AgentPeer | undefined;
  let back: AgentPeer | undefined;
  try {
    t = await startMaster();
    s = await subscribeScheduler(t);
    a = await registerAgent(t);
    const offer = await nextOffer(s);
    s.send(
      launchCall(
        s,
        [offer.id.value],
        [taskInfo('kept', a.agentId, [scalar('cpus', 1)]), taskInfo('vanished', a.agentId, [scalar('cpus', 1)])],
      ),
    );
    await a.next((m) => m.run_task?.task.task_id.value === 'vanished', 'RunTask');
    a.close();
    const tm = t;
    await waitFor(
      async () => ((await tm.getJson('/state'))['slaves'] as Array<Record<string, unknown>>)[0]!['connected'] === false,
      {
        message: 'agent disconnected',
      },
    );
    // A kill while the agent is away is delivered when it is back.
    s.send({ type: CallType.KILL, framework_id: { value: s.frameworkId }, kill: { task_id: { value: 'kept' } } });
    await schedulerBarrier(s, a.agentId);
    const kept = {
      ...runningTask(s.frameworkId, a.agentId, 'kept'),
      resources: [scalar('cpus', 1)],
    };
    const rr = await reregister(
      t,
      a.agentId,
      [kept],
      [{ user: 'tester', name: 'test-framework', id: { value: s.frameworkId } }],
    );
    back = rr.peer;
    const kill = await back.next((m) => m.kill_task !== null, 'the pending KillTask');
    assert.is(kill.kill_task!.task_id.value, 'kept');
    const lost = await s.next((e) => e.update?.status.task_id.value === 'vanished', 'UPDATE for vanished');
    assert.is(lost.update!.status.state, TaskState.TASK_LOST);
    assert.is(lost.update!.status.reason, TaskStatusReason.REASON_TASK_UNKNOWN);
    assert.is(lost.update!.status.uuid, null);
    assert.equal(
      s.all((e) => e.update?.status.task_id.value === 'kept'),
      [],
    );
  } finally {
    await cleanup(t, s, a, back);
  }
});

test('a Reregister with a task of invalid resources is refused and changes nothing', async () => {
  let t: TestMaster | undefined;
  try {
    t = await startMaster();
    const bad = { ...runningTask('f-1', 'a-1', 'x'), resources: [scalar('cpus', -3)] };
    const { peer, answer } = await reregister(t, 'a-1', [bad], [{ user: 'u', name: 'n', id: { value: 'f-1' } }]);
    assert.is(answer.refused?.code, 'AGORA_ERR_BAD_RESOURCES');
    assert.is((await peer.waitClosed()).code, CLOSE_REFUSED);
    const state = await t.getJson('/state');
    assert.equal(state['slaves'], []);
    assert.equal(state['frameworks'], []);
  } finally {
    await cleanup(t);
  }
});

test.run();
