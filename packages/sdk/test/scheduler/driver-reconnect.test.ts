/**
 * The scheduler driver keeps its subscription alive: it follows a standby's
 * 307 to the leader, re-subscribes with the same framework id after the
 * connection drops or the master fails over, and treats a silent master
 * (no event, not even HEARTBEAT, for 5 intervals) as gone.
 */
import { FakeClock, silentLogger } from '@agora/common';
import { agora } from '@agora/proto';
import { SchedulerDriver, type SchedulerDriverOptions, type SubscribedInfo } from '@agora/sdk';
import { freePort, waitFor } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MasterPeer, startRedirector } from '../support/master-peer.js';

const CallType = agora.v1.scheduler.Call.Type;
const EventType = agora.v1.scheduler.Event.Type;
const WAIT = { timeoutMs: 5000 };

function newDriver(master: string, extra: Partial<SchedulerDriverOptions> = {}): SchedulerDriver {
  return new SchedulerDriver({
    master,
    framework: { user: 'tester', name: 'sdk-test', failover_timeout: 60 },
    logger: silentLogger(),
    backoff: { initialMs: 10, maxMs: 100 },
    ...extra,
  });
}

const subscribes = (peer: MasterPeer) => peer.callsOf(CallType.SUBSCRIBE);

const reconnect = suite('scheduler driver - re-subscribing with the same framework id');

reconnect('after the master drops the connection, SUBSCRIBE is sent again with the framework id', async () => {
  const peer = await MasterPeer.start();
  const driver = newDriver(peer.address);
  try {
    const seen: SubscribedInfo[] = [];
    let disconnects = 0;
    driver.onDidSubscribe((info) => seen.push(info));
    driver.onDidDisconnect(() => disconnects++);
    await driver.start();
    assert.is(driver.frameworkId, 'fw-0001');

    peer.dropConnections();
    await waitFor(() => subscribes(peer).length === 2, { ...WAIT, message: 'a second SUBSCRIBE' });
    const again = subscribes(peer)[1];
    assert.is(again?.subscribe?.framework_info.id?.value, 'fw-0001');
    assert.is(again?.framework_id?.value, 'fw-0001');
    assert.is(again?.subscribe?.framework_info.failover_timeout, 60);
    await waitFor(() => seen.length === 2, { ...WAIT, message: 'the second SUBSCRIBED' });
    assert.equal(
      seen.map((s) => [s.frameworkId, s.resubscribed]),
      [
        ['fw-0001', false],
        ['fw-0001', true],
      ],
    );
    assert.is(disconnects, 1);
    assert.ok(driver.connected);
    driver.revive();
    await waitFor(() => peer.latest?.calls.some((c) => c.type === CallType.REVIVE), { ...WAIT, message: 'REVIVE' });
  } finally {
    await driver.close();
    await peer.close();
  }
});

reconnect('after a master failover the old master redirects and the new one gets the same framework id', async () => {
  const oldLeader = await MasterPeer.start();
  const newLeader = await MasterPeer.start({ newFrameworkId: 'fw-wrong' });
  const driver = newDriver(oldLeader.address);
  try {
    await driver.start();
    oldLeader.redirectTo = `//${newLeader.address}/agora/v1/scheduler`;
    oldLeader.dropConnections();
    await waitFor(() => subscribes(newLeader).length === 1, { ...WAIT, message: 'SUBSCRIBE at the new leader' });
    assert.is(subscribes(newLeader)[0]?.subscribe?.framework_info.id?.value, 'fw-0001');
    await waitFor(() => driver.connected, { ...WAIT, message: 'the driver to be subscribed again' });
    assert.is(driver.frameworkId, 'fw-0001');
    assert.is(oldLeader.connections.length, 1);
  } finally {
    await driver.close();
    await oldLeader.close();
    await newLeader.close();
  }
});

reconnect.run();

const leader = suite('scheduler driver - finding the leader');

