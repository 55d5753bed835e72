/**
 * `GET /v2/events` on a real Marathon: Marathon's framing plus ids, the
 * Accept check, event_type filters, keep-alive comments, Last-Event-ID
 * replay (and its limit), and a slow reader cut off with bounded memory.
 */
import { createServer } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { join } from 'node:path';
import { removeTempDir, tempDir, waitFor } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { proxyToLeader } from '../../src/leadership/leader-proxy.js';
import type { Marathon } from '../../src/marathon.js';
import { client, startMarathon } from '../api/harness.js';
import { openStream, type SseFrame, type SseStream } from './sse-client.js';

let work = '';
let marathon: Marathon;
const streams: SseStream[] = [];
const http = client(() => marathon.url);

async function stream(query = '', headers: Record<string, string> = {}): Promise<SseStream> {
  const s = await openStream(`${marathon.url}/v2/events${query}`, headers);
  streams.push(s);
  return s;
}

const types = (s: SseStream): string[] => s.events().map((f) => f.event!);

const test = suite('SSE event stream - framing, filters, keep-alive, replay, slow readers');

test.before(async () => {
  work = await tempDir('agora-events-sse-');
  marathon = await startMarathon({
    stateDir: join(work, 'm'),
    events: { streamHeartbeatMs: 100, streamMaxOutstandingMessages: 50, streamReplayBufferSize: 30 },
  });
});

test.after(async () => {
  for (const s of streams) s.close();
  await marathon?.close();
  await removeTempDir(work);
});

test('without Accept: text/event-stream the answer is 406 with a message', async () => {
  const r = await fetch(`${marathon.url}/v2/events`, { headers: { accept: 'application/json' } });
  assert.is(r.status, 406);
  assert.match(((await r.json()) as { message: string }).message, /text\/event-stream/);
});

test('frames are event:/data:/id:, the first is event_stream_attached, ids increase', async () => {
  const s = await stream();
  assert.is(s.status, 200);
  assert.match(String(s.headers['content-type']), /^text\/event-stream/);
  await waitFor(() => s.events().length >= 1);
  const first = s.events()[0]!;
  assert.is(first.event, 'event_stream_attached');
  assert.is(first.data.eventType, 'event_stream_attached');
  assert.is(first.data.remoteAddress, '127.0.0.1');
  await http.post('/v2/apps', { id: '/sse-a', cmd: 'sleep 100', cpus: 0.1, mem: 16 });
  await waitFor(() => types(s).includes('deployment_info'));
  assert.equal(types(s).slice(0, 3), ['event_stream_attached', 'api_post_event', 'deployment_info']);
  const ids = s.events().map((f) => f.id!);
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, 'ids increase');
  for (const f of s.events()) assert.is(f.data.eventType, f.event);
  s.close();
});

test('event_type filters (repeatable and comma lists) pass only those types', async () => {
  const s = await stream('?event_type=api_post_event&event_type=deployment_info,group_change_success');
  const all = await stream();
  await waitFor(() => types(all).includes('event_stream_attached'));
  await http.post('/v2/apps', { id: '/sse-b', cmd: 'sleep 100', cpus: 0.1, mem: 16 });
  await waitFor(() => types(s).includes('group_change_success'));
  assert.equal(types(s).slice(0, 3), ['api_post_event', 'deployment_info', 'group_change_success']);
  const allowed = new Set(['api_post_event', 'deployment_info', 'group_change_success']);
  assert.ok(
    types(s).every((t) => allowed.has(t)),
    types(s).join(),
  );
  const none = await stream('?event_type=no_such_event');
  await http.post('/v2/apps', { id: '/sse-c', cmd: 'sleep 100', cpus: 0.1, mem: 16 });
  await waitFor(() => types(all).filter((t) => t === 'api_post_event').length === 2);
  assert.equal(types(none), [], 'an unknown type matches nothing');
  s.close();
  all.close();
  none.close();
});

test('keep-alive comments arrive on an idle stream', async () => {
  const s = await stream('?event_type=no_such_event');
  await waitFor(() => s.frames.filter((f) => f.comment !== undefined).length >= 2, { message: 'two keep-alives' });
  assert.is(s.frames.find((f) => f.comment !== undefined)?.comment, 'keep-alive');
  s.close();
});

test('a client reconnecting with Last-Event-ID receives exactly what it missed, in order', async () => {
  const witness = await stream('?event_type=api_post_event,deployment_info,group_change_success');
  const a = await stream('?event_type=api_post_event,deployment_info,group_change_success');
  await http.post('/v2/apps', { id: '/sse-d', cmd: 'sleep 100', cpus: 0.1, mem: 16 });
  await waitFor(() => types(a).includes('group_change_success'));
  const last = a.events().at(-1)!.id!;
  a.close();
  await http.post('/v2/apps', { id: '/sse-e', cmd: 'sleep 100', cpus: 0.1, mem: 16 });
  await http.post('/v2/apps', { id: '/sse-f', cmd: 'sleep 100', cpus: 0.1, mem: 16 });
  const appOf = (f: SseFrame): string | undefined => f.data?.appDefinition?.id;
  await waitFor(() => witness.events().some((f) => appOf(f) === '/sse-f'));
  await waitFor(() => types(witness).filter((t) => t === 'group_change_success').length === 3);
  const b = await stream('?event_type=api_post_event,deployment_info,group_change_success', {
    'last-event-id': String(last),
  });
  const missed = witness.events().filter((f) => f.id! > last);
  await waitFor(() => b.events().length >= missed.length);
  assert.equal(
    b
      .events()
      .slice(0, missed.length)
      .map((f) => [f.id, f.event]),
    missed.map((f) => [f.id, f.event]),
  );
  assert.equal(b.events()[0]!.data.appDefinition.id, '/sse-e');
  witness.close();
  b.close();
});

