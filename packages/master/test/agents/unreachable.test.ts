/**
 * Agent lifecycle: an agent that stops answering pings becomes unreachable
 * (registry first), its tasks go TASK_UNREACHABLE to partition-aware
 * frameworks and TASK_LOST to others (master-made: no uuid); when it comes
 * back it re-registers, partition-aware tasks are kept and the other
 * frameworks are shut down on it. MARK_AGENT_GONE is permanent: the agent is
 * refused from then on. Reconciliation answers as Mesos does.
 */
import { agora, TaskState, TaskStatusReason, TaskStatusSource } from '@agora/proto';
import { CLOSE_REFUSED } from '@agora/transport';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type AgentPeer,
  agentBarrier,
  agentInfo,
  CallType,
  cleanup,
  connectAgentChannel,
  launchCall,
  nextOffer,
  PING_MS,
  registerAgent,
  scalar,
  type SchedulerPeer,
  startMaster,
  subscribeScheduler,
  taskInfo,
  type TestMaster,
  waitFor,
  waitForFramework,
} from '../support/harness.js';

const test = suite('agent unreachable, return and gone');
const PARTITION_AWARE = agora.v1.FrameworkInfo.Capability.Type.PARTITION_AWARE;
const MAX_PINGS = 3;

interface Setup {
  t: TestMaster;
  aware: SchedulerPeer;
  plain: SchedulerPeer;
  agent: AgentPeer;
}

/** A partition-aware framework with task `t-aware` and another with `t-plain`, both on one agent. */
async function setup(): Promise<Setup> {
  const t = await startMaster({ maxAgentPingTimeouts: MAX_PINGS });
  const aware = await subscribeScheduler(t, { name: 'aware', capabilities: [PARTITION_AWARE] });
  const plain = await subscribeScheduler(t, { name: 'plain' });
  const agent = await registerAgent(t);
  for (const [s, id] of [
    [aware, 't-aware'],
    [plain, 't-plain'],
  ] as const) {
    const offer = await nextOffer(s, `an offer for ${id}`);
    s.send(
      launchCall(s, [offer.id.value], [taskInfo(id, agent.agentId, [scalar('cpus', 1), scalar('mem', 64)])], 3600),
    );
    await agent.next((m) => m.run_task?.task.task_id.value === id, `RunTask ${id}`);
  }
  return { t, aware, plain, agent };
}

/** The agent goes silent (its connection drops) and the master counts the missed pongs to the limit. */
async function partition(r: Setup): Promise<void> {
  r.agent.close();
  await waitFor(
    async () => {
      const s = await r.t.getJson('/state');
      return (s['slaves'] as Array<Record<string, unknown>>)[0]?.['connected'] === false;
    },
    { message: 'agent disconnected' },
  );
  for (let i = 0; i <= MAX_PINGS; i++) r.t.clock.advance(PING_MS);
}

function reregisterMessage(r: Setup, tasks: Array<[SchedulerPeer, string]>) {
  return {
    reregister: {
      agent_info: agentInfo({}, r.agent.agentId),
      tasks: tasks.map(([s, id]) => ({
        name: id,
        task_id: { value: id },
        framework_id: { value: s.frameworkId },
        agent_id: { value: r.agent.agentId },
        state: TaskState.TASK_RUNNING,
        resources: [scalar('cpus', 1), scalar('mem', 64)],
      })),
      frameworks: [
        {
          framework_info: {
            user: 'tester',
            name: 'aware',
            id: { value: r.aware.frameworkId },
            capabilities: [{ type: PARTITION_AWARE }],
          },
        },
        { framework_info: { user: 'tester', name: 'plain', id: { value: r.plain.frameworkId } } },
      ],
    },
  };
}

