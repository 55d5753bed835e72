/**
 * createVersionedStore on a real ZooKeeper: a missing znode reads as version
 * -1; the first store creates it (parents too); every store must name the
 * version it read, and a stale version (or a second create) is a conflict.
 */
import { hasErrorCode, silentLogger } from '@agora/common';
import { startZooKeeper } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createVersionedStore } from '../../src/index.js';

const test = suite('zookeeper versioned store');

const isConflict = (err: unknown) =>
  hasErrorCode(err, 'AGORA_ERR_COORDINATION') && (err as { data: { conflict?: boolean } }).data.conflict === true;

test('compare-and-set by znode version', async () => {
  const zk = await startZooKeeper();
  const a = createVersionedStore(zk.url('/deep/base'), 'registry', { logger: silentLogger() });
  const b = createVersionedStore(zk.url('/elsewhere'), '/deep/base/registry', { logger: silentLogger() });
  try {
    assert.is(a.path, '/deep/base/registry', 'a relative path is under the URL path');
    assert.is(b.path, '/deep/base/registry', 'an absolute path is taken as is');
    assert.equal(await a.fetch(), { data: undefined, version: -1 });

    assert.is(await a.store(new Uint8Array([1, 2]), -1), 0, 'created with its parents');
    await b.store(new Uint8Array([9]), -1).then(
      () => assert.unreachable('a second create must conflict'),
      (err) => assert.ok(isConflict(err)),
    );
    const read = await b.fetch();
    assert.equal([...read.data!], [1, 2]);
    assert.is(read.version, 0);

    assert.is(await b.store(new Uint8Array([3]), 0), 1);
    await a.store(new Uint8Array([4]), 0).then(
      () => assert.unreachable('a stale version must conflict'),
      (err) => assert.ok(isConflict(err)),
    );
    const after = await a.fetch();
    assert.equal([...after.data!], [3], 'the stale write changed nothing');
    assert.is(after.version, 1);
  } finally {
    await a.close();
    await b.close();
    await zk.stop();
  }
});

test.run();
