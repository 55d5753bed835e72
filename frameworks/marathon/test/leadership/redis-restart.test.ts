/**
 * State in Redis survives a Redis restart (append-only file, fsync always):
 * every acknowledged app, version and running deployment is there after
 * Redis and Marathon restart; the schema version key is written and checked.
 */
import { type RedisServer, startRedis, waitFor } from '@agora/testkit';
import { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Marathon } from '../../src/marathon.js';
import { client, startMarathon } from '../api/harness.js';

let redis: RedisServer;
let marathon: Marathon | undefined;
const http = client(() => marathon!.url);

const test = suite('marathon state across a Redis restart');
test.before(async () => {
  redis = await startRedis({ persistence: true });
  marathon = await startMarathon({ redis: redis.url });
});
test.after(async () => {
  await marathon?.close();
  await redis?.stop();
});

test('acknowledged apps, versions and running deployments are all there after Redis and Marathon restart', async () => {
  // No master answers (port 1): nothing launches, so deployments stay running.
  assert.is((await http.post('/v2/apps', { id: '/r/a', cmd: 'sleep 1', instances: 2 })).status, 201);
  const update = await http.put('/v2/apps/r/a?force=true', { cmd: 'sleep 2' });
  assert.is(update.status, 200);
  assert.is((await http.post('/v2/apps', { id: '/r/b', cmd: 'sleep 1' })).status, 201);
  const before = {
    apps: (await http.get('/v2/apps')).body.apps.map((a: { id: string; version: string }) => [a.id, a.version]),
    versions: (await http.get('/v2/apps/r/a/versions')).body.versions,
    deployments: ((await http.get('/v2/deployments')).body as Array<{ id: string }>).map((d) => d.id).sort(),
  };
  assert.is(before.versions.length, 2);
  assert.ok(before.deployments.includes(update.body.deploymentId));
  assert.is(before.deployments.length, 2, 'one running deployment per app (the update superseded the start)');

  await redis.restart({ downMs: 300 });
  // The running Marathon reconnects by itself and writes again.
  await waitFor(async () => (await http.post('/v2/apps', { id: '/r/c', cmd: 'sleep 1' })).status === 201, {
    timeoutMs: 10_000,
    intervalMs: 100,
    message: 'writes to work again after the Redis restart',
  });
  await marathon!.close();
  marathon = await startMarathon({ redis: redis.url });

  const apps = (await http.get('/v2/apps')).body.apps.map((a: { id: string; version: string }) => [a.id, a.version]);
  assert.equal(apps.slice(0, 2), before.apps);
  assert.equal(
    apps.map((a: string[]) => a[0]),
    ['/r/a', '/r/b', '/r/c'],
  );
  assert.equal((await http.get('/v2/apps/r/a/versions')).body.versions, before.versions);
  const deployments = ((await http.get('/v2/deployments')).body as Array<{ id: string }>).map((d) => d.id).sort();
  assert.equal(
    deployments.filter((id) => before.deployments.includes(id)),
    before.deployments,
  );
  assert.is(deployments.length, 3);
  // Still locked by the resumed deployment.
  assert.is((await http.put('/v2/apps/r/a', { instances: 3 })).status, 409);
});

test('a Redis holding another schema version is refused at start with a clear error', async () => {
  const r = new Redis(redis.url);
  try {
    await r.set('agora:marathon-other:schema-version', '7');
    try {
      await startMarathon({ redis: redis.url, redisPrefix: 'agora:marathon-other:' });
      assert.unreachable('Marathon started on a store of schema 7');
    } catch (err) {
      assert.match((err as Error).message, /schema version 7, this Marathon reads version 1/);
    }
    assert.is(await r.get('agora:marathon:schema-version'), '1');
  } finally {
    r.disconnect();
  }
});

test.run();