test('a silent agent becomes unreachable: TASK_UNREACHABLE to partition-aware frameworks, TASK_LOST to others', async () => {
  const r = await setup();
  try {
    await partition(r);
    const unreachable = await r.aware.next((e) => e.update?.status.task_id.value === 't-aware', 'aware update');
    const lost = await r.plain.next((e) => e.update?.status.task_id.value === 't-plain', 'plain update');
    const u = unreachable.update!.status;
    const l = lost.update!.status;
    assert.is(u.state, TaskState.TASK_UNREACHABLE);
    assert.is(l.state, TaskState.TASK_LOST);
    for (const s of [u, l]) {
      assert.is(s.source, TaskStatusSource.SOURCE_MASTER);
      assert.is(s.reason, TaskStatusReason.REASON_AGENT_REMOVED);
      assert.ok(s.uuid === null || s.uuid.length === 0, 'master-made updates carry no uuid');
    }
    assert.ok(u.unreachable_time, 'unreachable_time is set');
    const state = await r.t.getJson('/state');
    assert.equal(state['slaves'], []);
    assert.is(state['unreachable_slaves'], 1);

    // Reconciliation: explicit and implicit answer TASK_UNREACHABLE for the partition-aware framework.
    r.aware.send({
      type: CallType.RECONCILE,
      framework_id: { value: r.aware.frameworkId },
      reconcile: { tasks: [{ task_id: { value: 't-aware' } }] },
    });
    const explicit = await r.aware.next(
      (e) => e.update?.status.reason === TaskStatusReason.REASON_RECONCILIATION,
      'explicit',
    );
    assert.is(explicit.update!.status.state, TaskState.TASK_UNREACHABLE);
    r.aware.send({ type: CallType.RECONCILE, framework_id: { value: r.aware.frameworkId }, reconcile: { tasks: [] } });
    const implicit = await r.aware.next(
      (e) => e.update?.status.reason === TaskStatusReason.REASON_RECONCILIATION,
      'implicit',
    );
    assert.is(implicit.update!.status.state, TaskState.TASK_UNREACHABLE);
    // A task named on the unreachable agent that the master never knew: TASK_UNREACHABLE too.
    r.aware.send({
      type: CallType.RECONCILE,
      framework_id: { value: r.aware.frameworkId },
      reconcile: { tasks: [{ task_id: { value: 'other' }, agent_id: { value: r.agent.agentId } }] },
    });
    const other = await r.aware.next((e) => e.update?.status.task_id.value === 'other', 'other');
    assert.is(other.update!.status.state, TaskState.TASK_UNREACHABLE);
  } finally {
    await cleanup(r.t, r.aware, r.plain, r.agent);
  }
});

test('an unreachable agent that comes back keeps partition-aware tasks; other frameworks are shut down on it', async () => {
  const r = await setup();
  let back: Awaited<ReturnType<typeof connectAgentChannel>> | undefined;
  try {
    await partition(r);
    await r.aware.next((e) => e.update?.status.state === TaskState.TASK_UNREACHABLE, 'TASK_UNREACHABLE');
    back = await connectAgentChannel(r.t);
    back.send(
      reregisterMessage(r, [
        [r.aware, 't-aware'],
        [r.plain, 't-plain'],
      ]),
    );
    await back.next((m) => m.reregistered !== null, 'Reregistered');
    const shutdown = await back.next((m) => m.shutdown_framework !== null, 'ShutdownFramework');
    assert.is(shutdown.shutdown_framework!.framework_id.value, r.plain.frameworkId);
    assert.is(
      back.all((m) => m.shutdown_framework !== null).length,
      1,
      'only the framework that is not partition-aware',
    );
    const fw = await waitForFramework(r.t, r.aware.frameworkId, (f) => (f['tasks'] as unknown[]).length === 1);
    assert.is((fw['tasks'] as Array<Record<string, unknown>>)[0]!['state'], 'TASK_RUNNING');
    const state = await r.t.getJson('/state');
    assert.is(state['unreachable_slaves'], 0);
    assert.is((state['slaves'] as unknown[]).length, 1);
    // Reconciliation now answers the latest state.
    r.aware.send({
      type: CallType.RECONCILE,
      framework_id: { value: r.aware.frameworkId },
      reconcile: { tasks: [{ task_id: { value: 't-aware' } }] },
    });
    const answer = await r.aware.next(
      (e) => e.update?.status.reason === TaskStatusReason.REASON_RECONCILIATION,
      'reconcile',
    );
    assert.is(answer.update!.status.state, TaskState.TASK_RUNNING);
  } finally {
    back?.close();
    await cleanup(r.t, r.aware, r.plain, r.agent);
  }
});

