/**
 * Offers, ACCEPT and DECLINE on a real master with protocol-level scheduler
 * and agent peers: what an offer carries, launching (RunTask reaches the
 * agent), invalid launches (TASK_ERROR, nothing runs), used and unknown offers
 * (nothing launches), refuse filters, and offer timeouts.
 */
import { agora, TaskState, TaskStatusReason } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type AgentPeer,
  agentBarrier,
  CallType,
  cleanup,
  EventType,
  isOffers,
  launchCall,
  nextOffer,
  ranges,
  registerAgent,
  scalar,
  schedulerBarrier,
  type SchedulerPeer,
  startMaster,
  subscribeScheduler,
  taskInfo,
  type TestMaster,
} from '../support/harness.js';

const test = suite('offers and accept');

async function setup(): Promise<{ t: TestMaster; s: SchedulerPeer; a: AgentPeer; offer: agora.v1.Offer }> {
  const t = await startMaster();
  const s = await subscribeScheduler(t);
  const a = await registerAgent(t, {
    hostname: 'agent-x.test',
    port: 5061,
    attributes: [{ name: 'zone', type: agora.v1.Value.Type.TEXT, text: { value: 'a' } }],
  });
  const offer = await nextOffer(s);
  return { t, s, a, offer };
}

test('an agent that registers is offered to a subscribed framework, with its url, attributes and role', async () => {
  const { t, s, a, offer } = await setup();
  try {
    assert.is(offer.framework_id.value, s.frameworkId);
    assert.is(offer.agent_id.value, a.agentId);
    assert.is(offer.hostname, 'agent-x.test');
    assert.is(offer.url?.scheme, 'http');
    assert.is(offer.url?.address.hostname, 'agent-x.test');
    assert.is(offer.url?.address.port, 5061);
    assert.is(offer.url?.path, '/');
    assert.equal(
      offer.attributes.map((x) => [x.name, x.text?.value]),
      [['zone', 'a']],
    );
    assert.equal(
      offer.resources.map((r) => [r.name, r.allocation_info?.role]),
      [
        ['cpus', '*'],
        ['mem', '*'],
        ['ports', '*'],
      ],
    );
    const state = await t.getJson('/state');
    const fw = (state['frameworks'] as Array<Record<string, unknown>>)[0]!;
    const offers = fw['offers'] as Array<Record<string, unknown>>;
    assert.is(offers.length, 1);
    assert.is(offers[0]!['id'], offer.id.value);
    assert.equal(fw['offered_resources'], { cpus: 4, gpus: 0, mem: 4096, disk: 0, ports: '[31000-31009]' });
  } finally {
    await cleanup(t, s, a);
  }
});

test('ACCEPT with LAUNCH sends RunTask to the agent; the task is STAGING and its resources are used', async () => {
  const { t, s, a, offer } = await setup();
  try {
    const resources = [scalar('cpus', 1), scalar('mem', 256), ranges('ports', [[31000, 31001]])];
    s.send(launchCall(s, [offer.id.value], [taskInfo('web-1', a.agentId, resources)]));
    const run = await a.next((m) => m.run_task !== null, 'RunTask');
    assert.is(run.run_task!.task.task_id.value, 'web-1');
    assert.is(run.run_task!.task.command?.value, 'sleep 1000');
    assert.is(run.run_task!.framework.id?.value, s.frameworkId);
    assert.is(run.run_task!.framework.name, 'test-framework');
    const state = await t.getJson('/state');
    const fw = (state['frameworks'] as Array<Record<string, unknown>>)[0]!;
    const task = (fw['tasks'] as Array<Record<string, unknown>>)[0]!;
    assert.is(task['id'], 'web-1');
    assert.is(task['state'], 'TASK_STAGING');
    assert.is(task['slave_id'], a.agentId);
    assert.is(task['framework_id'], s.frameworkId);
    assert.equal(task['resources'], { cpus: 1, gpus: 0, mem: 256, disk: 0, ports: '[31000-31001]' });
    assert.equal(fw['used_resources'], { cpus: 1, gpus: 0, mem: 256, disk: 0, ports: '[31000-31001]' });
    assert.equal(fw['offers'], []);
    const agent = (state['slaves'] as Array<Record<string, unknown>>)[0]!;
    assert.equal(agent['used_resources'], { cpus: 1, gpus: 0, mem: 256, disk: 0, ports: '[31000-31001]' });
  } finally {
    await cleanup(t, s, a);
  }
});

