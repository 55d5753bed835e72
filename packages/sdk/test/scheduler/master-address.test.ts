import { hasErrorCode } from '@agora/common';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { addressFromLocation, addressFromMasterInfo, parseMasterOption } from '../../src/scheduler/master-address.js';

const option = suite('master option - where the driver looks for the leader');

option('host:port and http://host:port name one fixed address', () => {
  assert.equal(parseMasterOption('127.0.0.1:5050'), { kind: 'static', addresses: ['127.0.0.1:5050'] });
  assert.equal(parseMasterOption('http://master.example:5051/'), {
    kind: 'static',
    addresses: ['master.example:5051'],
  });
  assert.equal(parseMasterOption('  master.example  '), { kind: 'static', addresses: ['master.example:5050'] });
});

option('a comma list names several masters to try in turn', () => {
  assert.equal(parseMasterOption('m1:5050,http://m2:5051'), { kind: 'static', addresses: ['m1:5050', 'm2:5051'] });
});

option('zk:// URLs select ZooKeeper detection', () => {
  assert.equal(parseMasterOption('zk://z1:2181,z2:2181/agora'), { kind: 'zk', url: 'zk://z1:2181,z2:2181/agora' });
});

option('anything else is refused with AGORA_ERR_BAD_REQUEST naming the option', () => {
  for (const bad of ['', '   ', 'zk://', 'ftp://m:1', 'http://m:5050/path', 'm1:5050,', 'host:notaport']) {
    try {
      parseMasterOption(bad);
      assert.unreachable(`'${bad}' was accepted`);
    } catch (err) {
      assert.ok(hasErrorCode(err, 'AGORA_ERR_BAD_REQUEST'), `'${bad}': ${String(err)}`);
      assert.match(String((err as Error).message), 'master');
    }
  }
});

option.run();

const location = suite('307 Location - the leader a standby points at');

location('//host:port with or without a path gives host:port', () => {
  assert.is(addressFromLocation('//10.0.0.2:5050'), '10.0.0.2:5050');
  assert.is(addressFromLocation('//10.0.0.2:5050/agora/v1/scheduler'), '10.0.0.2:5050');
  assert.is(addressFromLocation('http://leader.example:5052/x'), 'leader.example:5052');
  assert.is(addressFromLocation(['//10.0.0.3:5050']), '10.0.0.3:5050');
});

location('missing or unusable locations give undefined', () => {
  for (const bad of [undefined, '', 'not a url', 'ftp://x:1', 42]) assert.is(addressFromLocation(bad), undefined);
});

location.run();

const info = suite('MasterInfo JSON - the address of the leader in ZooKeeper');

info('address.ip is preferred, then address.hostname', () => {
  assert.is(addressFromMasterInfo({ address: { ip: '10.0.0.5', hostname: 'm5', port: 5050 } }), '10.0.0.5:5050');
  assert.is(addressFromMasterInfo({ address: { hostname: 'm5', port: 5051 } }), 'm5:5051');
});

info('without address, top-level hostname or Mesos uint32 ip with port', () => {
  assert.is(addressFromMasterInfo({ hostname: 'm6', port: 5050 }), 'm6:5050');
  // 127.0.0.1 in network byte order read little-endian (MESOS-1201).
  assert.is(addressFromMasterInfo({ ip: 16777343, port: 5050 }), '127.0.0.1:5050');
});

info('unusable data gives undefined', () => {
  for (const bad of [undefined, null, 'x', {}, { address: { ip: '1.2.3.4' } }, { hostname: 'm', port: 0 }]) {
    assert.is(addressFromMasterInfo(bad), undefined);
  }
});

info.run();
