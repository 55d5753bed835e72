/**
 * Event delivery benchmark: events per second delivered to 10 real HTTP
 * callback subscribers on loopback (each a node:http server answering 200),
 * through Marathon's event bus and per-subscriber ordered queues.
 *
 * Measured in the same run:
 *  - bus + queues:   publish N events on the EventBus (all at once: the
 *                    publisher never waits), until every subscriber has
 *                    acknowledged all N, in order (checked).
 *  - baseline POST:  the same N JSON bodies POSTed by a bare loop per
 *                    subscriber (keep-alive agent, one request at a time, no
 *                    bus, no queue): the floor for ordered one-at-a-time
 *                    delivery on this machine.
 *  - publish cost:   time the publisher spends in `publish()` per event with 10
 *                    subscribers (what the scheduler pays).
 *  - 1 hanging:      bus + queues with one of the 10 subscribers never answering:
 *                    throughput to the other 9.
 *  - durable log:    the same through `MarathonEvents` on a real Redis (and on
 *                    the file store): every event is first appended to the
 *                    durable event log (batched), delivered from it, and each
 *                    subscriber's cursor is saved after deliveries (coalesced).
 *
 * Run: node --conditions=development --import tsx bench/events.bench.ts
 */
import { createServer, Agent, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, cpus } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger, systemClock } from '@agora/common';
import { EventBus, FileStore, HttpCallbacks, MarathonEvents, type MarathonStore, RedisStore } from '@agora/marathon';
import { type RedisServer, startRedis } from '@agora/testkit';

const SUBSCRIBERS = 10;
const N = Number(process.env['EVENTS'] ?? 3000);
const REPS = Number(process.env['REPS'] ?? 3);

interface Sink {
  server: Server;
  url: string;
  count: number;
  last: number;
  outOfOrder: number;
  hang: boolean;
}

