/**
 * Group and bulk changes start ONE deployment (one id, steps in dependency
 * order, every app in affectedApps), written in the same atomic store write
 * as the apps: a store that fails the write leaves neither the apps nor the
 * deployment, and a file-store journal left by a crash is completed at open.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type RedisServer, removeTempDir, startRedis, tempDir } from '@agora/testkit';
import { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Marathon } from '../../src/marathon.js';
import { FileStore } from '../../src/storage/file/file-store.js';
import { JOURNAL_FILE } from '../../src/storage/file/file-commit.js';
import { client, startMarathon } from '../api/harness.js';

const PREFIX = 'agora:marathon:';
const app = (id: string, extra: object = {}) => ({ id, cmd: 'sleep 100', cpus: 0.1, mem: 16, instances: 2, ...extra });

// ---- one deployment per change (Redis) ------------------------------------------------------------

let redis: RedisServer;
let rc: Redis;
let marathon: Marathon | undefined;
const one = suite('group and bulk changes - one deployment with one plan');
one.before(async () => {
  redis = await startRedis();
  rc = new Redis(redis.url, { lazyConnect: true });
  await rc.connect();
  marathon = await startMarathon({ redis: redis.url });
});
one.after(async () => {
  await marathon?.close();
  rc?.disconnect();
  await redis?.stop();
});

one(
  'a multi-app group POST answers one deployment id; /v2/deployments shows its steps in dependency order',
  async () => {
    const http = client(() => marathon!.url);
    const r = await http.post('/v2/groups', {
      id: '/shop',
      apps: [app('/shop/web', { dependencies: ['/shop/db'] }), app('/shop/db'), app('/shop/cache')],
    });
    assert.is(r.status, 201, r.text);
    const id = r.headers.get('marathon-deployment-id');
    assert.ok(id);
    assert.is(r.body.deploymentId, id);
    const list = (await http.get('/v2/deployments')).body as Array<Record<string, unknown>>;
    assert.is(list.length, 1, JSON.stringify(list));
    const d = list[0]!;
    assert.is(d['id'], id);
    assert.equal(d['affectedApps'], ['/shop/cache', '/shop/db', '/shop/web']);
    assert.equal(d['steps'], [
      {
        actions: [
          { action: 'StartApplication', app: '/shop/cache' },
          { action: 'StartApplication', app: '/shop/db' },
          { action: 'StartApplication', app: '/shop/web' },
        ],
      },
      {
        actions: [
          { action: 'ScaleApplication', app: '/shop/cache' },
          { action: 'ScaleApplication', app: '/shop/db' },
        ],
      },
      { actions: [{ action: 'ScaleApplication', app: '/shop/web' }] },
    ]);
    assert.is(d['totalSteps'], 3);
    // The stored record is the same one deployment.
    const stored = await rc.hkeys(`${PREFIX}deployments`);
    assert.equal(stored, [id]);
    // Every app points at it.
    for (const a of ['/shop/web', '/shop/db', '/shop/cache']) {
      const got = await http.get(`/v2/apps${a}`);
      assert.equal(got.body.app.deployments, [{ id }], a);
    }
  },
);

one('bulk PUT /v2/apps and a group scaleBy each start one deployment over every app they touch', async () => {
  const http = client(() => marathon!.url);
  const bulk = await http.put('/v2/apps?force=true', [
    app('/bulk/a'),
    app('/bulk/b'),
    { id: '/shop/db', instances: 3 },
  ]);
  assert.is(bulk.status, 200, bulk.text);
  const bulkId = bulk.headers.get('marathon-deployment-id');
  const bulkDeployment = ((await http.get('/v2/deployments')).body as Array<Record<string, unknown>>).find(
    (d) => d['id'] === bulkId,
  );
  assert.ok(bulkDeployment, 'the bulk deployment is listed');
  assert.equal(bulkDeployment['affectedApps'], ['/bulk/a', '/bulk/b', '/shop/db']);
  // The bulk change superseded the group deployment for /shop/db only by force; the group's is replaced.
  const scale = await http.put('/v2/groups/shop?force=true', { scaleBy: 2 });
  assert.is(scale.status, 200, scale.text);
  const scaleId = scale.headers.get('marathon-deployment-id');
  const all = (await http.get('/v2/deployments')).body as Array<Record<string, unknown>>;
  const scaled = all.find((d) => d['id'] === scaleId);
  assert.ok(scaled);
  assert.equal(scaled['affectedApps'], ['/shop/cache', '/shop/db', '/shop/web']);
  assert.is((await http.get('/v2/apps/shop/db')).body.app.instances, 6);
  // Stored: exactly the running deployments.
  assert.equal((await rc.hkeys(`${PREFIX}deployments`)).sort(), all.map((d) => String(d['id'])).sort());
});

one('a store write that fails leaves neither the apps nor the deployment (Redis)', async () => {
  const http = client(() => marathon!.url);
  const appsBefore = await rc.hgetall(`${PREFIX}apps`);
  const deploymentsBefore = await rc.hgetall(`${PREFIX}deployments`);
  // A root-group key of the wrong type makes the last part of the write impossible.
  const rootKey = `${PREFIX}root-group-versions`;
  const saved = await rc.hgetall(rootKey);
  await rc.del(rootKey);
  await rc.set(rootKey, 'not a hash');
  try {
    const r = await http.post('/v2/groups', { id: '/broken', apps: [app('/broken/x'), app('/broken/y')] });
    assert.is(r.status, 503, r.text);
    assert.match(r.body.message, /state store failed/);
  } finally {
    await rc.del(rootKey);
    if (Object.keys(saved).length > 0) await rc.hset(rootKey, saved);
  }
  assert.equal(await rc.hgetall(`${PREFIX}apps`), appsBefore);
  assert.equal(await rc.hgetall(`${PREFIX}deployments`), deploymentsBefore);
  assert.is(await rc.exists(`${PREFIX}app-versions:/broken/x`), 0);
  assert.is((await http.get('/v2/apps/broken/x')).status, 404);
  assert.is((await http.get('/v2/groups/broken')).status, 404);
  // And after the fault is gone the same change works.
  const again = await http.post('/v2/groups', { id: '/broken', apps: [app('/broken/x'), app('/broken/y')] });
  assert.is(again.status, 201, again.text);
});

// ---- file store ----------------------------------------------------------------------------------

let dir: string;
let m2: Marathon | undefined;
const files = suite('group changes - atomic in the file store');
files.before(async () => {
  dir = await tempDir('marathon-group-deployments');
});
files.after(async () => {
  await m2?.close();
  await removeTempDir(dir);
});

files('a write failing before the commit point leaves nothing; the journal is gone', async () => {
  const state = join(dir, 'state1');
  m2 = await startMarathon({ stateDir: state });
  const http = client(() => m2!.url);
  await rm(join(state, 'deployments'), { recursive: true });
  await writeFile(join(state, 'deployments'), 'not a directory');
  const r = await http.post('/v2/groups', { id: '/f', apps: [app('/f/a'), app('/f/b')] });
  assert.is(r.status, 503, r.text);
  assert.equal(await readdir(join(state, 'apps')), []);
  assert.not.ok((await readdir(state)).includes(JOURNAL_FILE));
  assert.is((await http.get('/v2/apps/f/a')).status, 404);
  await rm(join(state, 'deployments'));
  await mkdir(join(state, 'deployments'));
  const ok = await http.post('/v2/groups', { id: '/f', apps: [app('/f/a'), app('/f/b')] });
  assert.is(ok.status, 201, ok.text);
  assert.equal((await readdir(join(state, 'deployments'))).length, 1);
  assert.equal((await readdir(join(state, 'apps'))).sort(), ['f_a.json', 'f_b.json']);
  await m2.close();
  m2 = undefined;
});

files('a journal left by a crash after the commit point is applied in full at the next open', async () => {
  const state = join(dir, 'state2');
  const store = new FileStore(state);
  await store.open();
  const now = '2026-01-01T00:00:00.000Z';
  const a = { ...app('/j/a'), version: now } as never;
  const record = { id: 'dep-1', version: now, createdAt: now, affectedApps: ['/j/a'], steps: [], currentStep: 0 };
  await writeFile(
    join(state, JOURNAL_FILE),
    JSON.stringify({
      putApps: [a],
      putDeployment: { ...record, originals: {}, appId: '/j/a', action: 'ScaleApplication' },
    }),
  );
  const reopened = new FileStore(state);
  await reopened.open();
  assert.equal(
    (await reopened.apps.list()).map((x) => x.id),
    ['/j/a'],
  );
  assert.equal(
    (await reopened.deployments.list()).map((x) => x.id),
    ['dep-1'],
  );
  assert.not.ok((await readdir(state)).includes(JOURNAL_FILE));
});

one.run();
files.run();
