/**
 * The durable event log with a real Redis and the file store, in process:
 * delivery resumes from each subscriber's cursor after a restart (a new set
 * of components on the same store), ids continue across restarts, a cursor
 * older than the log's bound gets `events_dropped_event` with the exact count
 * and then the rest, a full in-memory queue reads back from the log instead of
 * dropping, SSE replay is seeded from the log, and appends are idempotent.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type RedisServer, removeTempDir, startRedis, tempDir, waitFor } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { EventBus, EventLog, HttpCallbacks, MarathonEvents } from '../../src/events/index.js';
import { FileStore } from '../../src/storage/file/file-store.js';
import { RedisStore } from '../../src/storage/redis/redis-store.js';
import type { MarathonStore } from '../../src/storage/repositories.js';
import { silentLogger, systemClock } from '@agora/common';
import { openStream } from './sse-client.js';
import { Subscriber } from './subscriber.js';

let redis: RedisServer;
let work = '';
const subscribers: Subscriber[] = [];
const running: Array<{ events: MarathonEvents; store: MarathonStore }> = [];

const fast = { callbackBackoffMs: 20, callbackBackoffMaxMs: 200, callbackTimeoutMs: 2000 };

async function startEvents(
  store: MarathonStore,
  config: Record<string, number> = {},
): Promise<{ events: MarathonEvents; store: MarathonStore }> {
  await store.open();
  const events = new MarathonEvents({
    clock: systemClock,
    logger: silentLogger(),
    repository: store.eventSubscriptions,
    config: { ...fast, ...config },
  });
  await events.start();
  const r = { events, store };
  running.push(r);
  return r;
}

/** Stop like a process that dies: no final flush is awaited. */
async function stop(r: { events: MarathonEvents; store: MarathonStore }): Promise<void> {
  running.splice(running.indexOf(r), 1);
  r.events.dispose();
  await r.store.close();
}

async function subscriber(): Promise<Subscriber> {
  const s = await Subscriber.start();
  subscribers.push(s);
  return s;
}

const redisStore = (prefix: string): RedisStore => new RedisStore({ url: redis.url, prefix });

function message(events: MarathonEvents, n: number): void {
  events.bus.publish({ slaveId: 'a', executorId: 'e', message: String(n), eventType: 'framework_message_event' });
}

const messages = (s: Subscriber): number[] =>
  s.received.filter((e) => e.eventType === 'framework_message_event').map((e) => Number(e.message));
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

const test = suite('durable event log - delivery survives restarts, exact counts past the bound');

test.before(async () => {
  redis = await startRedis();
  work = await tempDir('agora-events-log-');
});

test.after(async () => {
  for (const r of running.splice(0)) {
    r.events.dispose();
    await r.store.close();
  }
  for (const s of subscribers) await s.stop();
  await redis?.stop();
  await removeTempDir(work);
});

