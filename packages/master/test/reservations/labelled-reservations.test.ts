/**
 * Several dynamic reservations for one role on one agent, told apart by their
 * labels (as Marathon's resident instances label theirs), on a real master:
 * an offer lists each with its own principal and labels, an UNRESERVE names
 * exactly one and leaves the others, and a LAUNCH consumes the one it names.
 * A role-only resource is not a labelled one: naming it is refused.
 */
import { agora, TaskState } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type AgentPeer,
  CallType,
  cleanup,
  EventType,
  nextOffer,
  OperationType,
  registerAgent,
  type SchedulerPeer,
  scalar,
  startMaster,
  subscribeScheduler,
  type TestMaster,
  taskInfo,
} from '../support/harness.js';

const test = suite('labelled dynamic reservations are distinct resources');
const DYNAMIC = agora.v1.Resource.ReservationInfo.Type.DYNAMIC;

function labelled(name: string, value: number, id?: string): agora.v1.Resource.$Properties {
  return {
    name,
    type: agora.v1.Value.Type.SCALAR,
    scalar: { value },
    reservations: [
      { type: DYNAMIC, role: 'r', ...(id === undefined ? {} : { labels: { labels: [{ key: 'id', value: id }] } }) },
    ],
  };
}

/** The reserved cpus of an offer: `label id (principal) → amount`. */
function reservedCpus(offer: agora.v1.Offer): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of offer.resources) {
    if (r.name !== 'cpus' || r.role !== 'r') continue;
    const last = r.reservations[r.reservations.length - 1];
    const id = last?.labels?.labels.find((l) => l.key === 'id')?.value ?? '-';
    out[`${id} (${last?.principal ?? ''})`] = r.scalar!.value;
  }
  return out;
}

function accept(s: SchedulerPeer, offerId: string, operations: agora.v1.Offer.Operation.$Properties[]) {
  return {
    type: CallType.ACCEPT,
    framework_id: { value: s.frameworkId },
    accept: { offer_ids: [{ value: offerId }], operations, filters: { refuse_seconds: 0 } },
  };
}

/** The offer's resource as a framework copies it into an operation (without allocation_info). */
function copy(offer: agora.v1.Offer, name: string, id: string): agora.v1.Resource.$Properties {
  const r = offer.resources.find(
    (x) => x.name === name && x.reservations.at(-1)?.labels?.labels.some((l) => l.key === 'id' && l.value === id),
  );
  assert.ok(r, `the offer has ${name} labelled ${id}`);
  const { allocation_info: _, ...rest } = agora.v1.Resource.toObject(r!) as agora.v1.Resource.$Properties & {
    allocation_info?: unknown;
  };
  return rest;
}

test('an offer lists each reservation with its labels; UNRESERVE and LAUNCH name exactly one', async () => {
  let t: TestMaster | undefined;
  let agent: AgentPeer | undefined;
  let s: SchedulerPeer | undefined;
  try {
    t = await startMaster();
    agent = await registerAgent(t, { resources: [scalar('cpus', 4), scalar('mem', 1024)] });
    const body = JSON.stringify([
      labelled('cpus', 1, 'a'),
      labelled('mem', 64, 'a'),
      labelled('cpus', 2, 'b'),
      labelled('cpus', 0.5),
    ]);
    const res = await fetch(`${t.master.url}/reserve`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ slaveId: agent.agentId, resources: body, principal: 'ops' }).toString(),
    });
    assert.is(res.status, 202, await res.text());
    // /state lists each reservation apart too, a labelled one with its reservations[].
    const state = await t.getJson('/state');
    const full = (
      state['slaves'] as Array<{ reserved_resources_full: Record<string, Array<Record<string, unknown>>> }>
    )[0]!.reserved_resources_full['r']!;
    assert.equal(
      full
        .filter((r) => r['name'] === 'cpus')
        .map((r) => {
          const last = (r['reservations'] as Array<{ principal?: string; labels?: { labels: unknown[] } }>)[0];
          return [(r['scalar'] as { value: number }).value, last?.principal, last?.labels?.labels.length ?? 0];
        }),
      [
        [0.5, 'ops', 0],
        [1, 'ops', 1],
        [2, 'ops', 1],
      ],
    );
    s = await subscribeScheduler(t, { roles: ['r'] });

    const first = await nextOffer(s);
    assert.equal(reservedCpus(first), { 'a (ops)': 1, 'b (ops)': 2, '- (ops)': 0.5 }, 'three reservations, apart');
    const mem = first.resources.find((r) => r.name === 'mem' && r.role === 'r')!;
    assert.equal(
      mem.reservations.map((x) => [x.type, x.role, x.principal, x.labels?.labels.map((l) => `${l.key}=${l.value}`)]),
      [[DYNAMIC, 'r', 'ops', ['id=a']]],
    );

    // A role-only UNRESERVE does not name any of them: refused, nothing changes.
    s.send(
      accept(s, first.id.value, [{ type: OperationType.UNRESERVE, unreserve: { resources: [labelled('cpus', 1)] } }]),
    );
    const error = await s.next((e) => e.type === EventType.ERROR, 'ERROR');
    assert.match(error.error!.message, /not dynamically reserved/);

    // UNRESERVE of b leaves a and the principal-only one.
    const second = await nextOffer(s, 'the offer after the refused UNRESERVE');
    assert.equal(reservedCpus(second), { 'a (ops)': 1, 'b (ops)': 2, '- (ops)': 0.5 });
    s.send(
      accept(s, second.id.value, [
        { type: OperationType.UNRESERVE, unreserve: { resources: [copy(second, 'cpus', 'b')] } },
      ]),
    );
    const third = await nextOffer(s, 'the offer after UNRESERVE of b');
    assert.equal(reservedCpus(third), { 'a (ops)': 1, '- (ops)': 0.5 });
    const unreserved = third.resources.find((r) => r.name === 'cpus' && r.role === '*')!;
    assert.is(unreserved.scalar!.value, 2.5, 'b went back to the unreserved pool');

    // A LAUNCH naming a consumes a; one naming role-only cpus(r) is invalid (no such resource offered).
    const onA = taskInfo('on-a', agent.agentId, [copy(third, 'cpus', 'a'), copy(third, 'mem', 'a')]);
    const roleOnly = taskInfo('role-only', agent.agentId, [{ ...labelled('cpus', 1), reservations: [], role: 'r' }]);
    s.send(accept(s, third.id.value, [{ type: OperationType.LAUNCH, launch: { task_infos: [roleOnly, onA] } }]));
    const invalid = await s.next((e) => e.update?.status.task_id.value === 'role-only', 'role-only refused');
    assert.is(invalid.update!.status.state, TaskState.TASK_ERROR);
    const run = await agent.next((m) => m.run_task !== null, 'run_task of on-a');
    assert.is(run.run_task!.task.task_id.value, 'on-a');
    const fourth = await nextOffer(s, 'the offer while on-a runs');
    assert.equal(reservedCpus(fourth), { '- (ops)': 0.5 }, 'a is used by the task');
    assert.not.ok(fourth.resources.some((r) => r.name === 'mem' && r.role === 'r'));
  } finally {
    await cleanup(t, agent, s);
  }
});

test.run();
