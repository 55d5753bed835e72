/**
 * Backup and restore across a real failover (ZooKeeper election, shared Redis): `DELETE /v2/leader?backup=…` on
 * the leader makes it abdicate, and the standby that takes over writes the backup before loading; a later
 * `DELETE /v2/leader?restore=…` makes the next leader replace the state with that backup.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type RedisServer,
  removeTempDir,
  startRedis,
  startZooKeeper,
  tempDir,
  waitFor,
  type ZooKeeperServer,
} from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Marathon } from '../../src/marathon.js';
import { readBackup } from '../../src/storage/backup.js';
import { client, startMarathon } from '../api/harness.js';

let zk: ZooKeeperServer | undefined;
let redis: RedisServer | undefined;
let dir = '';
const running: Marathon[] = [];

async function instance(): Promise<Marathon> {
  const m = await startMarathon({ zk: zk!.url('/backup-ha'), redis: redis!.url, redisPrefix: 'backup-ha:' });
  running.push(m);
  return m;
}

async function leaderOf(ms: readonly Marathon[]): Promise<Marathon> {
  return waitFor(async () => ms.find((m) => m.isLeader), { timeoutMs: 20_000, message: 'a leader' });
}

const test = suite('backup and restore by the next leader');
test.before(async () => {
  zk = await startZooKeeper();
  redis = await startRedis();
  dir = await tempDir('marathon-backup-ha');
});
test.after(async () => {
  for (const m of running) await m.close();
  await redis?.stop();
  await zk?.stop();
  await removeTempDir(dir);
});

test('the standby taking over writes the backup; the leader after it restores it', async () => {
  const a = await instance();
  const b = await instance();
  const first = await leaderOf([a, b]);
  const second = first === a ? b : a;
  const http1 = client(() => first.url);
  assert.is((await http1.post('/v2/apps', { id: '/one', cmd: 'sleep 1', instances: 0 })).status, 201);

  const backup = join(dir, 'b1.json');
  const r = await http1.delete(`/v2/leader?backup=${encodeURIComponent(pathToFileURL(backup).href)}`);
  assert.is(r.status, 200, r.text);
  await waitFor(async () => second.isLeader, { timeoutMs: 20_000, message: 'the standby to take over' });
  const written = await readBackup(backup);
  assert.equal(
    written.apps.map((x) => x.id),
    ['/one'],
  );

  const http2 = client(() => second.url);
  assert.is((await http2.post('/v2/apps', { id: '/two', cmd: 'sleep 1', instances: 0 })).status, 201);
  const third = await instance(); // the supervisor's restart of the instance that abdicated
  const restore = await http2.delete(`/v2/leader?restore=${encodeURIComponent(pathToFileURL(backup).href)}`);
  assert.is(restore.status, 200, restore.text);
  await waitFor(async () => third.isLeader, { timeoutMs: 20_000, message: 'the third instance to take over' });
  const apps = (await client(() => third.url).get('/v2/apps')).body.apps as Array<{ id: string }>;
  assert.equal(
    apps.map((x) => x.id),
    ['/one'],
    'the backup replaced the state',
  );
});

test.run();
