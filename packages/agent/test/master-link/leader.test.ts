import { hasErrorCode } from '@agora/common';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { formatEndpoint, leaderEndpoint, parseEndpoint, parseMasterFlag } from '../../src/master-link/leader.js';

const test = suite('master flag and leader address');

test('host:port, http://host:port and zk:// URLs', () => {
  assert.equal(parseMasterFlag('10.0.0.1:5050'), { kind: 'fixed', endpoint: { host: '10.0.0.1', port: 5050 } });
  assert.equal(parseMasterFlag('http://m1:6060/'), { kind: 'fixed', endpoint: { host: 'm1', port: 6060 } });
  assert.equal(parseMasterFlag('master.local'), { kind: 'fixed', endpoint: { host: 'master.local', port: 5050 } });
  assert.equal(parseMasterFlag('[::1]:5050'), { kind: 'fixed', endpoint: { host: '::1', port: 5050 } });
  assert.equal(parseMasterFlag('zk://z1:2181,z2:2181/agora'), { kind: 'zk', url: 'zk://z1:2181,z2:2181/agora' });
});

test('bad --master values are refused with a message naming the flag', () => {
  for (const bad of ['', 'h:0', 'h:70000', 'h:x', 'ftp://h:1', 'zk://', ':5050']) {
    try {
      parseMasterFlag(bad);
      assert.unreachable(bad);
    } catch (err) {
      assert.ok(hasErrorCode(err, 'AGORA_ERR_BAD_FLAG'), `${bad}: ${String(err)}`);
      assert.match((err as Error).message, '--master');
    }
  }
});

test('the leader address comes from MasterInfo JSON: address.ip, address.hostname, then hostname or ip', () => {
  assert.equal(leaderEndpoint({ address: { hostname: 'm', ip: '10.0.0.2', port: 5050 }, port: 1 }), {
    host: '10.0.0.2',
    port: 5050,
  });
  assert.equal(leaderEndpoint({ address: { hostname: 'm', port: 5051 } }), { host: 'm', port: 5051 });
  assert.equal(leaderEndpoint({ hostname: 'm2', port: 5052 }), { host: 'm2', port: 5052 });
  // Mesos' ip: uint32 in network byte order (127.0.0.1 → 16777343).
  assert.equal(leaderEndpoint({ ip: 16777343, port: 5050 }), { host: '127.0.0.1', port: 5050 });
  assert.is(leaderEndpoint(undefined), undefined);
  assert.is(leaderEndpoint({ hostname: 'm' }), undefined);
});

test('redirect locations and formatting', () => {
  assert.equal(parseEndpoint('//m3:5050'), { host: 'm3', port: 5050 });
  assert.equal(parseEndpoint('http://m3:5050/agora/v1/agent'), { host: 'm3', port: 5050 });
  assert.is(parseEndpoint('m3'), undefined);
  assert.is(formatEndpoint({ host: '::1', port: 1 }), '[::1]:1');
  assert.is(formatEndpoint({ host: 'h', port: 1 }), 'h:1');
});

test.run();
