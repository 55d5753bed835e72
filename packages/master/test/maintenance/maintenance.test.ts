/**
 * Maintenance end to end on a real master: the schedule is stored, frameworks
 * with tasks on a draining machine get inverse offers and answer them,
 * `/maintenance/status` shows the answers, `/machine/down` removes the agent
 * (refused, tasks TASK_GONE_BY_OPERATOR) and keeps it out until `/machine/up`.
 */
import { agora, TaskState } from '@agora/proto';
import { CLOSE_REFUSED } from '@agora/transport';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type AgentPeer,
  agentInfo,
  CallType,
  cleanup,
  connectAgentChannel,
  EventType,
  launchCall,
  nextOffer,
  registerAgent,
  scalar,
  type SchedulerPeer,
  schedulerBarrier,
  startMaster,
  subscribeScheduler,
  taskInfo,
  type TestMaster,
  waitFor,
} from '../support/harness.js';

const test = suite('maintenance');
const PARTITION_AWARE = agora.v1.FrameworkInfo.Capability.Type.PARTITION_AWARE;

async function post(t: TestMaster, path: string, body: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`${t.master.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

const schedule = (hostname: string) => ({
  windows: [
    {
      machine_ids: [{ hostname }],
      unavailability: {
        start: { nanoseconds: 1_900_000_000_000_000_000 },
        duration: { nanoseconds: 3_600_000_000_000 },
      },
    },
  ],
});

test('draining machines get inverse offers; down removes the agent until up', async () => {
  let t: TestMaster | undefined;
  let s: SchedulerPeer | undefined;
  let agent: AgentPeer | undefined;
  let again: AgentPeer | undefined;
  try {
    t = await startMaster();
    s = await subscribeScheduler(t, { capabilities: [PARTITION_AWARE] });
    agent = await registerAgent(t, { hostname: 'node-1.test' });
    const offer = await nextOffer(s);
    s.send(
      launchCall(s, [offer.id.value], [taskInfo('t1', agent.agentId, [scalar('cpus', 1), scalar('mem', 64)])], 3600),
    );
    await agent.next((m) => m.run_task !== null, 'RunTask');

    assert.is((await post(t, '/maintenance/schedule', schedule('NODE-1.test'))).status, 200);
    assert.equal(await t.getJson('/maintenance/schedule'), schedule('node-1.test'));

    const inverse = await s.next((e) => e.type === EventType.INVERSE_OFFERS, 'INVERSE_OFFERS');
    const io = inverse.inverse_offers!.inverse_offers[0]!;
    assert.is(io.agent_id.value, agent.agentId);
    assert.is(io.framework_id.value, s.frameworkId);
    assert.is(Number(io.unavailability.start.nanoseconds), 1_900_000_000_000_000_000);

    let status = (await t.getJson('/maintenance/status')) as {
      draining_machines: Array<{ id: unknown; statuses: Array<{ status: string; agent_id: { value: string } }> }>;
      down_machines: unknown[];
    };
    assert.equal(status.draining_machines[0]!.id, { hostname: 'node-1.test' });
    assert.is(status.draining_machines[0]!.statuses[0]!.status, 'UNKNOWN');

    s.send({
      type: CallType.DECLINE_INVERSE_OFFERS,
      framework_id: { value: s.frameworkId },
      decline_inverse_offers: { inverse_offer_ids: [io.id], filters: { refuse_seconds: 10 } },
    });
    const tm = t;
    await waitFor(
      async () => {
        status = (await tm.getJson('/maintenance/status')) as typeof status;
        return status.draining_machines[0]!.statuses[0]!.status === 'DECLINE' ? true : undefined;
      },
      { message: 'the DECLINE in /maintenance/status' },
    );
    // Once the decline's filter expires the inverse offer is made again (a new id); the status stays DECLINE.
    t.clock.advance(9_000);
    await schedulerBarrier(s, agent.agentId);
    assert.is(s.all((e) => e.type === EventType.INVERSE_OFFERS).length, 1, 'not within the filter');
    t.clock.advance(2_000);
    const again1 = await s.next((e) => e.type === EventType.INVERSE_OFFERS, 'the inverse offer again');
    assert.is.not(again1.inverse_offers!.inverse_offers[0]!.id.value, io.id.value);
    status = (await t.getJson('/maintenance/status')) as typeof status;
    assert.is(status.draining_machines[0]!.statuses[0]!.status, 'DECLINE');

    // Down: only draining machines; the agent is refused and its task is gone.
    assert.is((await post(t, '/machine/down', [{ hostname: 'other.test' }])).status, 400);
    assert.is((await post(t, '/machine/down', [{ hostname: 'node-1.test' }])).status, 200);
    const refused = await agent.next((m) => m.refused !== null, 'Refused');
    assert.match(refused.refused!.message, /maintenance/);
    assert.is((await agent.waitClosed()).code, CLOSE_REFUSED);
    const gone = await s.next((e) => e.update?.status.task_id.value === 't1', 'task update');
    assert.is(gone.update!.status.state, TaskState.TASK_GONE_BY_OPERATOR);
    status = (await t.getJson('/maintenance/status')) as typeof status;
    assert.equal(status.down_machines, [{ hostname: 'node-1.test' }]);
    assert.equal(status.draining_machines, []);

    // A DOWN machine cannot leave the schedule, and its agents cannot register.
    const dropped = await post(t, '/maintenance/schedule', { windows: [] });
    assert.is(dropped.status, 400);
    assert.match(dropped.text, /DOWN/);
    const refusedPeer = await connectAgentChannel(tm);
    refusedPeer.send({ register: { agent_info: agentInfo({ hostname: 'node-1.test' }) } });
    try {
      await refusedPeer.next((m) => m.refused !== null, 'Refused registration on a DOWN machine');
    } finally {
      refusedPeer.close();
    }

    // Up: the machine leaves the schedule and its agents may register again.
    assert.is((await post(t, '/machine/up', [{ hostname: 'other.test' }])).status, 400);
    assert.is((await post(t, '/machine/up', [{ hostname: 'node-1.test' }])).status, 200);
    assert.equal(await t.getJson('/maintenance/schedule'), { windows: [] });
    again = await registerAgent(t, { hostname: 'node-1.test' });
    assert.ok(again.agentId);
  } finally {
    await cleanup(t, s, agent, again);
  }
});

test('bad maintenance requests are answered 400 and change nothing', async () => {
  const t = await startMaster();
  try {
    assert.is((await post(t, '/maintenance/schedule', 'nope')).status, 400);
    assert.is((await post(t, '/maintenance/schedule', { windows: [{ machine_ids: [] }] })).status, 400);
    assert.is((await post(t, '/machine/down', {})).status, 400);
    assert.is((await post(t, '/machine/up', [])).status, 400);
    assert.equal(await t.getJson('/maintenance/schedule'), { windows: [] });
    assert.equal(await t.getJson('/maintenance/status'), { draining_machines: [], down_machines: [] });
  } finally {
    await t.close();
  }
});

test.run();