test('a Last-Event-ID older than the replay buffer gets a marker with the exact count first', async () => {
  const bus = marathon.events.bus;
  const before = bus.lastId;
  for (let i = 0; i < 40; i++) {
    bus.publish({ slaveId: 's', executorId: 'e', message: String(i), eventType: 'framework_message_event' });
  }
  const s = await stream('', { 'last-event-id': String(before) });
  await waitFor(() => types(s).includes('event_stream_attached'));
  const frames = s.events();
  const attachedAt = frames.findIndex((f) => f.event === 'event_stream_attached');
  const [marker, ...replayed] = frames.slice(0, attachedAt);
  const attachedId = frames[attachedAt]!.id!;
  assert.is(marker!.event, 'events_dropped_event');
  assert.is(marker!.id, undefined, 'markers carry no id');
  assert.is(marker!.data.reason, 'replay_buffer_exceeded');
  assert.is(replayed.length, 30, 'the buffer holds 30 events');
  assert.is(marker!.data.count + replayed.length, attachedId - before - 1, 'every event is replayed or counted');
  assert.ok(marker!.data.count >= 10, '40 published, 30 kept');
  assert.equal(
    replayed.map((f) => f.id),
    Array.from({ length: 30 }, (_, i) => attachedId - 30 + i),
    'the newest 30, contiguous, in order',
  );
  const messages = replayed.filter((f) => f.event === 'framework_message_event').map((f) => Number(f.data.message));
  assert.equal(
    messages,
    Array.from({ length: messages.length }, (_, i) => 40 - messages.length + i),
  );
  s.close();
});

test('a reader that stops reading is told and cut off; memory stays bounded; others keep going', async () => {
  const fast = await stream('?event_type=framework_message_event');
  const socket = connect(marathon.port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(
    `GET /v2/events?event_type=framework_message_event HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`,
  );
  socket.pause();
  let closed = false;
  socket.on('close', () => {
    closed = true;
  });
  const streamsBefore = marathon.events.streams.size;
  await waitFor(() => marathon.events.streams.size >= streamsBefore, { message: 'slow reader attached' });
  const big = 'x'.repeat(16 * 1024);
  const bus = marathon.events.bus;
  let n = 0;
  await waitFor(
    async () => {
      for (let i = 0; i < 50; i++) {
        bus.publish({ slaveId: 's', executorId: 'e', message: `${n++}:${big}`, eventType: 'framework_message_event' });
      }
      await new Promise((r) => setImmediate(r));
      return marathon.events.streams.cutOffReaders >= 1;
    },
    { timeoutMs: 30_000, intervalMs: 10, message: 'slow reader cut off' },
  );
  assert.ok(
    marathon.events.streams.peakWaiting <= 51,
    `at most 51 frames waited (${marathon.events.streams.peakWaiting})`,
  );
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.resume();
  await waitFor(() => closed, { timeoutMs: 20_000, message: 'slow reader disconnected' });
  const text = Buffer.concat(chunks).toString('utf8');
  assert.match(text.slice(-400), /event: events_dropped_event\ndata: \{"count":\d+,"reason":"slow_reader"/);
  await waitFor(() => fast.events().length === n, { timeoutMs: 30_000, message: 'the reading client got every event' });
  assert.not.ok(fast.ended);
  fast.close();
});

test('the stream works through a standby proxying to the leader, with filters and Last-Event-ID', async () => {
  const standby = createServer((req, res) => {
    void proxyToLeader(req, res, 'http://standby', async () => marathon.url);
  });
  await new Promise<void>((r) => standby.listen(0, '127.0.0.1', () => r()));
  const port = (standby.address() as AddressInfo).port;
  try {
    const bus = marathon.events.bus;
    const before = bus.lastId;
    bus.publish({ slaveId: 's', executorId: 'e', message: 'missed', eventType: 'framework_message_event' });
    const s = await openStream(`http://127.0.0.1:${port}/v2/events?event_type=framework_message_event`, {
      'last-event-id': String(before),
    });
    streams.push(s);
    assert.is(s.status, 200);
    await waitFor(() => s.events().length === 1, { message: 'replayed through the proxy' });
    bus.publish({ slaveId: 's', executorId: 'e', message: 'live', eventType: 'framework_message_event' });
    await waitFor(() => s.events().length === 2, { message: 'live event through the proxy' });
    assert.equal(
      s.events().map((f) => f.data.message),
      ['missed', 'live'],
    );
    assert.is(s.events()[1]!.id, bus.lastId);
    s.close();
  } finally {
    standby.closeAllConnections();
    await new Promise<void>((r) => standby.close(() => r()));
  }
});

test.run();
