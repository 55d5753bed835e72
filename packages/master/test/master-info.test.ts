/** MasterInfo as Mesos writes it, and the master's option validation. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hasErrorCode, silentLogger } from '@agora/common';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  buildMasterInfo,
  createMaster,
  ipv4ToMesosUint32,
  mesosUint32ToIpv4,
  resolveMasterConfig,
} from '../src/index.js';

const test = suite('master info and options');

test('ip is the IPv4 address in network byte order read as a little-endian uint32 (Mesos)', () => {
  assert.is(ipv4ToMesosUint32('127.0.0.1'), 16777343);
  assert.is(ipv4ToMesosUint32('10.0.0.1'), 16777226);
  assert.is(ipv4ToMesosUint32('192.168.1.200'), 3355551936);
  for (const ip of ['127.0.0.1', '10.0.0.1', '255.255.255.255', '0.0.0.0', '192.168.1.200']) {
    assert.is(mesosUint32ToIpv4(ipv4ToMesosUint32(ip)), ip);
  }
  assert.throws(() => ipv4ToMesosUint32('300.1.1.1'));
});

test('buildMasterInfo fills pid, hostname, version and address', () => {
  const info = buildMasterInfo({ id: 'm-1', host: '127.0.0.1', port: 5050 });
  assert.equal(info, {
    id: 'm-1',
    ip: 16777343,
    port: 5050,
    pid: 'master@127.0.0.1:5050',
    hostname: '127.0.0.1',
    version: '0.1.0',
    address: { hostname: '127.0.0.1', ip: '127.0.0.1', port: 5050 },
  });
  assert.is(buildMasterInfo({ id: 'm', host: '127.0.0.1', hostname: 'm1.example', port: 1 }).hostname, 'm1.example');
  // Bound to every interface: the published ip is loopback, the hostname the machine's.
  assert.is(buildMasterInfo({ id: 'm', host: '0.0.0.0', port: 1 }).address?.ip, '127.0.0.1');
});

test('bad options are refused with AGORA_ERR_BAD_FLAG naming the option', () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ port: 70000 }, /port/],
    [{ port: 1.5 }, /port/],
    [{ port: 0, zk: 'http://x/agora' }, /zk/],
    [{ port: 0, allocationIntervalMs: 0 }, /allocationIntervalMs/],
    [{ port: 0, offerTimeoutMs: -1 }, /offerTimeoutMs/],
    [{ port: 0, agentReregisterTimeoutMs: -5 }, /agentReregisterTimeoutMs/],
  ];
  for (const [config, pattern] of cases) {
    assert.throws(
      () => createMaster(config as never),
      (err: unknown) => hasErrorCode(err, 'AGORA_ERR_BAD_FLAG') && pattern.test((err as Error).message),
      JSON.stringify(config),
    );
  }
  const resolved = resolveMasterConfig({ port: 0 });
  assert.is(resolved.allocationIntervalMs, 1000);
  assert.is(resolved.agentReregisterTimeoutMs, 600_000);
  assert.is(resolved.offerTimeoutMs, undefined);
});

test('start() on a port in use rejects and leaves nothing open', async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  try {
    const port = (blocker.address() as AddressInfo).port;
    const master = createMaster({ port, host: '127.0.0.1' }, { logger: silentLogger() });
    const err = await master.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.is((err as { code?: string }).code, 'EADDRINUSE');
    assert.is(master.isLeader, false);
    await master.close(); // idempotent after the failed start
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
});

test.run();
