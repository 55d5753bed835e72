/**
 * The agent endpoint on a real master: Register and Registered, the
 * first-message rule, refused registrations, malformed frames, ping/pong, and
 * a disconnect that rescinds the agent's offers but keeps its tasks.
 */
import { agora, type AgentToMaster } from '@agora/proto';
import { CLOSE_PROTOCOL_ERROR, CLOSE_REFUSED, connectChannel, type FrameChannel } from '@agora/transport';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import {
  type AgentPeer,
  agentInfo,
  cleanup,
  connectAgentChannel,
  EventType,
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
} from '../support/harness.js';

const test = suite('agent endpoint');

function slaves(state: Record<string, unknown>): Array<Record<string, unknown>> {
  return state['slaves'] as Array<Record<string, unknown>>;
}

test('Register gets Registered with a new agent id; the agent shows in /state with its resources', async () => {
  let t: TestMaster | undefined;
  let a: AgentPeer | undefined;
  try {
    t = await startMaster();
    a = await registerAgent(t, {
      hostname: 'node-7.test',
      port: 5151,
      attributes: [{ name: 'rack', type: 3, text: { value: 'r1' } }],
    });
    assert.ok(a.agentId.startsWith(`${t.master.info.id}-S`), a.agentId);
    const registered = a.received.find((m) => m.registered)!.registered!;
    assert.is(registered.master_info?.id, t.master.info.id);
    const agent = slaves(await t.getJson('/state'))[0]!;
    assert.is(agent['id'], a.agentId);
    assert.is(agent['hostname'], 'node-7.test');
    assert.is(agent['port'], 5151);
    assert.is(agent['active'], true);
    assert.equal(agent['resources'], { cpus: 4, gpus: 0, mem: 4096, disk: 0, ports: '[31000-31009]' });
    assert.equal(agent['attributes'], { rack: 'r1' });
  } finally {
    await cleanup(t, a);
  }
});

test('a first message other than Register/Reregister closes the connection with 4400', async () => {
  let t: TestMaster | undefined;
  try {
    t = await startMaster();
    const peer = await connectAgentChannel(t);
    peer.send({ pong: {} });
    assert.is((await peer.waitClosed()).code, CLOSE_PROTOCOL_ERROR);
    assert.equal(slaves(await t.getJson('/state')), []);
  } finally {
    await cleanup(t);
  }
});

test('a Register with invalid resources gets Refused and close 4403; nothing is registered', async () => {
  let t: TestMaster | undefined;
  try {
    t = await startMaster();
    const peer = await connectAgentChannel(t);
    peer.send({ register: { agent_info: agentInfo({ resources: [scalar('cpus', -1)] }) } });
    const refused = await peer.next((m) => m.refused !== null, 'Refused');
    assert.is(refused.refused!.code, 'AGORA_ERR_BAD_RESOURCES');
    assert.is((await peer.waitClosed()).code, CLOSE_REFUSED);
    assert.equal(slaves(await t.getJson('/state')), []);
  } finally {
    await cleanup(t);
  }
});

test('a malformed frame closes that agent connection with 4400 and changes nothing', async () => {
  let t: TestMaster | undefined;
  let a: AgentPeer | undefined;
  try {
    t = await startMaster();
    a = await registerAgent(t);
    const before = slaves(await t.getJson('/state'));
    const raw = new WebSocket(t.wsUrl('agent'));
    await new Promise((resolve, reject) => {
      raw.once('open', resolve);
      raw.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => raw.once('close', (code) => resolve(code)));
    raw.send('not a protobuf frame');
    assert.is(await closed, CLOSE_PROTOCOL_ERROR);
    assert.equal(slaves(await t.getJson('/state')), before);
    assert.is(a.closed, undefined);
  } finally {
    await cleanup(t, a);
  }
});

test('the master pings agents; one that misses max_agent_ping_timeouts pongs is unreachable and must re-register', async () => {
  let t: TestMaster | undefined;
  let silent: FrameChannel<agora.v1.agent.MasterToAgent, AgentToMaster> | undefined;
  try {
    t = await startMaster({ maxAgentPingTimeouts: 2 });
    const tm = t;
    // A peer that does not answer pings by itself.
    silent = await connectChannel(t.wsUrl('agent'), agora.v1.agent.MasterToAgent, agora.v1.agent.AgentToMaster);
    let pings = 0;
    let closedWith: number | undefined;
    silent.onDidReceive((m) => {
      if (m.ping) pings++;
    });
    silent.onDidClose(({ code }) => {
      closedWith = code;
    });
    silent.send({ register: { agent_info: agentInfo() } });
    await waitFor(async () => slaves(await tm.getJson('/state')).length === 1, { message: 'registration' });
    for (let i = 0; i < 3; i++) tm.clock.advance(PING_MS);
    await waitFor(async () => slaves(await tm.getJson('/state')).length === 0, { message: 'agent removed' });
    const state = await tm.getJson('/state');
    assert.is(state['unreachable_slaves'], 1);
    await waitFor(() => closedWith, { message: 'the connection closed' });
    assert.is(pings, 2, 'two pings unanswered, then the third interval found the agent silent');
    assert.is(closedWith, 4410, 'closed as unreachable (the agent reconnects and re-registers)');
  } finally {
    silent?.close();
    await cleanup(t);
  }
});

test('an agent that disconnects has its offers rescinded and keeps its tasks', async () => {
  let t: TestMaster | undefined;
  let a: AgentPeer | undefined;
  let s: SchedulerPeer | undefined;
  try {
    t = await startMaster();
    s = await subscribeScheduler(t);
    a = await registerAgent(t);
    const offer = await nextOffer(s);
    s.send(launchCall(s, [offer.id.value], [taskInfo('t1', a.agentId, [scalar('cpus', 1), scalar('mem', 128)])], 0));
    await a.next((m) => m.run_task !== null, 'RunTask');
    const second = await nextOffer(s, 'an offer of the rest');
    a.close();
    const rescind = await s.next((e) => e.type === EventType.RESCIND, 'RESCIND');
    assert.is(rescind.rescind!.offer_id.value, second.id.value);
    const tm = t;
    const agent = await waitFor(
      async () => {
        const x = slaves(await tm.getJson('/state'))[0]!;
        return x['active'] === false ? x : undefined;
      },
      { message: 'agent inactive' },
    );
    assert.is(agent['connected'], false);
    const state = await t.getJson('/state');
    const fw = (state['frameworks'] as Array<Record<string, unknown>>)[0]!;
    const tasks = fw['tasks'] as Array<Record<string, unknown>>;
    assert.is(tasks.length, 1);
    assert.is(tasks[0]!['state'], 'TASK_STAGING');
    assert.equal(fw['offers'], []);
  } finally {
    await cleanup(t, a, s);
  }
});

test.run();