for (const kind of ['redis', 'file'] as const) {
  const storeOf = (name: string): MarathonStore =>
    kind === 'redis' ? redisStore(`${name}:`) : new FileStore(join(work, name));

  test(`${kind}: a subscriber down across a restart receives every event after it, in order, ids continuing`, async () => {
    const s = await subscriber();
    const a = await startEvents(storeOf(`${kind}-resume`));
    await a.events.callbacks.subscribe(s.url, '127.0.0.1');
    await waitFor(() => s.types.includes('subscribe_event'), { message: 'subscribe_event delivered' });
    await s.down();
    for (let i = 0; i < 200; i++) message(a.events, i);
    await a.events.log.flushed();
    assert.is(a.events.log.metrics().pending, 0);
    const lastBefore = a.events.bus.lastId;
    await stop(a);

    await s.up();
    const b = await startEvents(storeOf(`${kind}-resume`));
    await waitFor(() => messages(s).length >= 200, { timeoutMs: 20_000, message: '200 events after the restart' });
    assert.equal(messages(s), range(0, 200), 'every event once, in order');
    assert.not.ok(s.types.includes('events_dropped_event'), 'nothing missed');
    message(b.events, 200);
    await waitFor(() => messages(s).length === 201);
    const ids = s.ids.filter((id): id is number => id !== undefined);
    assert.equal(
      ids,
      Array.from({ length: ids.length }, (_, i) => ids[0]! + i),
      'ids consecutive across the restart (Agora-Event-Id header)',
    );
    assert.is(ids.at(-1), lastBefore + 1);
    await stop(b);
  });

  test(`${kind}: cursors are saved after deliveries, so a restart sends nothing delivered again`, async () => {
    const s = await subscriber();
    const a = await startEvents(storeOf(`${kind}-cursor`));
    await a.events.callbacks.subscribe(s.url, '127.0.0.1');
    for (let i = 0; i < 50; i++) message(a.events, i);
    await waitFor(() => messages(s).length === 50);
    const last = a.events.bus.lastId;
    const log = a.store.eventSubscriptions!.log!;
    await waitFor(async () => (await log.cursors())[s.url] === last, { message: 'the cursor saved' });
    await stop(a);
    const b = await startEvents(storeOf(`${kind}-cursor`));
    message(b.events, 50);
    await waitFor(() => messages(s).length >= 51);
    const logB = b.store.eventSubscriptions!.log!;
    await waitFor(async () => (await logB.cursors())[s.url] === last + 1, { message: 'the cursor moved on' });
    assert.equal(messages(s), range(0, 51), 'no event sent twice');
    await stop(b);
  });

  test(`${kind}: a cursor older than the log's bound gets the marker with the exact count, then the rest`, async () => {
    const s = await subscriber();
    const a = await startEvents(storeOf(`${kind}-bound`), { eventLogSize: 30 });
    await a.events.callbacks.subscribe(s.url, '127.0.0.1');
    await waitFor(() => s.types.includes('subscribe_event'));
    await s.down();
    for (let i = 0; i < 100; i++) message(a.events, i);
    await a.events.log.flushed();
    await stop(a);

    await s.up();
    const b = await startEvents(storeOf(`${kind}-bound`), { eventLogSize: 30 });
    await waitFor(() => messages(s).length === 30, { timeoutMs: 20_000, message: 'the 30 events the log kept' });
    const at = s.types.indexOf('events_dropped_event');
    assert.is(at, 1, 'the marker right after subscribe_event');
    assert.is(s.received[at]!.count, 70, '100 published, 30 kept: exactly 70 missed');
    assert.is(s.received[at]!.reason, 'event_log_exceeded');
    assert.is(s.ids[at], undefined, 'a marker carries no event id');
    assert.equal(messages(s), range(70, 100));
    const m = b.events.callbacks.metrics()[0]!;
    assert.is(m.dropped, 70);
    assert.is(m.markersDelivered, 1);
    await stop(b);
  });

  test(`${kind}: a full in-memory queue reads back from the log instead of dropping`, async () => {
    const s = await subscriber();
    const a = await startEvents(storeOf(`${kind}-window`), { subscriberQueueSize: 5, eventLogSize: 1000 });
    await a.events.callbacks.subscribe(s.url, '127.0.0.1');
    await waitFor(() => s.types.includes('subscribe_event'));
    s.mode = 'fail';
    for (let i = 0; i < 120; i++) message(a.events, i);
    await a.events.log.flushed();
    await waitFor(() => s.refused > 0);
    assert.ok(a.events.callbacks.metrics()[0]!.queued >= 119, 'queued counts what waits in the log');
    s.mode = 'ok';
    await waitFor(() => messages(s).length === 120, {
      timeoutMs: 20_000,
      message: `all 120 (got ${messages(s).join(',')}) ${JSON.stringify(a.events.callbacks.metrics())}`,
    });
    assert.equal(messages(s), range(0, 120));
    assert.not.ok(s.types.includes('events_dropped_event'));
    assert.is(a.events.callbacks.metrics()[0]!.dropped, 0);
    await stop(a);
  });

  test(`${kind}: SSE Last-Event-ID replay reaches back into the log after a restart`, async () => {
    const a = await startEvents(storeOf(`${kind}-sse`), { streamReplayBufferSize: 50 });
    for (let i = 0; i < 20; i++) message(a.events, i);
    await a.events.log.flushed();
    const firstId = a.events.bus.lastId - 19;
    await stop(a);
    const b = await startEvents(storeOf(`${kind}-sse`), { streamReplayBufferSize: 50 });
    assert.is(b.events.bus.lastId, firstId + 19, 'the new bus continues after the logged ids');
    const server = createServer((req, res) => b.events.streams.attach(req, res, { lastEventId: firstId + 9 }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const stream = await openStream(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    try {
      await waitFor(() => stream.events().some((f) => f.event === 'event_stream_attached'));
      const frames = stream.events();
      assert.equal(
        frames.slice(0, 10).map((f) => [f.id, Number(f.data.message)]),
        range(10, 20).map((i) => [firstId + i, i]),
        'the 10 events after Last-Event-ID, from the previous run',
      );
      assert.not.ok(frames.some((f) => f.event === 'events_dropped_event'));
    } finally {
      stream.close();
      b.events.streams.dispose();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await stop(b);
    }
  });
}

test('redis: appending a batch again (an answer lost) writes nothing twice; the stream is bounded', async () => {
  const store = redisStore('idem:');
  await store.open();
  try {
    const log = store.eventSubscriptions.log!;
    const batch = range(1, 11).map((id) => ({ id, json: `{"n":${id}}` }));
    await log.append(batch, 8);
    await log.append(batch, 8);
    await log.append([...batch.slice(5), { id: 11, json: '{"n":11}' }], 8);
    assert.equal(await log.bounds(), { first: 4, last: 11 });
    assert.equal(
      (await log.after(0, 100)).map((e) => e.id),
      range(4, 12),
    );
    assert.equal(
      (await log.after(6, 2)).map((e) => e.json),
      ['{"n":7}', '{"n":8}'],
    );
    assert.equal(
      (await log.tail(3)).map((e) => e.id),
      [9, 10, 11],
    );
  } finally {
    await store.close();
  }
});

test('redis down: events wait (bounded), the oldest are dropped, and the subscriber is told the exact count', async () => {
  const store = redisStore('down:');
  await store.open();
  const bus = new EventBus();
  const log = new EventLog(bus, store.eventSubscriptions.log, { maxPending: 5, retryMs: 20 });
  const s = await subscriber();
  const callbacks = new HttpCallbacks(
    { bus, log, repository: store.eventSubscriptions },
    { backoffInitialMs: 20, backoffMaxMs: 200 },
  );
  try {
    await log.start(0);
    await callbacks.start();
    await callbacks.subscribe(s.url, '127.0.0.1');
    await waitFor(() => s.types.includes('subscribe_event'));
    const restarted = redis.restart({ downMs: 2000 });
    const probe = store.eventSubscriptions.log!;
    await waitFor(
      async () =>
        !(await probe.bounds().then(
          () => true,
          () => false,
        )),
      { message: 'redis down' },
    );
    // One event per turn of the event loop: each append fails, and the waiting events pile up past 5.
    for (let i = 0; i < 20; i++) {
      bus.publish({ slaveId: 'a', executorId: 'e', message: String(i), eventType: 'framework_message_event' });
      await new Promise((r) => setTimeout(r, 5));
    }
    await waitFor(() => log.metrics().failures >= 1 && log.metrics().pending === 5, {
      message: 'appends failing while redis is down, 5 events waiting',
    });
    await restarted;
    await waitFor(() => messages(s).length === 5, { timeoutMs: 20_000, message: 'the 5 events kept while down' });
    const at = s.types.indexOf('events_dropped_event');
    assert.is(s.received[at]!.count, 15);
    assert.is(s.received[at]!.reason, 'event_log_exceeded');
    assert.equal(messages(s), range(15, 20));
    assert.is(log.metrics().dropped, 15);
  } finally {
    callbacks.dispose();
    log.dispose();
    bus.dispose();
    await store.close();
  }
});

test('file: a torn last line (crash mid-append) is ignored and cut, and appends go on', async () => {
  const dir = join(work, 'torn');
  const first = new FileStore(dir);
  await first.open();
  await first.eventSubscriptions.log!.append(
    [
      { id: 1, json: '{"n":1}' },
      { id: 2, json: '{"n":2}' },
    ],
    100,
  );
  const file = join(dir, 'event-log.jsonl');
  await writeFile(file, `${await readFile(file, 'utf8')}3\t{"n":`);
  const second = new FileStore(dir);
  await second.open();
  const log = second.eventSubscriptions.log!;
  assert.equal(await log.bounds(), { first: 1, last: 2 });
  await log.append([{ id: 3, json: '{"n":3}' }], 100);
  assert.is(await readFile(file, 'utf8'), '1\t{"n":1}\n2\t{"n":2}\n3\t{"n":3}\n');
});

test('file: a clean stop while an append is in flight still stores the events waiting behind it', async () => {
  const dir = join(work, 'stop-in-flight');
  const store = new FileStore(dir);
  await store.open();
  const bus = new EventBus({ firstId: 1 });
  const log = new EventLog(bus, store.eventSubscriptions.log);
  await log.start(0);
  try {
    bus.publish({ slaveId: 'a', executorId: 'e', message: '1', eventType: 'framework_message_event' });
    await Promise.resolve(); // the first append starts (file I/O: it cannot end within microtasks)
    for (let n = 2; n <= 5; n++) {
      bus.publish({ slaveId: 'a', executorId: 'e', message: String(n), eventType: 'framework_message_event' });
    }
    log.dispose();
    await waitFor(async () => (await readFile(join(dir, 'event-log.jsonl'), 'utf8')).split('\n').length === 6, {
      timeoutMs: 5000,
    });
    const reopened = new FileStore(dir);
    await reopened.open();
    assert.equal(
      (await reopened.eventSubscriptions.log!.after(0, 10)).map((e) => JSON.parse(e.json).message),
      ['1', '2', '3', '4', '5'],
    );
    await reopened.close();
  } finally {
    log.dispose();
    bus.dispose();
    await store.close();
  }
});

test.run();
