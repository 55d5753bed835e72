/**
 * The scheduler endpoint on a real master: SUBSCRIBE and SUBSCRIBED, the
 * first-call rule, framework id checks, re-subscription with the same id, a
 * newer connection replacing an older one, heartbeats, and malformed frames.
 */
import { CLOSE_PROTOCOL_ERROR, CLOSE_REPLACED } from '@agora/transport';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import {
  CallType,
  cleanup,
  connectScheduler,
  EventType,
  registerAgent,
  type SchedulerPeer,
  startMaster,
  subscribeScheduler,
  type TestMaster,
  waitForFramework,
} from '../support/harness.js';

const test = suite('scheduler endpoint');

test('SUBSCRIBE gets SUBSCRIBED with a new framework id, the heartbeat interval and the master info', async () => {
  let t: TestMaster | undefined;
  let s: SchedulerPeer | undefined;
  try {
    t = await startMaster();
    s = await subscribeScheduler(t, { name: 'fw-a' });
    const subscribed = s.received.find((e) => e.type === EventType.SUBSCRIBED)!.subscribed!;
    assert.ok(s.frameworkId.startsWith(`${t.master.info.id}-`), s.frameworkId);
    assert.is(subscribed.heartbeat_interval_seconds, 15);
    assert.is(subscribed.master_info?.id, t.master.info.id);
    assert.is(subscribed.master_info?.port, t.master.port);
    assert.is(subscribed.master_info?.ip, 16777343); // 127.0.0.1 in network byte order, as Mesos writes it
    assert.is(subscribed.master_info?.pid, `master@127.0.0.1:${t.master.port}`);
    const state = await t.getJson('/state');
    const frameworks = state['frameworks'] as Array<Record<string, unknown>>;
    assert.is(frameworks.length, 1);
    assert.is(frameworks[0]!['id'], s.frameworkId);
    assert.is(frameworks[0]!['name'], 'fw-a');
    assert.is(frameworks[0]!['active'], true);
  } finally {
    await cleanup(t, s);
  }
});

test('a HEARTBEAT event arrives every heartbeat interval', async () => {
  let t: TestMaster | undefined;
  let s: SchedulerPeer | undefined;
  try {
    t = await startMaster();
    s = await subscribeScheduler(t);
    assert.is(s.all((e) => e.type === EventType.HEARTBEAT).length, 0);
    t.clock.advance(15_000);
    await s.next((e) => e.type === EventType.HEARTBEAT, 'first HEARTBEAT');
    t.clock.advance(15_000);
    await s.next((e) => e.type === EventType.HEARTBEAT, 'second HEARTBEAT');
  } finally {
    await cleanup(t, s);
  }
});

test('a first call other than SUBSCRIBE gets ERROR and the connection is closed with 4400', async () => {
  let t: TestMaster | undefined;
  try {
    t = await startMaster();
    const peer = await connectScheduler(t);
    peer.send({ type: CallType.RECONCILE, framework_id: { value: 'x' }, reconcile: { tasks: [] } });
    const error = await peer.next((e) => e.type === EventType.ERROR, 'ERROR');
    assert.match(error.error!.message, /first call must be SUBSCRIBE/);
    assert.is(error.error!.code, 'AGORA_ERR_NOT_SUBSCRIBED');
    const closed = await peer.waitClosed();
    assert.is(closed.code, CLOSE_PROTOCOL_ERROR);
    const state = await t.getJson('/state');
    assert.equal(state['frameworks'], []);
  } finally {
    await cleanup(t);
  }
});

test('a call naming another framework id gets ERROR and is ignored; the connection stays', async () => {
  let t: TestMaster | undefined;
  let s: SchedulerPeer | undefined;
  try {
    t = await startMaster();
    s = await subscribeScheduler(t);
    s.send({ type: CallType.SUPPRESS, framework_id: { value: 'someone-else' }, suppress: { roles: [] } });
    const error = await s.next((e) => e.type === EventType.ERROR, 'ERROR');
    assert.match(error.error!.message, /does not match/);
    assert.is(error.error!.code, 'AGORA_ERR_BAD_REQUEST');
    // Not suppressed: an agent's resources are still offered to it.
    const agent = await registerAgent(t);
    await s.next((e) => e.type === EventType.OFFERS, 'OFFERS after an ignored SUPPRESS');
    assert.is(s.closed, undefined);
    agent.close();
  } finally {
    await cleanup(t, s);
  }
});

test('re-subscribing with the same id after a disconnect keeps the id', async () => {
  let t: TestMaster | undefined;
  let second: SchedulerPeer | undefined;
  try {
    t = await startMaster();
    const first = await subscribeScheduler(t);
    const id = first.frameworkId;
    first.close();
    await first.waitClosed();
    await waitForFramework(t, id, (f) => f['connected'] === false);
    second = await subscribeScheduler(t, { id });
    assert.is(second.frameworkId, id);
    const f = await waitForFramework(t, id, (fw) => fw['connected'] === true);
    assert.is(f['active'], true);
    const state = await t.getJson('/state');
    assert.is((state['frameworks'] as unknown[]).length, 1);
  } finally {
    await cleanup(t, second);
  }
});

test('a second connection for the same framework replaces the first (ERROR, close 4409)', async () => {
  let t: TestMaster | undefined;
  let first: SchedulerPeer | undefined;
  let second: SchedulerPeer | undefined;
  try {
    t = await startMaster();
    first = await subscribeScheduler(t);
    second = await subscribeScheduler(t, { id: first.frameworkId });
    const error = await first.next((e) => e.type === EventType.ERROR, 'ERROR on the replaced connection');
    assert.match(error.error!.message, /newer connection/);
    const closed = await first.waitClosed();
    assert.is(closed.code, CLOSE_REPLACED);
    // The framework stays connected through the newer connection.
    const f = await waitForFramework(t, first.frameworkId, (fw) => fw['connected'] === true);
    assert.is(f['active'], true);
    assert.is(second.closed, undefined);
  } finally {
    await cleanup(t, first, second);
  }
});

test('a malformed frame closes that connection with 4400 and changes nothing', async () => {
  let t: TestMaster | undefined;
  let s: SchedulerPeer | undefined;
  try {
    t = await startMaster();
    s = await subscribeScheduler(t);
    const before = await t.getJson('/state');
    const raw = new WebSocket(t.wsUrl('scheduler'));
    await new Promise((resolve, reject) => {
      raw.once('open', resolve);
      raw.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => raw.once('close', (code) => resolve(code)));
    raw.send(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), { binary: true });
    assert.is(await closed, CLOSE_PROTOCOL_ERROR);
    const after = await t.getJson('/state');
    assert.equal(after['frameworks'], before['frameworks']);
    assert.is(s.closed, undefined);
  } finally {
    await cleanup(t, s);
  }
});

test('a SUBSCRIBE with an invalid role is refused with ERROR and close 4400; nothing is registered', async () => {
  let t: TestMaster | undefined;
  try {
    t = await startMaster();
    const peer = await connectScheduler(t);
    peer.send({
      type: CallType.SUBSCRIBE,
      subscribe: { framework_info: { user: 'u', name: 'bad', roles: ['has space'] } },
    });
    const error = await peer.next((e) => e.type === EventType.ERROR, 'ERROR');
    assert.match(error.error!.message, /not a valid role/);
    assert.is((await peer.waitClosed()).code, CLOSE_PROTOCOL_ERROR);
    assert.equal((await t.getJson('/state'))['frameworks'], []);
  } finally {
    await cleanup(t);
  }
});

test.run();
