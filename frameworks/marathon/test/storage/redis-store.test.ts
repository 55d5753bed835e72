import { hasErrorCode } from '@agora/common';
import { type RedisServer, startRedis, waitFor } from '@agora/testkit';
import { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RedisStore } from '../../src/storage/redis/redis-store.js';
import { app } from '../scheduling/fixtures.js';
import { storeContract } from './contract.js';

let redis: RedisServer;
let n = 0;
const stores: RedisStore[] = [];

async function fresh(): Promise<RedisStore> {
  const store = new RedisStore({ url: redis.url, prefix: `test${n++}:` });
  await store.open();
  stores.push(store);
  return store;
}

const test = suite('redis store - repository round trips on a real Redis');
test.before(async () => {
  redis = await startRedis({ persistence: true });
});
test.after(async () => {
  for (const s of stores) await s.close();
  await redis?.stop();
});

storeContract(test, fresh);

test('keys live under the prefix, values are JSON', async () => {
  const store = new RedisStore({ url: redis.url });
  stores.push(store);
  await store.open();
  await store.apps.put(app({ id: '/k' }));
  await store.frameworkId.put('fw');
  const client = new Redis(redis.url);
  try {
    assert.is(await client.get('agora:marathon:framework-id'), 'fw');
    assert.is(JSON.parse((await client.hget('agora:marathon:apps', '/k')) ?? '{}').id, '/k');
  } finally {
    client.disconnect();
  }
});

test('Redis down: commands fail fast with AGORA_ERR_STORAGE; after it is back they work again', async () => {
  const store = await fresh();
  await store.apps.put(app({ id: '/r' }));
  const restarting = redis.restart({ downMs: 2000 });
  const failure = await waitFor(
    () =>
      store.apps.get('/r').then(
        () => undefined,
        (err: unknown) => err,
      ),
    { timeoutMs: 1800, intervalMs: 20, message: 'a command to fail while Redis is down' },
  );
  assert.ok(hasErrorCode(failure, 'AGORA_ERR_STORAGE'), String(failure));
  await restarting;
  const back = await waitFor(
    () =>
      store.apps.get('/r').then(
        (a) => a?.id,
        () => undefined,
      ),
    {
      timeoutMs: 10_000,
      message: 'Redis to answer again',
    },
  );
  assert.is(back, '/r', 'data survived the restart (append-only file)');
});

test('open() fails with AGORA_ERR_STORAGE when nothing listens', async () => {
  const store = new RedisStore({ url: 'redis://127.0.0.1:1', connectTimeoutMs: 1000 });
  try {
    await store.open().then(
      () => assert.unreachable('connected to nothing'),
      (err: unknown) => assert.ok(hasErrorCode(err, 'AGORA_ERR_STORAGE'), String(err)),
    );
  } finally {
    await store.close();
  }
});

test.run();
