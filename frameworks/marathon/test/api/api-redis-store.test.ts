/** The /v2 API on a real Redis, and what happens when Redis goes away. */
import { type RedisServer, startRedis, waitFor } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Marathon } from '../../src/marathon.js';
import { apiContract } from './contract.js';
import { apiContractV2 } from './contract-v2.js';
import { client, startMarathon } from './harness.js';

let redis: RedisServer;
let marathon: Marathon | undefined;

const test = suite('marathon API - /v2 with Redis');
test.before(async () => {
  redis = await startRedis({ persistence: true });
  marathon = await startMarathon({ redis: redis.url });
});
test.after(async () => {
  await marathon?.close();
  await redis?.stop();
});

apiContract(test, {
  marathon: () => marathon!,
  async restart() {
    await marathon?.close();
    marathon = await startMarathon({ redis: redis.url });
  },
});

apiContractV2(test, {
  marathon: () => marathon!,
  async restart() {
    await marathon?.close();
    marathon = await startMarathon({ redis: redis.url });
  },
});

const down = suite('marathon API - Redis unavailable');
let redis2: RedisServer;
let m2: Marathon | undefined;
down.before(async () => {
  redis2 = await startRedis({ persistence: true });
  m2 = await startMarathon({ redis: redis2.url });
});
down.after(async () => {
  await m2?.close();
  await redis2?.stop();
});

down('writes fail with 503 and change nothing while Redis is down; work again after', async () => {
  const http = client(() => m2!.url);
  assert.is((await http.post('/v2/apps', { id: '/kept', cmd: 'sleep 1' })).status, 201);
  const restarting = redis2.restart({ downMs: 2500 });
  // A no-op scale until the store is seen down.
  await waitFor(async () => (await http.put('/v2/apps/kept?force=true', { instances: 1 })).status === 503, {
    timeoutMs: 2000,
    intervalMs: 20,
    message: 'the API to answer 503 while Redis is down',
  });
  const create = await http.post('/v2/apps', { id: '/lost', cmd: 'sleep 1' });
  const update = await http.put('/v2/apps/kept?force=true', { instances: 5 });
  const del = await http.delete('/v2/apps/kept');
  await restarting;
  assert.is(create.status, 503, create.text);
  assert.match(create.body.message, /state store failed/);
  assert.is(update.status, 503);
  assert.is(del.status, 503);
  assert.is((await http.get('/v2/apps/lost')).status, 404);
  assert.is((await http.get('/v2/apps/kept')).body.app.instances, 1);
  const created = await waitFor(
    async () => ((await http.post('/v2/apps', { id: '/after', cmd: 'sleep 1' })).status === 201 ? true : undefined),
    { timeoutMs: 10_000, intervalMs: 100, message: 'writes to work again after Redis is back' },
  );
  assert.ok(created);
});

test.run();
down.run();
