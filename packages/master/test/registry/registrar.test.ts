/**
 * The Registrar applies queued operations in batches and stores each batch
 * once with compare-and-set; a failed or conflicting store fails every waiter
 * and fires onDidFail (the master then gives up leadership). Backends: memory,
 * a file in the work dir (survives a restart), ZooKeeper (real server).
 */
import { silentLogger, hasErrorCode } from '@agora/common';
import { createVersionedStore } from '@agora/coordination';
import { removeTempDir, startZooKeeper, tempDir } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  admitAgent,
  FileRegistryStorage,
  isAdmitted,
  MemoryRegistryStorage,
  markGone,
  markUnreachable,
  Registrar,
  type RegistryStorage,
} from '../../src/registry/index.js';

const test = suite('registrar');

const master = { id: 'm1', ip: 16777343, port: 5050 };
const info = (id: string) => ({ hostname: `${id}.test`, port: 5051, id: { value: id }, resources: [] });

/** Counts the stores that reach a real storage. */
function counting(inner: RegistryStorage): RegistryStorage & { stores: number } {
  const wrapper = {
    stores: 0,
    path: inner.path,
    fetch: () => inner.fetch(),
    store: (data: Uint8Array, version: number) => {
      wrapper.stores++;
      return inner.store(data, version);
    },
    close: () => inner.close(),
  };
  return wrapper;
}

test('operations queued together are stored in one write; each waiter learns whether its operation changed anything', async () => {
  const storage = counting(new MemoryRegistryStorage());
  const registrar = new Registrar(storage, silentLogger());
  try {
    await registrar.recover(master);
    assert.is(storage.stores, 1, 'recovery writes the registry with this master');
    const results = await Promise.all([
      registrar.apply(admitAgent(info('a1'), 1)),
      registrar.apply(admitAgent(info('a2'), 1)),
      registrar.apply(markUnreachable('nope', 1)),
    ]);
    assert.equal(results, [true, true, false]);
    assert.is(storage.stores, 2, 'one write for the batch');
    assert.ok(isAdmitted(registrar.registry, 'a1') && isAdmitted(registrar.registry, 'a2'));
    assert.is(await registrar.apply(markUnreachable('nope', 2)), false);
    assert.is(storage.stores, 2, 'a batch that changes nothing is not stored');
  } finally {
    await registrar.close();
  }
});

test('an operation that throws fails only its own waiter and changes nothing', async () => {
  const registrar = new Registrar(new MemoryRegistryStorage(), silentLogger());
  try {
    await registrar.recover(master);
    const bad = registrar.apply(markGone('never-admitted', 1));
    const good = registrar.apply(admitAgent(info('a1'), 1));
    await bad.then(
      () => assert.unreachable('should fail'),
      (err) => assert.ok(hasErrorCode(err, 'AGORA_ERR_UNKNOWN_AGENT')),
    );
    assert.is(await good, true);
    assert.is(registrar.registry.gone.length, 0);
  } finally {
    await registrar.close();
  }
});

test('a conflicting store fails every waiter, fires onDidFail once, and refuses later operations', async () => {
  const storage = new MemoryRegistryStorage();
  const first = new Registrar(storage, silentLogger());
  const second = new Registrar(storage, silentLogger());
  const failures: string[] = [];
  first.onDidFail((err) => failures.push(err.code));
  try {
    await first.recover(master);
    await second.recover({ ...master, id: 'm2' }); // a newer leader writes: the first is fenced off
    const a = first.apply(admitAgent(info('a1'), 1));
    const b = first.apply(admitAgent(info('a2'), 1));
    for (const p of [a, b]) {
      await p.then(
        () => assert.unreachable('should fail'),
        (err) => assert.ok(hasErrorCode(err, 'AGORA_ERR_REGISTRY')),
      );
    }
    assert.equal(failures, ['AGORA_ERR_REGISTRY']);
    await first.apply(admitAgent(info('a3'), 1)).then(
      () => assert.unreachable('should fail'),
      (err) => assert.ok(hasErrorCode(err, 'AGORA_ERR_REGISTRY')),
    );
    assert.is(second.registry.agents.length, 0, "the stale leader's writes never landed");
    assert.is(second.registry.master?.id, 'm2');
  } finally {
    await first.close();
    await second.close();
  }
});

test('the work-dir file keeps the registry across restarts and detects a conflicting writer', async () => {
  const dir = await tempDir('agora-registry');
  try {
    const one = new Registrar(new FileRegistryStorage(dir), silentLogger());
    await one.recover(master);
    await one.apply(admitAgent(info('a1'), 1));
    await one.close();

    const two = new Registrar(new FileRegistryStorage(dir), silentLogger());
    const recovered = await two.recover({ ...master, id: 'm2' });
    assert.ok(isAdmitted(recovered, 'a1'), 'the admitted agent survived the restart');
    assert.is(recovered.master?.id, 'm1', 'the previous leader is recorded');

    const stale = new FileRegistryStorage(dir);
    const { version } = await stale.fetch();
    await two.apply(admitAgent(info('a2'), 2));
    await stale.store(new Uint8Array(), version).then(
      () => assert.unreachable('a stale version must be refused'),
      (err) => assert.ok(hasErrorCode(err, 'AGORA_ERR_REGISTRY')),
    );
    await two.close();
  } finally {
    await removeTempDir(dir);
  }
});

test('ZooKeeper: the registry znode is written with its version; a fenced-off leader fails', async () => {
  const zk = await startZooKeeper();
  const url = zk.url('/agora-registry');
  const registrars: Registrar[] = [];
  try {
    const a = new Registrar(createVersionedStore(url, 'registry', { logger: silentLogger() }), silentLogger());
    registrars.push(a);
    await a.recover(master);
    await a.apply(admitAgent(info('a1'), 1));
    let failed = false;
    a.onDidFail(() => {
      failed = true;
    });

    const b = new Registrar(createVersionedStore(url, 'registry', { logger: silentLogger() }), silentLogger());
    registrars.push(b);
    const recovered = await b.recover({ ...master, id: 'm2' });
    assert.ok(isAdmitted(recovered, 'a1'), 'the new leader reads what the old one wrote');

    await a.apply(admitAgent(info('a2'), 2)).then(
      () => assert.unreachable('the old leader must not write after the new one'),
      (err) => assert.ok(hasErrorCode(err, 'AGORA_ERR_REGISTRY')),
    );
    assert.ok(failed, 'onDidFail fired');
    assert.is(await b.apply(admitAgent(info('a3'), 3)), true);

    const raw = createVersionedStore(url, '/agora-registry/registry', { logger: silentLogger() });
    try {
      const { version } = await raw.fetch();
      assert.is(version, 3, 'a creates (0), a admits (1), b recovers (2), b admits (3)');
      await raw.store(new Uint8Array([1]), version - 1).then(
        () => assert.unreachable('stale version'),
        (err) => assert.is((err as { data: { conflict?: boolean } }).data.conflict, true),
      );
    } finally {
      await raw.close();
    }
  } finally {
    for (const r of registrars) await r.close();
    await zk.stop();
  }
});

test.run();