leader('a standby answering the upgrade with 307 Location //host:port is followed', async () => {
  const peer = await MasterPeer.start();
  const standby = await startRedirector(`//${peer.address}`);
  const driver = newDriver(`http://127.0.0.1:${standby.port}`);
  try {
    await driver.start();
    assert.is(driver.frameworkId, 'fw-0001');
    assert.is(subscribes(peer).length, 1);
  } finally {
    await driver.close();
    await standby.close();
    await peer.close();
  }
});

leader('of several masters, an unreachable one is skipped', async () => {
  const peer = await MasterPeer.start();
  const dead = await freePort();
  const driver = newDriver(`127.0.0.1:${dead},${peer.address}`);
  try {
    await driver.start();
    assert.is(subscribes(peer).length, 1);
  } finally {
    await driver.close();
    await peer.close();
  }
});

leader('a master that is not up yet is retried until it is', async () => {
  const port = await freePort();
  const clock = new FakeClock();
  const driver = newDriver(`127.0.0.1:${port}`, { clock });
  let peer: MasterPeer | undefined;
  try {
    const started = driver.start();
    // The first attempt is refused; the retry waits on the clock.
    await waitFor(() => clock.pendingTimers === 1, { ...WAIT, message: 'a scheduled retry' });
    clock.advance(1000);
    await waitFor(() => clock.pendingTimers === 1, { ...WAIT, message: 'a second scheduled retry' });
    peer = await MasterPeer.start({}, port);
    clock.advance(1000);
    await started;
    assert.is(driver.frameworkId, 'fw-0001');
  } finally {
    await driver.close();
    await peer?.close();
  }
});

leader.run();

const watchdog = suite('scheduler driver - heartbeat watchdog');

watchdog('no event for 5 heartbeat intervals drops the connection; a re-SUBSCRIBE follows', async () => {
  const clock = new FakeClock();
  const peer = await MasterPeer.start({ heartbeatIntervalSeconds: 1 });
  const driver = newDriver(peer.address, { clock });
  try {
    let disconnects = 0;
    const rescinded: string[] = [];
    driver.onDidDisconnect(() => disconnects++);
    driver.onDidRescindOffer((id) => rescinded.push(id));
    await driver.start();

    clock.advance(4000);
    peer.send({ type: EventType.HEARTBEAT });
    peer.send({ type: EventType.RESCIND, rescind: { offer_id: { value: 'after-heartbeat' } } });
    await waitFor(() => rescinded.length === 1, { ...WAIT, message: 'the event after the HEARTBEAT' });
    clock.advance(4999);
    assert.ok(driver.connected, 'the heartbeat kept the connection');
    assert.is(disconnects, 0);

    clock.advance(1);
    assert.not.ok(driver.connected, 'five silent intervals drop the connection');
    assert.is(disconnects, 1);
    await waitFor(() => peer.connections[0]?.closed, { ...WAIT, message: 'the old connection to close' });

    clock.advance(1000);
    await waitFor(() => subscribes(peer).length === 2, { ...WAIT, message: 'the re-SUBSCRIBE' });
    assert.is(subscribes(peer)[1]?.subscribe?.framework_info.id?.value, 'fw-0001');
    await waitFor(() => driver.connected, { ...WAIT, message: 'subscribed again' });
  } finally {
    await driver.close();
    await peer.close();
  }
  assert.is(clock.pendingTimers, 0, 'close released every timer');
});

watchdog('a master that never answers SUBSCRIBE is given up on after subscribeTimeoutMs', async () => {
  const clock = new FakeClock();
  const peer = await MasterPeer.start({ autoSubscribe: false });
  const driver = newDriver(peer.address, { clock, subscribeTimeoutMs: 30_000 });
  try {
    void driver.start().catch(() => {});
    await waitFor(() => subscribes(peer).length === 1, { ...WAIT, message: 'SUBSCRIBE' });
    clock.advance(29_999);
    assert.is(peer.connections[0]?.closed, undefined);
    clock.advance(1);
    await waitFor(() => peer.connections[0]?.closed, { ...WAIT, message: 'the silent connection to be dropped' });
    clock.advance(1000);
    await waitFor(() => subscribes(peer).length === 2, { ...WAIT, message: 'a new SUBSCRIBE' });
  } finally {
    await driver.close();
    await peer.close();
  }
});

watchdog.run();