async function operatorCall(t: TestMaster, body: unknown, type = 'application/json'): Promise<Response> {
  return fetch(`${t.master.url}/api/v1`, {
    method: 'POST',
    headers: { 'Content-Type': type },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

test('MARK_AGENT_GONE refuses the agent for good; its tasks go TASK_GONE_BY_OPERATOR (TASK_LOST)', async () => {
  const r = await setup();
  let again: Awaited<ReturnType<typeof connectAgentChannel>> | undefined;
  try {
    const res = await operatorCall(r.t, {
      type: 'MARK_AGENT_GONE',
      mark_agent_gone: { agent_id: { value: r.agent.agentId } },
    });
    assert.is(res.status, 200);
    const refused = await r.agent.next((m) => m.refused !== null, 'Refused');
    assert.is(refused.refused!.code, 'AGORA_ERR_AGENT_REFUSED');
    assert.is((await r.agent.waitClosed()).code, CLOSE_REFUSED);
    const gone = await r.aware.next((e) => e.update?.status.task_id.value === 't-aware', 'aware update');
    assert.is(gone.update!.status.state, TaskState.TASK_GONE_BY_OPERATOR);
    assert.is(gone.update!.status.reason, TaskStatusReason.REASON_AGENT_REMOVED_BY_OPERATOR);
    const lost = await r.plain.next((e) => e.update?.status.task_id.value === 't-plain', 'plain update');
    assert.is(lost.update!.status.state, TaskState.TASK_LOST);

    again = await connectAgentChannel(r.t);
    again.send(reregisterMessage(r, [[r.aware, 't-aware']]));
    const refusedAgain = await again.next((m) => m.refused !== null, 'Refused on re-registration');
    assert.is(refusedAgain.refused!.code, 'AGORA_ERR_AGENT_REFUSED');
    assert.is((await again.waitClosed()).code, CLOSE_REFUSED);

    r.aware.send({
      type: CallType.RECONCILE,
      framework_id: { value: r.aware.frameworkId },
      reconcile: { tasks: [{ task_id: { value: 'x' }, agent_id: { value: r.agent.agentId } }] },
    });
    const answer = await r.aware.next((e) => e.update?.status.task_id.value === 'x', 'reconcile');
    assert.is(answer.update!.status.state, TaskState.TASK_GONE);

    const twice = await operatorCall(r.t, {
      type: 'MARK_AGENT_GONE',
      mark_agent_gone: { agent_id: { value: r.agent.agentId } },
    });
    assert.is(twice.status, 200, 'marking gone again is a no-op');
  } finally {
    again?.close();
    await cleanup(r.t, r.aware, r.plain, r.agent);
  }
});

test('bad operator calls are answered 400/404/415 and change nothing', async () => {
  const t = await startMaster();
  let agent: AgentPeer | undefined;
  try {
    agent = await registerAgent(t);
    assert.is((await operatorCall(t, 'not json')).status, 400);
    assert.is((await operatorCall(t, { type: 'MARK_AGENT_GONE' })).status, 400);
    assert.is(
      (await operatorCall(t, { type: 'MARK_AGENT_GONE', mark_agent_gone: { agent_id: { value: 'nope' } } })).status,
      404,
    );
    assert.is((await operatorCall(t, { type: 'GET_NOTHING' })).status, 400);
    assert.is((await operatorCall(t, { type: 'TEARDOWN', teardown: { framework_id: { value: 'nope' } } })).status, 404);
    assert.is((await operatorCall(t, { type: 'MARK_AGENT_GONE' }, 'application/x-protobuf')).status, 415);
    await agentBarrier(t, agent);
    assert.is(agent.closed, undefined);
    assert.is(((await t.getJson('/state'))['slaves'] as unknown[]).length, 1);
    const huge = await fetch(`${t.master.url}/teardown`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `frameworkId=${'x'.repeat(2 << 20)}`,
    });
    assert.is(huge.status, 400, 'a body over 1 MiB is a 400, not a 500');
  } finally {
    await cleanup(t, agent);
  }
});

test('an agent re-registering with changed resources is re-admitted with them', async () => {
  const t = await startMaster();
  let agent: AgentPeer | undefined;
  let again: Awaited<ReturnType<typeof connectAgentChannel>> | undefined;
  try {
    agent = await registerAgent(t);
    agent.close();
    again = await connectAgentChannel(t);
    again.send({
      reregister: {
        agent_info: agentInfo({ resources: [scalar('cpus', 8), scalar('mem', 1024)] }, agent.agentId),
        tasks: [],
        frameworks: [],
      },
    });
    await again.next((m) => m.reregistered !== null, 'Reregistered');
    const slave = ((await t.getJson('/state'))['slaves'] as Array<Record<string, unknown>>)[0]!;
    assert.is((slave['resources'] as Record<string, number>)['cpus'], 8);
    assert.is(slave['id'], agent.agentId);
    const s = await subscribeScheduler(t);
    try {
      const offer = await nextOffer(s);
      const cpus = offer.resources.find((x) => x.name === 'cpus');
      assert.is(cpus?.scalar?.value, 8);
    } finally {
      s.close();
    }
  } finally {
    again?.close();
    await cleanup(t, agent);
  }
});

test.run();
