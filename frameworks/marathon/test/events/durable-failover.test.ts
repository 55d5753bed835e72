/**
 * Durable event delivery with real Marathon processes on a real Redis (and
 * real ZooKeeper for HA), killed with SIGKILL while a callback subscriber is
 * down: once the subscriber is back, the restarted Marathon (or the standby
 * that took over) delivers every event the dead one had published and
 * stored, in order, then its own. An SSE reader on the dead Marathon is the
 * witness of what had been published (SSE only sends stored events).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  freePort,
  type RedisServer,
  removeTempDir,
  ServerProcess,
  startRedis,
  startZooKeeper,
  tempDir,
  waitFor,
  type ZooKeeperServer,
} from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openStream, type SseFrame, type SseStream } from './sse-client.js';
import { Subscriber } from './subscriber.js';

const ROOT = join(import.meta.dirname, '../../../..');
const MAIN = join(ROOT, 'packages/cli/src/main.ts');

let work = '';
let redis: RedisServer;
let zk: ZooKeeperServer | undefined;
let deadMaster = 0;
const procs: Array<{ proc: ServerProcess; port: number; log: string }> = [];
const subscribers: Subscriber[] = [];
const streams: SseStream[] = [];

function spawnMarathon(
  port: number,
  name: string,
  extra: string[],
): { proc: ServerProcess; port: number; log: string } {
  const log = join(work, `${name}.log`);
  const proc = new ServerProcess({
    command: process.execPath,
    args: [
      '--conditions=development',
      '--import',
      'tsx',
      MAIN,
      'marathon',
      // No master: these tests are about events (the scheduler keeps trying to subscribe in the background).
      '--master',
      `127.0.0.1:${deadMaster}`,
      '--http_port',
      String(port),
      ...extra,
    ],
    cwd: ROOT,
    logFile: log,
    env: { ...process.env, AGORA_LOG_LEVEL: 'info' },
  });
  const m = { proc, port, log };
  procs.push(m);
  return m;
}

async function call(port: number, method: string, path: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text === '' ? undefined : JSON.parse(text) };
}

const up = (port: number) => async () =>
  (await call(port, 'GET', '/v2/eventSubscriptions').catch(() => undefined))?.status === 200;

async function withLogs(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    for (const m of procs) {
      const text = await readFile(m.log, 'utf8').catch(() => '');
      process.stderr.write(`--- ${m.log} (last 3000 chars)\n${text.slice(-3000)}\n`);
    }
    throw err;
  }
}

/** POST apps while the subscriber is down; returns once the SSE witness saw the last one (so it is stored). */
async function publishApps(port: number, witness: SseStream, prefix: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await call(port, 'POST', '/v2/apps', { id: `/${prefix}/app-${i}`, cmd: 'sleep 100', cpus: 0.01, mem: 8 });
    assert.is(r.status, 201, r.text);
  }
  await waitFor(
    () =>
      witness
        .events()
        .some((f) => f.event === 'api_post_event' && f.data.appDefinition.id === `/${prefix}/app-${n - 1}`),
    { timeoutMs: 20_000, message: 'the witness to see the last api_post_event' },
  );
}

/** The subscriber got every witnessed event (ids and types), in order, without gaps or markers. */
function assertDeliveredInOrder(s: Subscriber, witnessed: SseFrame[]): void {
  const got = s.received.map((e, i) => ({ id: s.ids[i], type: e.eventType }));
  assert.not.ok(
    got.some((e) => e.type === 'events_dropped_event'),
    'nothing was missed',
  );
  const ids = got.map((e) => e.id!);
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! >= ids[i - 1]!, `ids in order at ${i}`);
  const unique = [...new Set(ids)];
  const byId = new Map(got.map((e) => [e.id, e.type]));
  for (const f of witnessed) assert.is(byId.get(f.id), f.event, `event ${f.id} (${f.event}) delivered`);
  assert.equal(
    unique,
    Array.from({ length: unique.length }, (_, i) => unique[0]! + i),
    'consecutive ids: nothing skipped',
  );
}

const test = suite('durable event delivery across kill -9 of real Marathon processes');

test.before(async () => {
  work = await tempDir('agora-events-failover-');
  redis = await startRedis({ persistence: true });
  deadMaster = await freePort();
});

