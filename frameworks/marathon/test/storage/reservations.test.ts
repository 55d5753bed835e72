/**
 * The reservation repository of both stores (files and a real Redis): what is
 * put is listed after a reopen, a put replaces, a delete removes (and is
 * idempotent).
 */
import { type RedisServer, removeTempDir, startRedis, tempDir } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ReservationRecord } from '../../src/model/reservation.js';
import { FileStore } from '../../src/storage/file/file-store.js';
import { RedisStore } from '../../src/storage/redis/redis-store.js';
import type { MarathonStore } from '../../src/storage/repositories.js';

function record(uuid: string, fields: Partial<ReservationRecord> = {}): ReservationRecord {
  return {
    id: `a_b.instance-${uuid}`,
    appId: '/a/b',
    uuid,
    incarnation: 1,
    agentId: 'agent-1',
    hostname: 'host-1',
    role: 'db',
    resources: 'cpus(db):0.5;mem(db):64',
    hostPorts: [],
    volumes: [{ containerPath: 'data', persistenceId: `a_b#data#${uuid}`, size: 10 }],
    createdAt: '2024-01-01T00:00:00.000Z',
    confirmed: false,
    ...fields,
  };
}

async function exercise(open: () => Promise<MarathonStore>): Promise<void> {
  let store = await open();
  try {
    const repo = store.reservations!;
    assert.equal(await repo.list(), []);
    await repo.put(record('u1'));
    await repo.put(record('u2'));
    await repo.put(record('u1', { confirmed: true, incarnation: 2 }));
    await store.close();
    store = await open();
    const listed = (await store.reservations!.list()).sort((a, b) => a.id.localeCompare(b.id));
    assert.equal(listed, [record('u1', { confirmed: true, incarnation: 2 }), record('u2')]);
    await store.reservations!.delete(record('u2').id);
    await store.reservations!.delete(record('u2').id);
    assert.equal(
      (await store.reservations!.list()).map((r) => r.id),
      [record('u1').id],
    );
  } finally {
    await store.close();
  }
}

const test = suite('reservation records in the stores');

test('the file store keeps reservations across a reopen', async () => {
  const dir = await tempDir('agora-marathon-reservations');
  try {
    await exercise(async () => {
      const s = new FileStore(dir);
      await s.open();
      return s;
    });
  } finally {
    await removeTempDir(dir);
  }
});

test('the Redis store keeps reservations across a reopen', async () => {
  let redis: RedisServer | undefined;
  try {
    redis = await startRedis();
    const url = redis.url;
    await exercise(async () => {
      const s = new RedisStore({ url });
      await s.open();
      return s;
    });
  } finally {
    await redis?.stop();
  }
});

test.run();