test('unused resources of an ACCEPT are offered again (refuse_seconds 0), without what was launched', async () => {
  const { t, s, a, offer } = await setup();
  try {
    s.send(launchCall(s, [offer.id.value], [taskInfo('t1', a.agentId, [scalar('cpus', 1), scalar('mem', 1024)])], 0));
    await a.next((m) => m.run_task !== null, 'RunTask');
    const again = await nextOffer(s, 'the rest offered again');
    const cpus = again.resources.find((r) => r.name === 'cpus')?.scalar?.value;
    const mem = again.resources.find((r) => r.name === 'mem')?.scalar?.value;
    assert.is(cpus, 3);
    assert.is(mem, 3072);
  } finally {
    await cleanup(t, s, a);
  }
});

test('ACCEPT naming resources not in the offer: TASK_ERROR saying why, and nothing reaches the agent', async () => {
  const { t, s, a, offer } = await setup();
  try {
    s.send(launchCall(s, [offer.id.value], [taskInfo('greedy', a.agentId, [scalar('cpus', 64), scalar('mem', 128)])]));
    const update = await s.next((e) => e.update?.status.task_id.value === 'greedy', 'UPDATE for the task');
    const status = update.update!.status;
    assert.is(status.state, TaskState.TASK_ERROR);
    assert.is(status.reason, TaskStatusReason.REASON_TASK_INVALID);
    assert.match(status.message ?? '', /more resources \(cpus:64;mem:128\) than available/);
    assert.is(status.uuid, null, 'master-generated updates carry no uuid');
    await agentBarrier(t, a);
    assert.equal(
      a.all((m) => m.run_task !== null),
      [],
    );
    const fw = ((await t.getJson('/state'))['frameworks'] as Array<Record<string, unknown>>)[0]!;
    assert.equal(fw['tasks'], []);
  } finally {
    await cleanup(t, s, a);
  }
});

test('ACCEPT naming a resource the offer lacks (a port outside its ranges) launches nothing', async () => {
  const { t, s, a, offer } = await setup();
  try {
    const task = taskInfo('p', a.agentId, [scalar('cpus', 1), ranges('ports', [[80, 80]])]);
    s.send(launchCall(s, [offer.id.value], [task]));
    const update = await s.next((e) => e.update?.status.task_id.value === 'p', 'UPDATE');
    assert.is(update.update!.status.state, TaskState.TASK_ERROR);
    assert.match(update.update!.status.message ?? '', /ports:\[80-80\]/);
    await agentBarrier(t, a);
    assert.equal(
      a.all((m) => m.run_task !== null),
      [],
    );
  } finally {
    await cleanup(t, s, a);
  }
});

test('an offer id used twice launches only once; the second ACCEPT gets TASK_DROPPED (invalid offers)', async () => {
  const { t, s, a, offer } = await setup();
  try {
    s.send(launchCall(s, [offer.id.value], [taskInfo('first', a.agentId, [scalar('cpus', 1)])]));
    s.send(launchCall(s, [offer.id.value], [taskInfo('second', a.agentId, [scalar('cpus', 1)])]));
    const update = await s.next((e) => e.update?.status.task_id.value === 'second', 'UPDATE for the second');
    assert.is(update.update!.status.state, TaskState.TASK_DROPPED);
    assert.is(update.update!.status.reason, TaskStatusReason.REASON_INVALID_OFFERS);
    assert.match(update.update!.status.message ?? '', /unknown, already used or rescinded/);
    await agentBarrier(t, a);
    const runs = a.all((m) => m.run_task !== null).map((m) => m.run_task!.task.task_id.value);
    assert.equal(runs, ['first']);
  } finally {
    await cleanup(t, s, a);
  }
});

test('an unknown offer id launches nothing, even alongside a valid offer, and the valid offer is recovered', async () => {
  const { t, s, a, offer } = await setup();
  try {
    s.send(launchCall(s, [offer.id.value, 'no-such-offer'], [taskInfo('x', a.agentId, [scalar('cpus', 1)])], 0));
    const update = await s.next((e) => e.update?.status.task_id.value === 'x', 'UPDATE');
    assert.is(update.update!.status.state, TaskState.TASK_DROPPED);
    assert.match(update.update!.status.message ?? '', /no-such-offer is unknown/);
    await agentBarrier(t, a);
    assert.equal(
      a.all((m) => m.run_task !== null),
      [],
    );
    // The valid offer was used up by the failed ACCEPT; its resources come back in a new offer.
    const again = await nextOffer(s, 'the resources offered again');
    assert.is.not(again.id.value, offer.id.value);
    assert.is(again.resources.find((r) => r.name === 'cpus')?.scalar?.value, 4);
  } finally {
    await cleanup(t, s, a);
  }
});

