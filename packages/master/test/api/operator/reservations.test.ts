/**
 * Dynamic reservations on a real master: RESERVE / UNRESERVE in an ACCEPT and
 * the operator's `/reserve` and `/unreserve`. Reserved resources are offered
 * only to their role; invalid requests are refused with a clear error and
 * change nothing.
 */
import { agora } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type AgentPeer,
  CallType,
  agentInfo,
  cleanup,
  connectAgentChannel,
  EventType,
  isOffers,
  nextOffer,
  OperationType,
  registerAgent,
  scalar,
  type SchedulerPeer,
  startMaster,
  subscribeScheduler,
  type TestMaster,
} from '../../support/harness.js';

/** One entry of GET /roles. */
interface RoleJson {
  name: string;
  weight: number;
  frameworks: string[];
  reserved: Record<string, number>;
  offered: Record<string, number>;
  allocated: Record<string, number>;
  quota: { limit: Record<string, number>; guarantee: Record<string, number>; consumed: Record<string, number> };
}

const DYNAMIC = agora.v1.Resource.ReservationInfo.Type.DYNAMIC;

function reserved(name: string, value: number, role: string, principal?: string): agora.v1.Resource.$Properties {
  return {
    name,
    type: agora.v1.Value.Type.SCALAR,
    scalar: { value },
    reservations: [{ type: DYNAMIC, role, ...(principal === undefined ? {} : { principal }) }],
  };
}

function acceptOps(
  s: SchedulerPeer,
  offerId: string,
  operations: agora.v1.Offer.Operation.$Properties[],
): agora.v1.scheduler.Call.$Properties {
  return {
    type: CallType.ACCEPT,
    framework_id: { value: s.frameworkId },
    accept: { offer_ids: [{ value: offerId }], operations, filters: { refuse_seconds: 0 } },
  };
}

function cpusOf(offer: agora.v1.Offer, role: string): number {
  return offer.resources
    .filter((r) => r.name === 'cpus' && (r.role ?? '*') === role)
    .reduce((sum, r) => sum + (r.scalar?.value ?? 0), 0);
}

async function rolesJson(t: TestMaster): Promise<RoleJson[]> {
  return (await t.getJson('/roles'))['roles'] as RoleJson[];
}