test.after(async () => {
  for (const st of streams) st.close();
  for (const m of procs) await m.proc.stop('SIGKILL');
  for (const s of subscribers) await s.stop();
  await redis?.stop();
  await zk?.stop();
  await removeTempDir(work);
});

test('a subscriber down while Marathon is kill -9ed and restarted receives every earlier event, in order', () =>
  withLogs(async () => {
    const s = await Subscriber.start();
    subscribers.push(s);
    const port = await freePort();
    const extra = ['--redis', `${redis.url}/1`];
    const a = spawnMarathon(port, 'marathon-restart-a', extra);
    await waitFor(up(port), { timeoutMs: 30_000, intervalMs: 100, message: 'marathon a up' });
    const witness = await openStream(`http://127.0.0.1:${port}/v2/events`);
    streams.push(witness);
    const sub = await call(port, 'POST', `/v2/eventSubscriptions?callbackUrl=${encodeURIComponent(s.url)}`);
    assert.is(sub.status, 200, sub.text);
    await waitFor(() => s.types.includes('subscribe_event'), { message: 'subscribe_event delivered' });
    await s.down();
    await publishApps(port, witness, 'r', 8);
    const witnessed = witness.events().filter((f) => f.id! > s.ids[0]!);
    a.proc.child.kill('SIGKILL');
    await a.proc.exited;
    witness.close();

    await s.up();
    spawnMarathon(port, 'marathon-restart-b', extra);
    await waitFor(up(port), { timeoutMs: 30_000, intervalMs: 100, message: 'marathon b up' });
    const lastWitnessed = witnessed.at(-1)!.id!;
    await waitFor(() => s.ids.some((id) => id !== undefined && id >= lastWitnessed), {
      timeoutMs: 20_000,
      message: 'the events of the killed Marathon delivered',
    });
    assertDeliveredInOrder(s, witnessed);
    const posted = s.received.filter((e) => e.eventType === 'api_post_event').map((e) => e.appDefinition.id);
    assert.equal(
      posted,
      Array.from({ length: 8 }, (_, i) => `/r/app-${i}`),
    );
    // The restarted Marathon's own events follow, with ids after the killed one's.
    const r = await call(port, 'POST', '/v2/apps', { id: '/r/after', cmd: 'sleep 100', cpus: 0.01, mem: 8 });
    assert.is(r.status, 201, r.text);
    await waitFor(() => s.received.some((e) => e.eventType === 'api_post_event' && e.appDefinition.id === '/r/after'));
    assertDeliveredInOrder(s, witnessed);
  }));

test('--event_log_size bounds the log: after a restart the subscriber gets the marker with the exact count, then the rest', () =>
  withLogs(async () => {
    const s = await Subscriber.start();
    subscribers.push(s);
    const port = await freePort();
    const extra = ['--redis', `${redis.url}/3`, '--event_log_size', '5'];
    const a = spawnMarathon(port, 'marathon-bound-a', extra);
    await waitFor(up(port), { timeoutMs: 30_000, intervalMs: 100, message: 'marathon a up' });
    const witness = await openStream(`http://127.0.0.1:${port}/v2/events`);
    streams.push(witness);
    const sub = await call(port, 'POST', `/v2/eventSubscriptions?callbackUrl=${encodeURIComponent(s.url)}`);
    assert.is(sub.status, 200, sub.text);
    await waitFor(() => s.types.includes('subscribe_event'), { message: 'subscribe_event delivered' });
    const cursor = s.ids[0]!;
    await s.down();
    await publishApps(port, witness, 'b', 4);
    const witnessed = witness.events().filter((f) => f.id! > cursor);
    assert.ok(witnessed.length > 5, `more events (${witnessed.length}) than the log keeps`);
    a.proc.child.kill('SIGKILL');
    await a.proc.exited;
    witness.close();

    await s.up();
    spawnMarathon(port, 'marathon-bound-b', extra);
    await waitFor(up(port), { timeoutMs: 30_000, intervalMs: 100, message: 'marathon b up' });
    const lastWitnessed = witnessed.at(-1)!.id!;
    await waitFor(() => s.ids.some((id) => id !== undefined && id >= lastWitnessed), {
      timeoutMs: 20_000,
      message: 'the kept events delivered',
    });
    const after = s.received.slice(1);
    const marker = after[0];
    if (marker === undefined) throw new Error('nothing delivered after subscribe_event');
    assert.is(marker.eventType, 'events_dropped_event', 'the marker comes first');
    assert.is(marker.reason, 'event_log_exceeded');
    // The log kept the killed Marathon's newest 5 events: delivered next, consecutive, the last witnessed among
    // them; the marker counts exactly the ids between the subscriber's cursor and the first kept one.
    const kept = s.ids.slice(2, 7) as number[];
    assert.is(kept.length, 5);
    assert.equal(
      kept,
      Array.from({ length: 5 }, (_, i) => kept[0]! + i),
      'then 5 consecutive kept events',
    );
    assert.ok(kept[4]! >= lastWitnessed, 'the newest stored event is among them');
    assert.is(marker.count, kept[0]! - cursor - 1, 'exactly the events the log no longer held');
    assert.ok(marker.count >= witnessed.length - 5, `more than the log's bound was missed (${marker.count})`);
  }));