test('a task id already in use gets TASK_ERROR; the first task keeps running', async () => {
  const { t, s, a, offer } = await setup();
  try {
    s.send(launchCall(s, [offer.id.value], [taskInfo('dup', a.agentId, [scalar('cpus', 1)])], 0));
    await a.next((m) => m.run_task !== null, 'RunTask');
    const next = await nextOffer(s, 'second offer');
    s.send(launchCall(s, [next.id.value], [taskInfo('dup', a.agentId, [scalar('cpus', 1)])], 0));
    const update = await s.next((e) => e.update?.status.task_id.value === 'dup', 'UPDATE');
    assert.is(update.update!.status.state, TaskState.TASK_ERROR);
    assert.match(update.update!.status.message ?? '', /already in use/);
    await agentBarrier(t, a);
    assert.is(a.all((m) => m.run_task !== null).length, 1);
  } finally {
    await cleanup(t, s, a);
  }
});

test('DECLINE with refuse_seconds: no new offer of that agent before the filter expires, one after', async () => {
  const { t, s, a, offer } = await setup();
  try {
    s.send({
      type: CallType.DECLINE,
      framework_id: { value: s.frameworkId },
      decline: { offer_ids: [offer.id], filters: { refuse_seconds: 10 } },
    });
    await schedulerBarrier(s, a.agentId); // the DECLINE has been handled at time 0
    for (let i = 0; i < 9; i++) t.clock.advance(1000); // nine allocation cycles inside the filter
    await schedulerBarrier(s, a.agentId);
    assert.is(s.all(isOffers).length, 1, 'no new offer while filtered');
    t.clock.advance(1000); // 10 s: the filter is over
    t.clock.advance(1000); // the next cycle offers again
    const again = await nextOffer(s, 'an offer after the filter');
    assert.is(again.agent_id.value, a.agentId);
  } finally {
    await cleanup(t, s, a);
  }
});

test('DECLINE without filters refuses the agent for the default 5 s; REVIVE clears the filter', async () => {
  const { t, s, a, offer } = await setup();
  try {
    s.send({ type: CallType.DECLINE, framework_id: { value: s.frameworkId }, decline: { offer_ids: [offer.id] } });
    await schedulerBarrier(s, a.agentId);
    t.clock.advance(4000);
    await schedulerBarrier(s, a.agentId);
    assert.is(s.all(isOffers).length, 1, 'no new offer within 5 s');
    s.send({ type: CallType.REVIVE, framework_id: { value: s.frameworkId }, revive: { roles: [] } });
    await nextOffer(s, 'an offer after REVIVE');
  } finally {
    await cleanup(t, s, a);
  }
});

test('SUPPRESS stops offers; REVIVE resumes them', async () => {
  const { t, s, a, offer } = await setup();
  try {
    s.send({ type: CallType.SUPPRESS, framework_id: { value: s.frameworkId }, suppress: { roles: [] } });
    await schedulerBarrier(s, a.agentId);
    s.send({
      type: CallType.DECLINE,
      framework_id: { value: s.frameworkId },
      decline: { offer_ids: [offer.id], filters: { refuse_seconds: 0 } },
    });
    await schedulerBarrier(s, a.agentId);
    t.clock.advance(3000);
    await schedulerBarrier(s, a.agentId);
    assert.is(s.all(isOffers).length, 1, 'no offer while suppressed');
    s.send({ type: CallType.REVIVE, framework_id: { value: s.frameworkId }, revive: { roles: [] } });
    await nextOffer(s, 'an offer after REVIVE');
  } finally {
    await cleanup(t, s, a);
  }
});

test('with offerTimeoutMs an offer held too long is rescinded and made again', async () => {
  let t: TestMaster | undefined;
  let s: SchedulerPeer | undefined;
  let a: AgentPeer | undefined;
  try {
    t = await startMaster({ offerTimeoutMs: 30_000 });
    s = await subscribeScheduler(t);
    a = await registerAgent(t);
    const offer = await nextOffer(s);
    t.clock.advance(30_000);
    const rescind = await s.next((e) => e.type === EventType.RESCIND, 'RESCIND');
    assert.is(rescind.rescind!.offer_id.value, offer.id.value);
    const again = await nextOffer(s, 'a new offer');
    assert.is.not(again.id.value, offer.id.value);
  } finally {
    await cleanup(t, s, a);
  }
});

test.run();
