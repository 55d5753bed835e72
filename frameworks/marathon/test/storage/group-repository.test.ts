/** The root group repository on both stores: current + history, 50 versions kept, survives reopening. */
import { removeTempDir, type RedisServer, startRedis, tempDir } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FileStore } from '../../src/storage/file/file-store.js';
import { RedisStore } from '../../src/storage/redis/redis-store.js';
import { MAX_APP_VERSIONS, type MarathonStore, type RootGroupRecord } from '../../src/storage/repositories.js';

let redis: RedisServer;
let dir = '';
const opened: MarathonStore[] = [];

const stores: Record<string, () => Promise<MarathonStore>> = {
  file: async () => new FileStore(dir),
  redis: async () => new RedisStore({ url: redis.url, prefix: 'groups-test:' }),
};

const root = (i: number): RootGroupRecord => ({
  version: new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString(),
  groups: [{ id: '/shop', dependencies: [`/dep${i}`] }],
  apps: { '/shop/a': `v${i}` },
});

const test = suite('root group repository - both stores');
test.before(async () => {
  redis = await startRedis({ persistence: true });
  dir = await tempDir('agora-marathon-groups-');
});
test.after(async () => {
  for (const s of opened) await s.close();
  await redis?.stop();
  await removeTempDir(dir);
});

for (const [name, make] of Object.entries(stores)) {
  test(`${name}: no root before the first write; current and history after; oldest dropped beyond the limit`, async () => {
    const store = await make();
    await store.open();
    opened.push(store);
    const groups = store.groups!;
    assert.is(await groups.root(), undefined);
    for (let i = 0; i < MAX_APP_VERSIONS + 3; i++) await groups.putRoot(root(i));
    const current = await groups.root();
    assert.equal(current, root(MAX_APP_VERSIONS + 2));
    const versions = await groups.versions();
    assert.is(versions.length, MAX_APP_VERSIONS);
    assert.is(versions[0], root(3).version);
    assert.equal(await groups.getVersion(root(10).version), root(10));
    assert.is(await groups.getVersion(root(0).version), undefined);
    assert.is(await groups.getVersion('../root-group'), undefined, 'a version is no path');
    assert.is(await groups.getVersion('x\0'), undefined, 'a version with NUL names nothing');
    await groups.putRoot(current!);
    assert.is((await groups.versions()).length, MAX_APP_VERSIONS, 'writing the current version again drops none');
    const again = await make();
    await again.open();
    opened.push(again);
    assert.equal(await again.groups!.root(), current, 'read back by a new store instance');
  });
}

test.run();