test('2 Marathons on ZooKeeper: kill -9 of the leader with undelivered events; the new leader delivers them', () =>
  withLogs(async () => {
    zk = await startZooKeeper();
    const s = await Subscriber.start();
    subscribers.push(s);
    const extra = ['--redis', `${redis.url}/2`, '--zk', zk.url('/agora-events')];
    const a = spawnMarathon(await freePort(), 'marathon-ha-a', extra);
    const b = spawnMarathon(await freePort(), 'marathon-ha-b', extra);
    const leaderUrl = await waitFor(
      async () => {
        const ra = await call(a.port, 'GET', '/v2/info').catch(() => undefined);
        const rb = await call(b.port, 'GET', '/v2/info').catch(() => undefined);
        if (ra?.status !== 200 || rb?.status !== 200) return undefined;
        return ra.headers.get('X-Marathon-Leader') ?? undefined;
      },
      { timeoutMs: 40_000, intervalMs: 200, message: 'a leader' },
    );
    const leader = leaderUrl.endsWith(`:${a.port}`) ? a : b;
    const standby = leader === a ? b : a;
    const witness = await openStream(`http://127.0.0.1:${leader.port}/v2/events`);
    streams.push(witness);
    const sub = await call(leader.port, 'POST', `/v2/eventSubscriptions?callbackUrl=${encodeURIComponent(s.url)}`);
    assert.is(sub.status, 200, sub.text);
    await waitFor(() => s.types.includes('subscribe_event'), { message: 'subscribe_event delivered' });
    await s.down();
    await publishApps(leader.port, witness, 'ha', 8);
    const witnessed = witness.events().filter((f) => f.id! > s.ids[0]!);
    const detail = await call(leader.port, 'GET', '/v2/eventSubscriptions?detail=true');
    const held = detail.body.subscribers[0];
    assert.is(held.lastDeliveredEventId, s.ids[0], 'nothing after subscribe_event was delivered by the leader');
    assert.ok(held.queued >= witnessed.length - 1, `the leader holds them undelivered (${held.queued})`);
    leader.proc.child.kill('SIGKILL');
    await leader.proc.exited;
    witness.close();
    await s.up();

    await waitFor(
      async () => {
        const r = await call(standby.port, 'GET', '/v2/eventSubscriptions').catch(() => undefined);
        return r?.status === 200 && r.headers.get('X-Marathon-Leader')?.endsWith(`:${standby.port}`) === true;
      },
      { timeoutMs: 40_000, intervalMs: 200, message: 'the standby to take over' },
    );
    const lastWitnessed = witnessed.at(-1)!.id!;
    await waitFor(() => s.ids.some((id) => id !== undefined && id >= lastWitnessed), {
      timeoutMs: 20_000,
      message: 'the new leader to deliver the dead leader’s events',
    });
    assertDeliveredInOrder(s, witnessed);
    const posted = s.received.filter((e) => e.eventType === 'api_post_event').map((e) => e.appDefinition.id);
    assert.equal(
      posted,
      Array.from({ length: 8 }, (_, i) => `/ha/app-${i}`),
    );
    const log = await readFile(standby.log, 'utf8');
    assert.match(log, /event log opened/);
  }));

test.run();
