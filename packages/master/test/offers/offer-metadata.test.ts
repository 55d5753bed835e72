/**
 * What an offer says about its agent besides resources (Mesos): `domain` when the agent reports a fault
 * domain (AgentInfo.domain), and `unavailability` while the agent's machine is scheduled for maintenance
 * (DRAINING) — every offer from it carries the window; a schedule change rescinds the outstanding offers so
 * the new ones tell the new window. The agent JSON of /state and /slaves shows `domain` as Mesos does.
 */
import { agora } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type AgentPeer,
  CallType,
  cleanup,
  EventType,
  nextOffer,
  registerAgent,
  type SchedulerPeer,
  startMaster,
  subscribeScheduler,
  type TestMaster,
} from '../support/harness.js';

const test = suite('offer domain and unavailability');

async function post(t: TestMaster, path: string, body: unknown): Promise<number> {
  const res = await fetch(`${t.master.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  await res.text();
  return res.status;
}

const START_NS = 1_900_000_000_000_000_000;
const DURATION_NS = 3_600_000_000_000;
const schedule = (hostname: string) => ({
  windows: [
    {
      machine_ids: [{ hostname }],
      unavailability: { start: { nanoseconds: START_NS }, duration: { nanoseconds: DURATION_NS } },
    },
  ],
});

function decline(s: SchedulerPeer, offerIds: string[]): void {
  s.send({
    type: CallType.DECLINE,
    framework_id: { value: s.frameworkId },
    decline: { offer_ids: offerIds.map((value) => ({ value })), filters: { refuse_seconds: 0 } },
  });
}

test('offers from an agent with a fault domain carry it; /state and /slaves show it', async () => {
  let t: TestMaster | undefined;
  let s: SchedulerPeer | undefined;
  let a: AgentPeer | undefined;
  let b: AgentPeer | undefined;
  try {
    t = await startMaster();
    s = await subscribeScheduler(t);
    a = await registerAgent(t, { hostname: 'a.test', domain: { region: 'eu-west', zone: 'eu-west-1a' } });
    b = await registerAgent(t, { hostname: 'b.test' });
    const offers = [await nextOffer(s), await nextOffer(s)];
    const fromA = offers.find((o) => o.agent_id.value === a!.agentId)!;
    const fromB = offers.find((o) => o.agent_id.value === b!.agentId)!;
    assert.is(fromA.domain?.fault_domain?.region.name, 'eu-west');
    assert.is(fromA.domain?.fault_domain?.zone.name, 'eu-west-1a');
    assert.is(fromB.domain, null);
    // Mesos' v1 JSON mapping of the offer (field names as in mesos.proto).
    const json = agora.v1.Offer.toObject(fromA, { longs: Number }) as Record<string, unknown>;
    assert.equal(json['domain'], { fault_domain: { region: { name: 'eu-west' }, zone: { name: 'eu-west-1a' } } });
    assert.is(json['unavailability'], undefined);

    const domain = { fault_domain: { region: { name: 'eu-west' }, zone: { name: 'eu-west-1a' } } };
    const slaves = (await t.getJson('/slaves')) as { slaves: Array<Record<string, unknown>> };
    assert.equal(slaves.slaves.find((x) => x['id'] === a!.agentId)?.['domain'], domain);
    assert.is(slaves.slaves.find((x) => x['id'] === b!.agentId)?.['domain'], undefined, 'no domain when none reported');
    const state = (await t.getJson('/state')) as { slaves: Array<Record<string, unknown>> };
    assert.equal(state.slaves.find((x) => x['id'] === a!.agentId)?.['domain'], domain);
  } finally {
    await cleanup(t, s, a, b);
  }
});

test('a DRAINING machine: its offers are rescinded and made again with the window; machine up removes it', async () => {
  let t: TestMaster | undefined;
  let s: SchedulerPeer | undefined;
  let a: AgentPeer | undefined;
  let b: AgentPeer | undefined;
  try {
    t = await startMaster();
    s = await subscribeScheduler(t);
    a = await registerAgent(t, { hostname: 'node-a.test' });
    b = await registerAgent(t, { hostname: 'node-b.test' });
    const first = [await nextOffer(s), await nextOffer(s)];
    const firstFromA = first.find((o) => o.agent_id.value === a!.agentId)!;
    for (const o of first) assert.is(o.unavailability, null);

    assert.is(await post(t, '/maintenance/schedule', schedule('node-a.test')), 200);
    // The outstanding offer from the draining agent is rescinded; the new one tells the window.
    const rescind = await s.next((e) => e.type === EventType.RESCIND, 'RESCIND');
    assert.is(rescind.rescind!.offer_id.value, firstFromA.id.value);
    const again = await nextOffer(s, 'the offer made again');
    assert.is(again.agent_id.value, a.agentId);
    assert.is(Number(again.unavailability?.start.nanoseconds), START_NS);
    assert.is(Number(again.unavailability?.duration?.nanoseconds), DURATION_NS);
    const json = agora.v1.Offer.toObject(again, { longs: Number }) as Record<string, unknown>;
    assert.equal(json['unavailability'], {
      start: { nanoseconds: START_NS },
      duration: { nanoseconds: DURATION_NS },
    });
    // The other agent's offer was left alone.
    assert.is(s.all((e) => e.type === EventType.RESCIND).length, 1);

    // Every later offer from it carries the window too.
    decline(s, [again.id.value]);
    const later = await nextOffer(s, 'a later offer');
    assert.is(later.agent_id.value, a.agentId);
    assert.is(Number(later.unavailability?.start.nanoseconds), START_NS);

    // Machine up: out of the schedule; the offer is rescinded and made again without a window.
    assert.is(await post(t, '/machine/down', [{ hostname: 'node-a.test' }]), 200);
    await a.waitClosed();
    assert.is(await post(t, '/machine/up', [{ hostname: 'node-a.test' }]), 200);
    a.close();
    a = await registerAgent(t, { hostname: 'node-a.test' });
    const afterUp = await nextOffer(s, 'an offer after machine up');
    assert.is(afterUp.agent_id.value, a.agentId);
    assert.is(afterUp.unavailability, null);
  } finally {
    await cleanup(t, s, a, b);
  }
});

test.run();
