/**
 * `/v2/eventSubscriptions` on a real Marathon: Marathon's answers, 400 for bad
 * callback URLs, the detail view, `--http_endpoints`, and subscriptions that
 * survive a restart on the file store and on a real Redis.
 */
import { join } from 'node:path';
import { removeTempDir, type RedisServer, startRedis, tempDir, waitFor } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { MarathonConfig } from '../../src/config.js';
import type { Marathon } from '../../src/marathon.js';
import { client, startMarathon } from '../api/harness.js';
import { Subscriber } from './subscriber.js';

let work = '';
let redis: RedisServer | undefined;
let marathon: Marathon | undefined;
const subscribers: Subscriber[] = [];
const http = client(() => marathon!.url);
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

async function sub(): Promise<Subscriber> {
  const s = await Subscriber.start();
  subscribers.push(s);
  return s;
}

async function restart(config: Partial<MarathonConfig>): Promise<void> {
  await marathon?.close();
  marathon = undefined;
  marathon = await startMarathon(config);
}

const q = (url: string): string => `?callbackUrl=${encodeURIComponent(url)}`;

const test = suite('event subscriptions API - Marathon answers and persistence');

test.before(async () => {
  work = await tempDir('agora-events-api-');
});

test.after(async () => {
  await marathon?.close();
  for (const s of subscribers) await s.stop();
  await redis?.stop();
  await removeTempDir(work);
});

test('POST, GET and DELETE answer like Marathon 1.4, and the events reach the subscriber', async () => {
  await restart({ stateDir: join(work, 'a') });
  const s = await sub();
  const posted = await http.post(`/v2/eventSubscriptions${q(s.url)}`);
  assert.is(posted.status, 200, posted.text);
  assert.equal(Object.keys(posted.body), ['callbackUrl', 'clientIp', 'eventType', 'timestamp']);
  assert.is(posted.body.callbackUrl, s.url);
  assert.is(posted.body.clientIp, '127.0.0.1');
  assert.is(posted.body.eventType, 'subscribe_event');
  assert.match(posted.body.timestamp, ISO);
  const again = await http.post(`/v2/eventSubscriptions${q(s.url)}`);
  assert.is(again.status, 200, 'subscribing twice is fine');

  const list = await http.get('/v2/eventSubscriptions');
  assert.equal(list.body, { callbackUrls: [s.url] });

  const created = await http.post('/v2/apps', { id: '/ev', cmd: 'sleep 100', cpus: 0.1, mem: 16, instances: 1 });
  assert.is(created.status, 201, created.text);
  await waitFor(() => s.types.includes('deployment_info'), { message: 'deployment_info delivered' });
  assert.equal(s.types.slice(0, 4), ['subscribe_event', 'subscribe_event', 'api_post_event', 'deployment_info']);
  const post = s.received[2]!;
  assert.is(post.uri, '/v2/apps');
  assert.is(post.clientIp, '127.0.0.1');
  assert.is(post.appDefinition.id, '/ev');

  const detail = await http.get('/v2/eventSubscriptions?detail=true');
  assert.equal(detail.body.callbackUrls, [s.url]);
  const m = detail.body.subscribers[0];
  for (const k of ['callbackUrl', 'delivered', 'retried', 'dropped', 'queued', 'lagMs']) assert.ok(k in m, k);
  assert.ok(m.delivered >= 4);
  const metrics = await http.get('/metrics');
  assert.is(metrics.status, 200);
  assert.ok(metrics.body.gauges[`marathon.events.callback.${s.url}.delivered.gauge`].value >= 4);
  assert.is(metrics.body.gauges['marathon.events.callback.subscribers.gauge'].value, 1);

  const deleted = await http.delete(`/v2/eventSubscriptions${q(s.url)}`);
  assert.is(deleted.status, 200);
  assert.is(deleted.body.eventType, 'unsubscribe_event');
  assert.is(deleted.body.callbackUrl, s.url);
  assert.equal((await http.get('/v2/eventSubscriptions')).body, { callbackUrls: [] });
  const unknown = await http.delete(`/v2/eventSubscriptions${q('http://nobody:1/x')}`);
  assert.is(unknown.status, 200, 'unsubscribing an unknown URL answers 200 like Marathon');
});

test('a missing, non-http(s) or malformed callbackUrl is 400 with a message, and changes nothing', async () => {
  for (const query of ['', q('ftp://h/x'), q('not a url'), q('/relative'), '?callbackUrl=']) {
    const r = await http.post(`/v2/eventSubscriptions${query}`);
    assert.is(r.status, 400, `POST ${query}: ${r.text}`);
    assert.type(r.body.message, 'string');
    assert.match(r.body.message, /callbackUrl/);
    const d = await http.delete(`/v2/eventSubscriptions${query}`);
    assert.is(d.status, 400);
  }
  assert.equal((await http.get('/v2/eventSubscriptions')).body, { callbackUrls: [] });
});

test('subscriptions survive a restart on the file store, and --http_endpoints are added at start', async () => {
  const dir = join(work, 'b');
  const a = await sub();
  const b = await sub();
  await restart({ stateDir: dir });
  assert.is((await http.post(`/v2/eventSubscriptions${q(a.url)}`)).status, 200);
  await restart({ stateDir: dir, httpEndpoints: [b.url] });
  assert.equal((await http.get('/v2/eventSubscriptions')).body.callbackUrls, [a.url, b.url]);
  await restart({ stateDir: dir });
  assert.equal((await http.get('/v2/eventSubscriptions')).body.callbackUrls, [a.url, b.url]);
  await http.post('/v2/apps', { id: '/after-restart', cmd: 'sleep 100', cpus: 0.1, mem: 16 });
  await waitFor(() => a.types.includes('api_post_event') && b.types.includes('api_post_event'), {
    message: 'both stored subscribers get events after the restart',
  });
});

test('subscriptions survive a restart on Redis', async () => {
  redis = await startRedis();
  const s = await sub();
  await restart({ redis: redis.url, redisPrefix: 'ev:' });
  await http.post(`/v2/eventSubscriptions${q(s.url)}`);
  await restart({ redis: redis.url, redisPrefix: 'ev:' });
  assert.equal((await http.get('/v2/eventSubscriptions')).body.callbackUrls, [s.url]);
  await http.post('/v2/apps', { id: '/redis-app', cmd: 'sleep 100', cpus: 0.1, mem: 16 });
  await waitFor(() => s.types.includes('api_post_event'), { message: 'events after the restart' });
  await http.delete(`/v2/eventSubscriptions${q(s.url)}`);
  await restart({ redis: redis.url, redisPrefix: 'ev:' });
  assert.equal((await http.get('/v2/eventSubscriptions')).body.callbackUrls, []);
});

test('a bad --http_endpoints URL is refused at creation', async () => {
  let error: unknown;
  try {
    await startMarathon({ stateDir: join(work, 'c'), httpEndpoints: ['ftp://x/y'] });
  } catch (err) {
    error = err;
  }
  assert.is((error as { code?: string } | undefined)?.code, 'AGORA_ERR_BAD_FLAG');
});

test.run();
