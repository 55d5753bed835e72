/**
 * HTTP callback delivery to real subscribers on loopback: order, retries
 * with backoff through a 10 s outage, isolation from a hanging subscriber,
 * overflow (oldest dropped, counted, announced), garbage answers.
 */
import { waitFor } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { EventBus } from '../../src/events/event-bus.js';
import { HttpCallbacks, type HttpCallbackOptions, validateCallbackUrl } from '../../src/events/http-callbacks.js';
import { Subscriber } from './subscriber.js';

const fast: HttpCallbackOptions = { backoffInitialMs: 50, backoffMaxMs: 500, requestTimeoutMs: 2000 };
const open: Array<{ dispose(): void } | Subscriber> = [];

async function setup(options: HttpCallbackOptions = fast): Promise<{ bus: EventBus; callbacks: HttpCallbacks }> {
  const bus = new EventBus();
  const callbacks = new HttpCallbacks({ bus }, options);
  await callbacks.start();
  open.push(callbacks, bus);
  return { bus, callbacks };
}

async function subscriber(): Promise<Subscriber> {
  const s = await Subscriber.start();
  open.push(s);
  return s;
}

function message(bus: EventBus, n: number): void {
  bus.publish({ slaveId: 'agent-1', executorId: 'e', message: String(n), eventType: 'framework_message_event' });
}

const messages = (s: Subscriber): number[] =>
  s.received.filter((e) => e.eventType === 'framework_message_event').map((e) => Number(e.message));

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

const test = suite('http callbacks - reliable ordered delivery to real subscribers');

test.after(async () => {
  for (const o of open.splice(0)) {
    if (o instanceof Subscriber) await o.stop();
    else o.dispose();
  }
});

test('every event reaches the subscriber once, in publish order, after its subscribe_event', async () => {
  const { bus, callbacks } = await setup();
  const s = await subscriber();
  const answer = await callbacks.subscribe(s.url, '10.0.0.1');
  assert.equal(answer.eventType, 'subscribe_event');
  assert.is(answer.callbackUrl, s.url);
  assert.is(answer.clientIp, '10.0.0.1');
  for (let i = 0; i < 300; i++) message(bus, i);
  await waitFor(() => messages(s).length === 300, { timeoutMs: 20_000, message: '300 events delivered' });
  assert.is(s.received[0]?.eventType, 'subscribe_event');
  assert.equal(messages(s), range(0, 300));
  const [m] = callbacks.metrics();
  assert.is(m?.delivered, 301);
  assert.is(m?.dropped, 0);
  assert.is(m?.queued, 0);
  assert.is(m?.lagMs, 0);
});

test('a subscriber down for 10 s then back receives everything it missed, in order', async () => {
  const { bus, callbacks } = await setup();
  const s = await subscriber();
  await callbacks.subscribe(s.url, '127.0.0.1');
  message(bus, 0);
  await waitFor(() => messages(s).length === 1);
  await s.down();
  const downSince = Date.now();
  let n = 1;
  while (Date.now() - downSince < 10_000) {
    message(bus, n++);
    await new Promise((r) => setTimeout(r, 100));
  }
  const during = callbacks.metrics()[0]!;
  assert.ok(during.retried > 0, 'failed POSTs were retried');
  assert.ok(during.lagMs > 0, 'lag grows while the subscriber is down');
  assert.ok(during.lastError !== null);
  await s.up();
  await waitFor(() => messages(s).length === n, { timeoutMs: 20_000, message: `all ${n} events after the outage` });
  assert.equal(messages(s), range(0, n));
  const after = callbacks.metrics()[0]!;
  assert.is(after.dropped, 0);
  assert.is(after.lastError, null);
});

test('a hanging subscriber does not delay another one, nor the publisher', async () => {
  const { bus, callbacks } = await setup({ ...fast, requestTimeoutMs: 30_000 });
  const hanging = await subscriber();
  hanging.mode = 'hang';
  const healthy = await subscriber();
  await callbacks.subscribe(hanging.url, '127.0.0.1');
  await callbacks.subscribe(healthy.url, '127.0.0.1');
  for (let i = 0; i < 200; i++) message(bus, i);
  await waitFor(() => messages(healthy).length === 200, { timeoutMs: 20_000, message: 'healthy subscriber served' });
  assert.equal(messages(healthy), range(0, 200));
  const stuck = callbacks.metrics().find((m) => m.callbackUrl === hanging.url)!;
  assert.is(stuck.delivered, 0);
  assert.ok(stuck.queued >= 200, `the hanging subscriber's events wait in its own queue (${stuck.queued})`);
});

test('overflow drops the oldest waiting events, counts them, and announces the count before the next event', async () => {
  const { bus, callbacks } = await setup({ ...fast, queueSize: 10 });
  const s = await subscriber();
  s.mode = 'fail';
  await callbacks.subscribe(s.url, '127.0.0.1'); // subscribe_event is in flight, failing
  for (let i = 0; i < 25; i++) message(bus, i);
  const m = callbacks.metrics()[0]!;
  assert.is(m.queued, 10);
  assert.is(m.dropped, 15);
  s.mode = 'ok';
  await waitFor(() => messages(s).length === 10, { timeoutMs: 20_000, message: 'the 10 newest events' });
  assert.equal(s.types.slice(0, 2), ['subscribe_event', 'events_dropped_event']);
  const marker = s.received[1]!;
  assert.is(marker.count, 15);
  assert.is(marker.reason, 'subscriber_queue_overflow');
  assert.match(marker.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(messages(s), range(15, 25));
  const after = callbacks.metrics()[0]!;
  assert.is(after.markersDelivered, 1);
  assert.is(after.dropped, 15);
  assert.is(after.delivered, 11);
});

test('an answer that is not HTTP, and a 500, are failed deliveries that are retried', async () => {
  const { bus, callbacks } = await setup();
  const s = await subscriber();
  s.mode = 'garbage';
  await callbacks.subscribe(s.url, '127.0.0.1');
  message(bus, 0);
  await waitFor(() => callbacks.metrics()[0]!.retried >= 2, { message: 'garbage answers retried' });
  s.mode = 'fail';
  await waitFor(() => s.refused >= 2, { message: '500 answers' });
  s.mode = 'ok';
  await waitFor(() => messages(s).length === 1, { timeoutMs: 20_000 });
  assert.equal(s.types, ['subscribe_event', 'framework_message_event']);
});

test('callback URLs must be absolute http(s) URLs', () => {
  assert.is(validateCallbackUrl('http://h:9/cb'), 'http://h:9/cb');
  assert.is(validateCallbackUrl('https://h/cb'), 'https://h/cb');
  for (const bad of [undefined, '', 'ftp://h/x', 'not a url', '/relative', 'mailto:a@b']) {
    assert.throws(
      () => validateCallbackUrl(bad),
      (e: Error & { code?: string }) => e.code === 'AGORA_ERR_BAD_REQUEST',
    );
  }
});

test.run();