async function sink(hang = false): Promise<Sink> {
  const s: Sink = { server: undefined as unknown as Server, url: '', count: 0, last: -1, outOfOrder: 0, hang };
  s.server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (s.hang) return;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { message?: string };
      const n = Number(body.message);
      if (Number.isFinite(n)) {
        if (n !== s.last + 1) s.outOfOrder++;
        s.last = n;
        s.count++;
      }
      res.writeHead(200).end();
    });
  });
  s.server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => s.server.listen(0, '127.0.0.1', () => r()));
  s.url = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}/cb`;
  return s;
}

async function closeSinks(sinks: Sink[]): Promise<void> {
  for (const s of sinks) {
    s.server.closeAllConnections();
    await new Promise<void>((r) => s.server.close(() => r()));
  }
}

function bodyOf(i: number): string {
  return JSON.stringify({
    slaveId: 'agent-1',
    executorId: 'e',
    message: String(i),
    eventType: 'framework_message_event',
    timestamp: new Date().toISOString(),
  });
}

async function until(pred: () => boolean): Promise<void> {
  while (!pred()) await new Promise((r) => setTimeout(r, 2));
}

async function viaBus(hanging: number): Promise<{ seconds: number; publishUs: number; delivered: number }> {
  const sinks = await Promise.all(Array.from({ length: SUBSCRIBERS }, (_, i) => sink(i < hanging)));
  const bus = new EventBus();
  const callbacks = new HttpCallbacks({ bus }, { queueSize: N + 10, requestTimeoutMs: 60_000 });
  await callbacks.start(sinks.map((s) => s.url));
  const healthy = sinks.filter((s) => !s.hang);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    bus.publish({ slaveId: 'agent-1', executorId: 'e', message: String(i), eventType: 'framework_message_event' });
  }
  const publishUs = ((performance.now() - t0) * 1000) / N;
  await until(() => healthy.every((s) => s.count === N));
  const seconds = (performance.now() - t0) / 1000;
  if (healthy.some((s) => s.outOfOrder > 0)) throw new Error('events out of order');
  callbacks.dispose();
  await closeSinks(sinks);
  return { seconds, publishUs, delivered: healthy.length * N };
}

let redis: RedisServer | undefined;
let round = 0;

/** Through MarathonEvents with a store: durable log, delivery from it, cursors saved. */
async function viaDurableLog(
  kind: 'redis' | 'file',
): Promise<{ seconds: number; publishUs: number; delivered: number; cursorsSaved: boolean }> {
  const sinks = await Promise.all(Array.from({ length: SUBSCRIBERS }, () => sink()));
  const dir = kind === 'file' ? await mkdtemp(join(tmpdir(), 'agora-events-bench-')) : '';
  const store: MarathonStore =
    kind === 'redis' ? new RedisStore({ url: redis!.url, prefix: `bench${round++}:` }) : new FileStore(dir);
  await store.open();
  const events = new MarathonEvents({
    clock: systemClock,
    logger: silentLogger(),
    repository: store.eventSubscriptions,
    config: { subscriberQueueSize: N + 10, callbackTimeoutMs: 60_000 },
    httpEndpoints: sinks.map((s) => s.url),
  });
  await events.start();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    events.bus.publish({
      slaveId: 'agent-1',
      executorId: 'e',
      message: String(i),
      eventType: 'framework_message_event',
    });
  }
  const publishUs = ((performance.now() - t0) * 1000) / N;
  await until(() => sinks.every((s) => s.count === N));
  const seconds = (performance.now() - t0) / 1000;
  if (sinks.some((s) => s.outOfOrder > 0)) throw new Error('events out of order');
  // The cursors reach the last event shortly after (one coalesced write per round trip).
  const last = events.bus.lastId;
  let cursorsSaved = false;
  for (let i = 0; i < 500 && !cursorsSaved; i++) {
    const c = await store.eventSubscriptions!.log!.cursors();
    cursorsSaved = sinks.every((s) => c[s.url] === last);
    if (!cursorsSaved) await new Promise((r) => setTimeout(r, 10));
  }
  events.dispose();
  await store.close();
  await closeSinks(sinks);
  if (dir !== '') await rm(dir, { recursive: true, force: true });
  return { seconds, publishUs, delivered: SUBSCRIBERS * N, cursorsSaved };
}

function post(agent: Agent, url: string, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve());
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function baseline(): Promise<{ seconds: number; delivered: number }> {
  const sinks = await Promise.all(Array.from({ length: SUBSCRIBERS }, () => sink()));
  const bodies = Array.from({ length: N }, (_, i) => bodyOf(i));
  const t0 = performance.now();
  await Promise.all(
    sinks.map(async (s) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      for (const b of bodies) await post(agent, s.url, b);
      agent.destroy();
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  await closeSinks(sinks);
  return { seconds, delivered: SUBSCRIBERS * N };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  console.log(`# events bench: ${SUBSCRIBERS} subscribers, ${N} events, median of ${REPS} (after 1 warm-up)`);
  console.log(`# ${cpus()[0]?.model ?? '?'} ×${availableParallelism()}, Node ${process.version}`);
  redis = await startRedis();
  await viaBus(0);
  await baseline();
  await viaDurableLog('redis');
  const bus: number[] = [];
  const pub: number[] = [];
  const base: number[] = [];
  const hang: number[] = [];
  const durable: number[] = [];
  const durablePub: number[] = [];
  const file: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const d = await viaDurableLog('redis');
    if (!d.cursorsSaved) throw new Error('cursors not saved');
    durable.push(d.delivered / d.seconds);
    durablePub.push(d.publishUs);
    const f = await viaDurableLog('file');
    if (!f.cursorsSaved) throw new Error('cursors not saved (file)');
    file.push(f.delivered / f.seconds);
    const a = await viaBus(0);
    bus.push(a.delivered / a.seconds);
    pub.push(a.publishUs);
    const b = await baseline();
    base.push(b.delivered / b.seconds);
    const h = await viaBus(1);
    hang.push(h.delivered / h.seconds);
  }
  const row = (name: string, v: number) => console.log(`| ${name} | ${Math.round(v).toLocaleString('en-US')} |`);
  console.log('| scenario | events/s delivered (sum over subscribers) |');
  console.log('|---|---:|');
  row('bus + per-subscriber queues, 10 subscribers', median(bus));
  row('baseline: bare sequential POST loop per subscriber, 10 subscribers', median(base));
  row('bus + queues, 9 healthy + 1 hanging subscriber (to the 9)', median(hang));
  row('durable log on Redis (MarathonEvents), 10 subscribers', median(durable));
  row('durable log on the file store (MarathonEvents), 10 subscribers', median(file));
  console.log(`ratio bus/baseline: ${(median(bus) / median(base)).toFixed(2)}`);
  console.log(`ratio durable Redis/baseline: ${(median(durable) / median(base)).toFixed(2)}`);
  console.log(`ratio durable file/baseline: ${(median(file) / median(base)).toFixed(2)}`);
  console.log(`publish() cost with 10 subscribers: ${median(pub).toFixed(2)} µs per event`);
  console.log(`publish() cost with the durable log (Redis): ${median(durablePub).toFixed(2)} µs per event`);
  await redis.stop();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
