/**
 * Multi-role frameworks on a real master: one offer per role (carrying
 * allocation_info.role), refuse filters per (framework, role, agent), and
 * SUPPRESS / REVIVE per role.
 */
import type { agora } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type AgentPeer,
  CallType,
  cleanup,
  connectAgentChannel,
  isOffers,
  launchCall,
  registerAgent,
  scalar,
  type SchedulerPeer,
  startMaster,
  subscribeScheduler,
  type TestMaster,
  taskInfo,
  waitFor,
} from '../support/harness.js';

const test = suite('multi-role frameworks on a master');

type RolesJson = { roles: Array<{ name: string; allocated?: { cpus?: number } }> };

function roleOf(offer: agora.v1.Offer): string {
  const roles = new Set(offer.resources.map((r) => r.allocation_info?.role));
  assert.is(roles.size, 1, 'every resource of an offer is allocated to one role');
  return [...roles][0]!;
}

async function offersFor(s: SchedulerPeer, roles: string[]): Promise<Map<string, agora.v1.Offer>> {
  const got = new Map<string, agora.v1.Offer>();
  while (got.size < roles.length) {
    const event = await s.next(isOffers, `offers for ${roles.join(', ')}`);
    for (const o of event.offers!.offers) got.set(roleOf(o), o);
  }
  return got;
}

test('one offer per role; declining one role’s offer filters that role only; suppress and revive per role', async () => {
  let t: TestMaster | undefined;
  let agent: AgentPeer | undefined;
  let s: SchedulerPeer | undefined;
  try {
    t = await startMaster();
    agent = await registerAgent(t, {
      resources: [
        scalar('cpus', 1),
        scalar('mem', 256),
        scalar('cpus', 2, 'a'),
        scalar('mem', 64, 'a'),
        scalar('cpus', 3, 'b'),
        scalar('mem', 64, 'b'),
      ],
    });
    s = await subscribeScheduler(t, { roles: ['a', 'b'] });
    const first = await offersFor(s, ['a', 'b']);
    // The unreserved part goes to one of the roles with its reservation; the other role gets its reservation.
    const cpus = (o: agora.v1.Offer) =>
      o.resources.filter((r) => r.name === 'cpus').reduce((x, r) => x + (r.scalar?.value ?? 0), 0);
    assert.is(cpus(first.get('a')!) + cpus(first.get('b')!), 6);

    // Decline role a's offer for an hour, role b's with no filter: only b is offered again.
    s.send({
      type: CallType.DECLINE,
      framework_id: { value: s.frameworkId },
      decline: { offer_ids: [{ value: first.get('a')!.id.value }], filters: { refuse_seconds: 3600 } },
    });
    s.send({
      type: CallType.DECLINE,
      framework_id: { value: s.frameworkId },
      decline: { offer_ids: [{ value: first.get('b')!.id.value }], filters: { refuse_seconds: 0 } },
    });
    const second = await offersFor(s, ['b']);
    assert.not.ok(second.has('a'));
    assert.ok(cpus(second.get('b')!) >= 3, 'b gets its reservation and the unreserved part');

    // SUPPRESS b, REVIVE a: now a is offered (its filter cleared), b is not.
    s.send({ type: CallType.SUPPRESS, framework_id: { value: s.frameworkId }, suppress: { roles: ['b'] } });
    s.send({
      type: CallType.DECLINE,
      framework_id: { value: s.frameworkId },
      decline: { offer_ids: [{ value: second.get('b')!.id.value }], filters: { refuse_seconds: 0 } },
    });
    s.send({ type: CallType.REVIVE, framework_id: { value: s.frameworkId }, revive: { roles: ['a'] } });
    const third = await offersFor(s, ['a']);
    assert.not.ok(third.has('b'));
    assert.is(cpus(third.get('a')!), 3, 'a gets its reservation and the unreserved cpu');
  } finally {
    await cleanup(t, agent, s);
  }
});

test("a task launched from a role's offer on unreserved resources is allocated to that role, also after re-registration", async () => {
  let t: TestMaster | undefined;
  let agent: AgentPeer | undefined;
  let s: SchedulerPeer | undefined;
  try {
    t = await startMaster();
    agent = await registerAgent(t, { resources: [scalar('cpus', 2), scalar('mem', 512)] });
    s = await subscribeScheduler(t, { roles: ['a', 'b'] });
    // Refuse role a's offers until role b gets the (unreserved) agent: b is not the framework's first role.
    let offer: agora.v1.Offer | undefined;
    while (offer === undefined) {
      const event = await s.next(isOffers, 'an offer');
      for (const o of event.offers!.offers) {
        if (roleOf(o) === 'b' && offer === undefined) offer = o;
        else
          s.send({
            type: CallType.DECLINE,
            framework_id: { value: s.frameworkId },
            decline: { offer_ids: [{ value: o.id.value }], filters: { refuse_seconds: 3600 } },
          });
      }
    }
    s.send(launchCall(s, [offer.id.value], [taskInfo('t1', agent.agentId, [scalar('cpus', 1), scalar('mem', 128)])]));
    const run = await agent.next((m) => m.run_task !== null, 'RunTask');
    assert.equal(
      run.run_task!.task.resources.map((r) => r.allocation_info?.role),
      ['b', 'b'],
      'the agent gets the allocation role on the task resources',
    );
    const allocatedTo = async (m: TestMaster, role: string) => {
      const body = (await m.getJson('/roles')) as unknown as RolesJson;
      return body.roles.find((r) => r.name === role)?.allocated?.cpus ?? 0;
    };
    const master = t;
    await waitFor(async () => (await allocatedTo(master, 'b')) === 1, { message: 'cpus 1 allocated to b' });
    assert.is(await allocatedTo(master, 'a'), 0, 'nothing allocated to the first role a');

    // A second master learns the task from the agent's re-registration (the role travels on the resources).
    const second = await startMaster();
    try {
      const peer = await connectAgentChannel(second);
      peer.send({
        reregister: {
          agent_info: {
            hostname: 'h',
            id: { value: agent.agentId },
            resources: [scalar('cpus', 2), scalar('mem', 512)],
          },
          tasks: [
            {
              name: 't1',
              task_id: { value: 't1' },
              framework_id: { value: s.frameworkId },
              agent_id: { value: agent.agentId },
              state: 1,
              resources: run.run_task!.task.resources,
            },
          ],
          frameworks: [
            {
              framework_info: {
                user: 'tester',
                name: 'test-framework',
                id: { value: s.frameworkId },
                roles: ['a', 'b'],
              },
            },
          ],
        },
      });
      await peer.next((m) => m.reregistered !== null, 'Reregistered');
      await waitFor(async () => (await allocatedTo(second, 'b')) === 1, {
        message: 'the recovered task allocated to b',
      });
      peer.close();
    } finally {
      await second.close();
    }
  } finally {
    await cleanup(t, agent, s);
  }
});

test.run();
