/**
 * The scheduler driver finds the leader through ZooKeeper (a real private
 * server from @agora/testkit): masters publish their MasterInfo JSON in
 * `json.info_*` znodes with @agora/coordination's contender, as the master
 * does; when the leader changes, the driver moves to the new leader and
 * re-subscribes with the same framework id.
 */
import { silentLogger } from '@agora/common';
import { createContender, type LeaderContender } from '@agora/coordination';
import { agora, type MasterInfo } from '@agora/proto';
import { SchedulerDriver, type SubscribedInfo } from '@agora/sdk';
import { startZooKeeper, waitFor, type ZooKeeperServer } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MasterPeer } from '../support/master-peer.js';

const CallType = agora.v1.scheduler.Call.Type;
const WAIT = { timeoutMs: 20_000 };

function masterInfo(peer: MasterPeer, id: string): MasterInfo {
  return {
    id,
    ip: 16777343, // 127.0.0.1, Mesos' byte order
    port: peer.port,
    hostname: 'localhost',
    address: { hostname: 'localhost', ip: '127.0.0.1', port: peer.port },
  };
}

const test = suite('scheduler driver - leader detection through ZooKeeper');

let zk: ZooKeeperServer | undefined;
test.before(async () => {
  zk = await startZooKeeper();
});
test.after(async () => {
  await zk?.stop();
});

test('subscribes to the leader in ZooKeeper and follows it to the next leader with the same id', async () => {
  const url = zk!.url('/agora-sdk-test');
  const first = await MasterPeer.start();
  const second = await MasterPeer.start({ newFrameworkId: 'fw-wrong' });
  const contenders: LeaderContender<MasterInfo>[] = [];
  const driver = new SchedulerDriver({
    master: url,
    framework: { user: 'tester', name: 'sdk-zk-test' },
    logger: silentLogger(),
    backoff: { initialMs: 10, maxMs: 200 },
  });
  try {
    const one = createContender(url, masterInfo(first, 'm1'), { logger: silentLogger() });
    contenders.push(one);
    await one.start();
    await waitFor(() => one.isLeader, { ...WAIT, message: 'the first master to lead' });
    const two = createContender(url, masterInfo(second, 'm2'), { logger: silentLogger() });
    contenders.push(two);
    await two.start();

    const seen: SubscribedInfo[] = [];
    driver.onDidSubscribe((info) => seen.push(info));
    await driver.start();
    assert.is(first.callsOf(CallType.SUBSCRIBE).length, 1);
    assert.is(second.connections.length, 0);
    assert.is(driver.frameworkId, 'fw-0001');

    // The first master withdraws (its process would be gone); the second leads.
    await one.close();
    await waitFor(() => second.callsOf(CallType.SUBSCRIBE).length === 1, {
      ...WAIT,
      message: 'SUBSCRIBE at the new leader',
    });
    assert.is(second.callsOf(CallType.SUBSCRIBE)[0]?.subscribe?.framework_info.id?.value, 'fw-0001');
    await waitFor(() => seen.length === 2, { ...WAIT, message: 'the second SUBSCRIBED' });
    assert.equal(
      seen.map((s) => [s.frameworkId, s.resubscribed]),
      [
        ['fw-0001', false],
        ['fw-0001', true],
      ],
    );
    await waitFor(() => first.connections[0]?.closed, { ...WAIT, message: 'the old connection to close' });
  } finally {
    await driver.close();
    for (const c of contenders) await c.close();
    await first.close();
    await second.close();
  }
});

test('a zk:// master with no leader yet is waited for, then subscribed to', async () => {
  const url = zk!.url('/agora-sdk-empty');
  const peer = await MasterPeer.start();
  const driver = new SchedulerDriver({
    master: url,
    framework: { user: 'tester', name: 'sdk-zk-test' },
    logger: silentLogger(),
    leaderWaitMs: 500,
    backoff: { initialMs: 10, maxMs: 200 },
  });
  let contender: LeaderContender<MasterInfo> | undefined;
  try {
    const started = driver.start();
    contender = createContender(url, masterInfo(peer, 'm3'), { logger: silentLogger() });
    await contender.start();
    await started;
    assert.is(peer.callsOf(CallType.SUBSCRIBE).length, 1);
  } finally {
    await driver.close();
    await contender?.close();
    await peer.close();
  }
});

test.run();
