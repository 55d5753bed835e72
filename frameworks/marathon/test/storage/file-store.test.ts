import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hasErrorCode } from '@agora/common';
import { removeTempDir, tempDir } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FileStore } from '../../src/storage/file/file-store.js';
import type { MarathonStore } from '../../src/storage/repositories.js';
import { app } from '../scheduling/fixtures.js';
import { storeContract } from './contract.js';

const dirs: string[] = [];
const stores: MarathonStore[] = [];

async function fresh(): Promise<FileStore> {
  const dir = await tempDir('agora-marathon-files-');
  dirs.push(dir);
  const store = new FileStore(dir);
  await store.open();
  stores.push(store);
  return store;
}

const test = suite('file store - repository round trips');
test.after(async () => {
  for (const s of stores) await s.close();
  for (const d of dirs) await removeTempDir(d);
});

storeContract(test, async () => {
  const store = await fresh();
  // A file store "closed" by taking its directory away cannot answer either.
  const close = store.close.bind(store);
  store.close = async () => {
    await close();
    await removeTempDir(store.location);
    await writeFile(store.location, 'not a directory');
  };
  return store;
});

test('documents are written atomically: no temp files left, readable JSON', async () => {
  const store = await fresh();
  await store.apps.put(app({ id: '/a/b' }));
  const files = await readdir(join(store.location, 'apps'));
  assert.equal(files, ['a_b.json']);
  assert.is(JSON.parse(await readFile(join(store.location, 'apps', 'a_b.json'), 'utf8')).id, '/a/b');
});

test('a corrupt document is an AGORA_ERR_STORAGE naming it', async () => {
  const store = await fresh();
  await writeFile(join(store.location, 'apps', 'x.json'), '{"id": "/x", trunc');
  await store.apps.list().then(
    () => assert.unreachable('corrupt file accepted'),
    (err: unknown) => {
      assert.ok(hasErrorCode(err, 'AGORA_ERR_STORAGE'));
      assert.match(String((err as Error).message), /x\.json/);
    },
  );
});

test('a write that fails leaves the previous document', async () => {
  const store = await fresh();
  const first = app({ id: '/w', instances: 1 });
  await store.apps.put(first);
  // Put a plain file where the version directory must be: the next write fails (for root too).
  await rm(join(store.location, 'app-versions', 'w'), { recursive: true });
  await writeFile(join(store.location, 'app-versions', 'w'), 'in the way');
  await store.apps.put({ ...first, instances: 2, version: '2099-01-01T00:00:00.000Z' }).then(
    () => assert.unreachable('a write through a file succeeded'),
    (err: unknown) => assert.ok(hasErrorCode(err, 'AGORA_ERR_STORAGE'), String(err)),
  );
  assert.equal(await store.apps.get('/w'), first);
  assert.equal(await readdir(join(store.location, 'apps')), ['w.json']);
});

test.run();
