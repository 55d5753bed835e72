/**
 * Registry minimum capabilities (Mesos docs/downgrades.md): storing quota records QUOTA_V2 in the registry; a
 * master lacking a capability the registry requires refuses to recover it — it gives up leadership with a
 * clear error naming the capability, and leaves the registry as it was (no fencing write).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FakeClock, silentLogger } from '@agora/common';
import { agora } from '@agora/proto';
import { removeTempDir, tempDir } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createMaster, type MasterAbort } from '../../src/index.js';
import {
  decodeRegistry,
  emptyRegistry,
  encodeRegistry,
  MemoryRegistryStorage,
  REGISTRY_FILE,
  Registrar,
} from '../../src/registry/index.js';
import { cleanup, startMaster, type TestMaster, waitFor } from '../support/harness.js';

const test = suite('registry minimum capabilities');

const info = agora.v1.MasterInfo.create({ id: 'm1', ip: 1, port: 5050 });

async function readRegistryFile(dir: string) {
  const bytes = await readFile(join(dir, REGISTRY_FILE));
  return { bytes, registry: decodeRegistry(new Uint8Array(bytes.subarray(8))) };
}

test('setting quota records QUOTA_V2; this master recovers such a registry', async () => {
  const dir = await tempDir('agora-mincap');
  let t: TestMaster | undefined;
  try {
    t = await startMaster({ workDir: dir });
    const res = await fetch(`${t.master.url}/quota`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ role: 'eng', guarantees: { cpus: { value: 1 } }, force: true }),
    });
    assert.is(res.status, 200, await res.text());
    const { registry } = await readRegistryFile(dir);
    assert.equal(
      registry.minimum_capabilities.map((c) => c.capability),
      ['QUOTA_V2'],
    );
    await t.close();
    t = await startMaster({ workDir: dir });
    assert.ok(t.master.isLeader);
    assert.equal((await t.getJson('/quota'))['configs'], [
      { role: 'eng', guarantees: { cpus: { value: 1 } }, limits: {} },
    ]);
  } finally {
    await cleanup(t);
    await removeTempDir(dir);
  }
});

test('a registry that requires a capability this master lacks: no recovery, leadership given up, file untouched', async () => {
  const dir = await tempDir('agora-mincap');
  const registry = emptyRegistry();
  registry.minimum_capabilities.push(
    agora.v1.registry.Registry.MinimumCapability.create({ capability: 'QUOTA_V2' }),
    agora.v1.registry.Registry.MinimumCapability.create({ capability: 'FUTURE_FEATURE' }),
  );
  const header = Buffer.alloc(8);
  header.writeBigUInt64BE(3n, 0);
  const original = Buffer.concat([header, Buffer.from(encodeRegistry(registry))]);
  await writeFile(join(dir, REGISTRY_FILE), original);
  const master = createMaster(
    { port: 0, host: '127.0.0.1', workDir: dir },
    { clock: new FakeClock(), logger: silentLogger() },
  );
  const aborts: MasterAbort[] = [];
  master.onDidLoseLeadership((a) => aborts.push(a));
  try {
    await master.start();
    await waitFor(() => aborts[0], { message: 'the master to give up leadership' });
    assert.match(aborts[0]!.reason, /FUTURE_FEATURE/);
    assert.not.match(aborts[0]!.reason, /QUOTA_V2,/);
    assert.is(master.isLeader, false);
    const res = await fetch(`${master.url}/state`);
    assert.is(res.status, 503, 'not serving');
    await res.text();
    assert.equal((await readRegistryFile(dir)).bytes, original, 'the registry is left as it was');
  } finally {
    await master.close();
    await removeTempDir(dir);
  }
});

test('the registrar refuses to recover when a required capability is missing (and fails once)', async () => {
  const storage = new MemoryRegistryStorage();
  const registry = emptyRegistry();
  registry.minimum_capabilities.push(agora.v1.registry.Registry.MinimumCapability.create({ capability: 'QUOTA_V2' }));
  await storage.store(encodeRegistry(registry), -1);
  const failures: string[] = [];
  const old = new Registrar(storage, silentLogger(), Date.now, []);
  old.onDidFail((e) => failures.push(e.message));
  try {
    await old.recover(info);
    assert.unreachable('recover should fail');
  } catch (err) {
    assert.match((err as Error).message, /requires master capabilities this master lacks: QUOTA_V2/);
  }
  assert.is(failures.length, 1);
  assert.is(old.isRecovered, false);
  assert.is((await storage.fetch()).version, 0, 'nothing written');
  const current = new Registrar(storage, silentLogger());
  await current.recover(info);
  assert.ok(current.isRecovered);
});

test.run();