async function form(t: TestMaster, path: string, fields: Record<string, string>) {
  const res = await fetch(`${t.master.url}${path}`, {
    method: 'POST',
    body: new URLSearchParams(fields).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  return { status: res.status, text: await res.text() };
}

const AGENT = [scalar('cpus', 4), scalar('mem', 1024)];
const accept = suite('RESERVE and UNRESERVE in ACCEPT');

accept('a framework reserves from its offer; the reservation is offered back to its role only', async () => {
  let t: TestMaster | undefined;
  let agent: AgentPeer | undefined;
  let s: SchedulerPeer | undefined;
  let other: SchedulerPeer | undefined;
  try {
    t = await startMaster();
    agent = await registerAgent(t, { resources: AGENT });
    s = await subscribeScheduler(t, { roles: ['web'] });
    const offer = await nextOffer(s);
    assert.is(cpusOf(offer, '*'), 4);
    s.send(
      acceptOps(s, offer.id.value, [
        { type: OperationType.RESERVE, reserve: { resources: [reserved('cpus', 1, 'web')] } },
      ]),
    );
    const again = await nextOffer(s, 'the offer after RESERVE');
    assert.is(cpusOf(again, 'web'), 1, 'the reserved cpu comes back reserved for web');
    const webCpus = again.resources.find((r) => r.name === 'cpus' && r.role === 'web')!;
    assert.equal(
      webCpus.reservations.map((x) => [x.type, x.role]),
      [[DYNAMIC, 'web']],
    );
    assert.is(cpusOf(again, '*'), 3);
    assert.is((await rolesJson(t)).find((r) => r.name === 'web')!.reserved.cpus, 1);
    // A framework of another role is never offered the reservation: web declines everything for long.
    s.send({
      type: CallType.DECLINE,
      framework_id: { value: s.frameworkId },
      decline: { offer_ids: [{ value: again.id.value }], filters: { refuse_seconds: 3600 } },
    });
    other = await subscribeScheduler(t, { roles: ['batch'] });
    const otherOffer = await nextOffer(other);
    assert.is(cpusOf(otherOffer, 'web'), 0);
    assert.is(cpusOf(otherOffer, '*'), 3);
  } finally {
    await cleanup(t, agent, s, other);
  }
});

accept('invalid RESERVE operations are refused with ERROR and change nothing', async () => {
  let t: TestMaster | undefined;
  let agent: AgentPeer | undefined;
  let s: SchedulerPeer | undefined;
  try {
    t = await startMaster();
    agent = await registerAgent(t, { resources: AGENT });
    s = await subscribeScheduler(t, { roles: ['web'] });
    const cases: Array<[agora.v1.Resource.$Properties, RegExp]> = [
      [reserved('cpus', 1, 'ops'), /not a role of framework/],
      [reserved('cpus', 5, 'web'), /not available unreserved/],
      [reserved('cpus', 1, 'web', 'alice'), /framework has no principal/],
      [scalar('cpus', 1), /names no reservation role/],
    ];
    for (const [resource, message] of cases) {
      const offer = await nextOffer(s);
      s.send(acceptOps(s, offer.id.value, [{ type: OperationType.RESERVE, reserve: { resources: [resource] } }]));
      const error = await s.next((e) => e.type === EventType.ERROR, 'ERROR');
      assert.match(error.error!.message, message);
      assert.is(error.error!.code, 'AGORA_ERR_INVALID_OPERATION');
      const roles = await rolesJson(t);
      assert.is(roles.find((r) => r.name === 'web')?.reserved.cpus ?? 0, 0, `nothing reserved after ${message}`);
    }
    // UNRESERVE of resources that are not dynamically reserved.
    const offer = await nextOffer(s);
    s.send(
      acceptOps(s, offer.id.value, [
        { type: OperationType.UNRESERVE, unreserve: { resources: [reserved('cpus', 1, 'web')] } },
      ]),
    );
    const error = await s.next((e) => e.type === EventType.ERROR, 'ERROR');
    assert.match(error.error!.message, /not dynamically reserved/);
  } finally {
    await cleanup(t, agent, s);
  }
});

accept('UNRESERVE gives reserved resources back to everyone', async () => {
  let t: TestMaster | undefined;
  let agent: AgentPeer | undefined;
  let s: SchedulerPeer | undefined;
  try {
    t = await startMaster();
    agent = await registerAgent(t, { resources: AGENT });
    s = await subscribeScheduler(t, { roles: ['web'] });
    const first = await nextOffer(s);
    s.send(
      acceptOps(s, first.id.value, [
        { type: OperationType.RESERVE, reserve: { resources: [reserved('cpus', 2, 'web')] } },
      ]),
    );
    const second = await nextOffer(s);
    assert.is(cpusOf(second, 'web'), 2);
    s.send(
      acceptOps(s, second.id.value, [
        { type: OperationType.UNRESERVE, unreserve: { resources: [reserved('cpus', 2, 'web')] } },
      ]),
    );
    const third = await nextOffer(s);
    assert.is(cpusOf(third, 'web'), 0);
    assert.is(cpusOf(third, '*'), 4);
  } finally {
    await cleanup(t, agent, s);
  }
});

const operator = suite('operator /reserve and /unreserve');

operator('reserve and unreserve with a form body; bad requests are 400/404/409 and change nothing', async () => {
  let t: TestMaster | undefined;
  let agent: AgentPeer | undefined;
  try {
    t = await startMaster();
    agent = await registerAgent(t, { resources: [...AGENT, scalar('cpus', 1, 'static')] });
    const slaveId = agent.agentId;
    const body = JSON.stringify([
      { name: 'cpus', type: 'SCALAR', scalar: { value: 2 }, role: 'ops', reservation: { principal: 'operator' } },
    ]);
    const bad: Array<[Record<string, string>, number, RegExp]> = [
      [{ resources: body }, 400, /slaveId/],
      [{ slaveId }, 400, /resources/],
      [{ slaveId, resources: '[{' }, 400, /not valid JSON/],
      [{ slaveId, resources: '{}' }, 400, /non-empty JSON list/],
      [
        { slaveId, resources: JSON.stringify([{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 } }]) },
        400,
        /no reservation role/,
      ],
      [{ slaveId: 'no-such-agent', resources: body }, 404, /no agent/],
      [
        { slaveId, resources: JSON.stringify([{ name: 'cpus', type: 'SCALAR', scalar: { value: 9 }, role: 'ops' }]) },
        409,
        /not available/,
      ],
    ];
    for (const [fields, status, message] of bad) {
      const res = await form(t, '/reserve', fields);
      assert.is(res.status, status, `${JSON.stringify(fields)} → ${res.status} ${res.text}`);
      assert.match(res.text, message);
    }
    assert.is(
      (await rolesJson(t)).find((r) => r.name === 'ops'),
      undefined,
      'nothing reserved',
    );

    assert.is((await form(t, '/master/reserve', { slaveId, resources: body })).status, 202);
    assert.is((await rolesJson(t)).find((r) => r.name === 'ops')!.reserved.cpus, 2);
    // A static reservation cannot be unreserved.
    const staticRes = JSON.stringify([{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, role: 'static' }]);
    const refused = await form(t, '/unreserve', { slaveId, resources: staticRes });
    assert.is(refused.status, 409);
    assert.match(refused.text, /not dynamically reserved/);
    assert.is((await form(t, '/unreserve', { slaveId, resources: body })).status, 202);
    assert.is(
      (await rolesJson(t)).find((r) => r.name === 'ops'),
      undefined,
    );
  } finally {
    await cleanup(t, agent);
  }
});

operator('a reservation rescinds outstanding offers that hold the resources', async () => {
  let t: TestMaster | undefined;
  let agent: AgentPeer | undefined;
  let s: SchedulerPeer | undefined;
  try {
    t = await startMaster();
    agent = await registerAgent(t, { resources: AGENT });
    s = await subscribeScheduler(t, { roles: ['web'] });
    const offer = await nextOffer(s);
    const body = JSON.stringify([{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, role: 'ops' }]);
    assert.is((await form(t, '/reserve', { slaveId: agent.agentId, resources: body })).status, 202);
    const rescind = await s.next((e) => e.type === EventType.RESCIND, 'RESCIND');
    assert.is(rescind.rescind!.offer_id.value, offer.id.value);
    const next = await nextOffer(s, 'the new offer');
    assert.is(cpusOf(next, '*'), 3);
    assert.is(cpusOf(next, 'ops'), 0);
  } finally {
    await cleanup(t, agent, s);
  }
});

operator('dynamic reservations are applied again when the agent re-registers', async () => {
  let t: TestMaster | undefined;
  let agent: AgentPeer | undefined;
  let again: AgentPeer | undefined;
  try {
    t = await startMaster();
    agent = await registerAgent(t, { resources: AGENT });
    const body = JSON.stringify([{ name: 'cpus', type: 'SCALAR', scalar: { value: 2 }, role: 'ops' }]);
    assert.is((await form(t, '/reserve', { slaveId: agent.agentId, resources: body })).status, 202);
    // The agent reconnects (same id) and reports its configured, unreserved resources.
    const peer = await connectAgentChannel(t);
    peer.send({
      reregister: {
        agent_info: agentInfo({ resources: AGENT }, agent.agentId),
        tasks: [],
        frameworks: [],
        version: '0.1.0',
      },
    });
    const answer = await peer.next((m) => m.reregistered !== null, 'Reregistered');
    assert.is(answer.reregistered!.agent_id.value, agent.agentId);
    again = Object.assign(peer, { agentId: agent.agentId });
    assert.is((await rolesJson(t)).find((r) => r.name === 'ops')?.reserved.cpus, 2);
    const state = await t.getJson('/state');
    const slave = (state['slaves'] as Array<Record<string, Record<string, number>>>)[0]!;
    assert.is(slave['resources']!['cpus'], 4, 'the total is unchanged');
  } finally {
    await cleanup(t, agent, again);
  }
});

operator('offers describe static and dynamic reservations, with principal and labels', async () => {
  let t: TestMaster | undefined;
  let agent: AgentPeer | undefined;
  let s: SchedulerPeer | undefined;
  try {
    t = await startMaster();
    agent = await registerAgent(t, { resources: [...AGENT, scalar('cpus', 1, 'static'), scalar('mem', 64, 'static')] });
    const body = JSON.stringify([
      {
        name: 'cpus',
        type: 'SCALAR',
        scalar: { value: 2 },
        reservations: [
          { type: 'DYNAMIC', role: 'ops', principal: 'operator', labels: { labels: [{ key: 'team', value: 'x' }] } },
        ],
      },
    ]);
    assert.is((await form(t, '/reserve', { slaveId: agent.agentId, resources: body })).status, 202);
    s = await subscribeScheduler(t, { roles: ['ops', 'static'] });
    const seen = new Map<string, agora.v1.Resource>();
    while (seen.size < 2) {
      const event = await s.next(isOffers, 'offers for ops and static');
      for (const o of event.offers!.offers) {
        for (const r of o.resources) if (r.name === 'cpus' && r.role !== '*') seen.set(r.role!, r);
      }
    }
    const ops = seen.get('ops')!.reservations[0]!;
    assert.is(ops.type, DYNAMIC);
    assert.is(ops.principal, 'operator');
    assert.equal(
      ops.labels?.labels.map((l) => [l.key, l.value]),
      [['team', 'x']],
    );
    assert.is(seen.get('static')!.reservations[0]!.type, agora.v1.Resource.ReservationInfo.Type.STATIC);
  } finally {
    await cleanup(t, agent, s);
  }
});

accept.run();
operator.run();
