import type { AddressInfo } from 'node:net';
import { agora } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket, { WebSocketServer } from 'ws';
import { Backoff, CLOSE_PROTOCOL_ERROR, type FrameChannel, connectChannel, wrapSocket } from '../src/index.js';

const { Call, Event } = agora.v1.scheduler;
type ServerSide = FrameChannel<agora.v1.scheduler.Call, agora.v1.scheduler.Event.$Properties>;

async function withServer(fn: (url: string, accepted: Promise<ServerSide>) => Promise<void>): Promise<void> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const accepted = new Promise<ServerSide>((resolve) =>
    wss.once('connection', (ws) => resolve(wrapSocket(ws, Call, Event, 'client'))),
  );
  try {
    await fn(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, accepted);
  } finally {
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  }
}

const test = suite('transport - one protobuf message per binary frame');

test('messages round-trip both ways', async () => {
  await withServer(async (url, accepted) => {
    const client = await connectChannel(url, Event, Call);
    const server = await accepted;
    const gotCall = new Promise<agora.v1.scheduler.Call>((r) => server.onDidReceive(r));
    client.send({ type: Call.Type.SUBSCRIBE, subscribe: { framework_info: { user: 'u', name: 'fw' } } });
    const call = await gotCall;
    assert.is(call.type, Call.Type.SUBSCRIBE);
    assert.is(call.subscribe?.framework_info.name, 'fw');
    const gotEvent = new Promise<agora.v1.scheduler.Event>((r) => client.onDidReceive(r));
    server.send({ type: Event.Type.SUBSCRIBED, subscribed: { framework_id: { value: 'f-1' } } });
    assert.is((await gotEvent).subscribed?.framework_id.value, 'f-1');
    const closed = new Promise((r) => server.onDidClose(r));
    client.close();
    await closed;
    assert.not.ok(server.isOpen);
  });
});

test('a malformed frame closes that connection with AGORA_ERR_BAD_FRAME and delivers nothing', async () => {
  await withServer(async (url, accepted) => {
    const raw = new WebSocket(url);
    await new Promise((r) => raw.once('open', r));
    const server = await accepted;
    const received: unknown[] = [];
    server.onDidReceive((m) => received.push(m));
    const bad = new Promise<string>((r) => server.onDidReceiveBadFrame((e) => r(e.code)));
    const closed = new Promise<{ code: number; reason: string }>((r) =>
      raw.once('close', (code, reason) => r({ code, reason: reason.toString() })),
    );
    raw.send(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), { binary: true });
    assert.is(await bad, 'AGORA_ERR_BAD_FRAME');
    const c = await closed;
    assert.is(c.code, CLOSE_PROTOCOL_ERROR);
    assert.match(c.reason, /^AGORA_ERR_BAD_FRAME/);
    assert.equal(received, []);
  });
});

test('a text frame is a protocol error too', async () => {
  await withServer(async (url, accepted) => {
    const raw = new WebSocket(url);
    await new Promise((r) => raw.once('open', r));
    await accepted;
    const closed = new Promise<number>((r) => raw.once('close', (code) => r(code)));
    raw.send('{"type":"SUBSCRIBE"}');
    assert.is(await closed, CLOSE_PROTOCOL_ERROR);
  });
});

test('sending on a closed channel throws AGORA_ERR_CLOSED; trySend returns false', async () => {
  await withServer(async (url, accepted) => {
    const client = await connectChannel(url, Event, Call);
    await accepted;
    const closed = new Promise((r) => client.onDidClose(r));
    client.close();
    await closed;
    assert.not.ok(client.trySend({ type: Call.Type.REVIVE }));
    try {
      client.send({ type: Call.Type.REVIVE });
      assert.unreachable('send on a closed channel');
    } catch (err) {
      assert.is((err as { code?: string }).code, 'AGORA_ERR_CLOSED');
    }
  });
});

test('connecting to nothing fails with a typed error', async () => {
  try {
    await connectChannel('ws://127.0.0.1:1/', Event, Call, { timeoutMs: 2000 });
    assert.unreachable('connected to port 1');
  } catch (err) {
    assert.is((err as { code?: string }).code, 'AGORA_ERR_CLOSED');
  }
});

const backoff = suite('backoff - grows, is capped, resets');

backoff('delays grow by the factor within jitter and stay under the cap', () => {
  const b = new Backoff({ initialMs: 100, maxMs: 1000, factor: 2, random: () => 1 });
  assert.equal([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()], [100, 200, 400, 800, 1000, 1000]);
  b.reset();
  assert.is(b.next(), 100);
  const low = new Backoff({ initialMs: 100, random: () => 0 });
  assert.is(low.next(), 50, 'full jitter never goes below half the ceiling');
});

test.run();
backoff.run();
