/**
 * How the scheduler driver ends: close() (failover, no TEARDOWN), teardown(),
 * and ERRORs from the master — fatal ones stop it for good, others are
 * reported and the subscription goes on. Every ending releases its timers
 * and sockets (the FakeClock has no pending timer; the file exits by itself).
 */
import { type AgoraError, FakeClock, hasErrorCode, silentLogger } from '@agora/common';
import { agora } from '@agora/proto';
import { CLOSE_REPLACED } from '@agora/transport';
import { SchedulerDriver, type SchedulerDriverOptions } from '@agora/sdk';
import { waitFor } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MasterPeer } from '../support/master-peer.js';

const CallType = agora.v1.scheduler.Call.Type;
const EventType = agora.v1.scheduler.Event.Type;
const WAIT = { timeoutMs: 5000 };

function newDriver(master: string, clock: FakeClock, extra: Partial<SchedulerDriverOptions> = {}): SchedulerDriver {
  return new SchedulerDriver({
    master,
    framework: { user: 'tester', name: 'sdk-test' },
    logger: silentLogger(),
    clock,
    ...extra,
  });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

const closing = suite('scheduler driver - close and teardown');

closing('close() disconnects without TEARDOWN and releases every timer and socket', async () => {
  const clock = new FakeClock();
  const peer = await MasterPeer.start();
  const driver = newDriver(peer.address, clock);
  try {
    await driver.start();
    assert.ok(clock.pendingTimers > 0, 'the watchdog runs while subscribed');
    await driver.close();
    assert.is(clock.pendingTimers, 0);
    assert.not.ok(driver.connected);
    const closed = await waitFor(() => peer.connections[0]?.closed, { ...WAIT, message: 'the peer to see the close' });
    assert.is(closed.code, 1000);
    assert.equal(
      peer.calls.map((c) => CallType[c.type ?? 0]),
      ['SUBSCRIBE'],
    );
    const err = await rejection(driver.start());
    assert.ok(hasErrorCode(err, 'AGORA_ERR_CLOSED'));
    try {
      driver.revive();
      assert.unreachable('a call after close was sent');
    } catch (e) {
      assert.ok(hasErrorCode(e, 'AGORA_ERR_CLOSED'));
    }
    await driver.close();
  } finally {
    await driver.close();
    await peer.close();
  }
});

closing('close() before SUBSCRIBED rejects start() with AGORA_ERR_CLOSED', async () => {
  const clock = new FakeClock();
  const peer = await MasterPeer.start({ autoSubscribe: false });
  const driver = newDriver(peer.address, clock);
  try {
    const started = driver.start();
    await waitFor(() => peer.callsOf(CallType.SUBSCRIBE).length === 1, { ...WAIT, message: 'SUBSCRIBE' });
    await driver.close();
    assert.ok(hasErrorCode(await rejection(started), 'AGORA_ERR_CLOSED'));
    assert.is(clock.pendingTimers, 0);
    assert.ok(peer.connections[0]?.closed);
  } finally {
    await driver.close();
    await peer.close();
  }
});

closing('close() while waiting to reconnect cancels the retry', async () => {
  const clock = new FakeClock();
  const peer = await MasterPeer.start();
  const driver = newDriver(peer.address, clock);
  try {
    await driver.start();
    peer.dropConnections();
    await waitFor(() => !driver.connected && clock.pendingTimers === 1, { ...WAIT, message: 'a scheduled retry' });
    await driver.close();
    assert.is(clock.pendingTimers, 0);
    assert.is(peer.connections.length, 1);
  } finally {
    await driver.close();
    await peer.close();
  }
});

closing('teardown() sends TEARDOWN with the framework id, then closes', async () => {
  const clock = new FakeClock();
  const peer = await MasterPeer.start();
  const driver = newDriver(peer.address, clock);
  try {
    await driver.start();
    await driver.teardown();
    await waitFor(() => peer.connections[0]?.closed, { ...WAIT, message: 'the connection to close' });
    const [teardown] = peer.callsOf(CallType.TEARDOWN);
    assert.is(teardown?.framework_id?.value, 'fw-0001');
    assert.is(clock.pendingTimers, 0);
    assert.not.ok(driver.connected);
  } finally {
    await driver.close();
    await peer.close();
  }
});

closing('teardown() while not subscribed fails with AGORA_ERR_CLOSED and changes nothing', async () => {
  const clock = new FakeClock();
  const driver = newDriver('127.0.0.1:1', clock);
  try {
    assert.ok(hasErrorCode(await rejection(driver.teardown()), 'AGORA_ERR_CLOSED'));
  } finally {
    await driver.close();
  }
});

closing.run();

const errors = suite('scheduler driver - ERROR events');

errors('an ERROR answering SUBSCRIBE (e.g. framework torn down) rejects start() and stops', async () => {
  const clock = new FakeClock();
  const peer = await MasterPeer.start({ autoSubscribe: false });
  const driver = newDriver(peer.address, clock, {
    framework: { user: 'tester', name: 'sdk-test', id: { value: 'fw-gone' } },
  });
  try {
    const reported: AgoraError[] = [];
    driver.onDidReceiveError((err) => reported.push(err));
    const started = driver.start();
    await waitFor(() => peer.callsOf(CallType.SUBSCRIBE).length === 1, { ...WAIT, message: 'SUBSCRIBE' });
    peer.send({
      type: EventType.ERROR,
      error: { message: 'framework fw-gone has been torn down; subscribe anew', code: 'AGORA_ERR_NOT_SUBSCRIBED' },
    });
    const err = await rejection(started);
    assert.ok(hasErrorCode(err, 'AGORA_ERR_NOT_SUBSCRIBED'), String(err));
    assert.match((err as Error).message, 'torn down');
    assert.is(reported.length, 1);
    assert.is(reported[0]?.data['fatal'], true);
    await waitFor(() => peer.connections[0]?.closed, { ...WAIT, message: 'the connection to close' });
    await driver.close();
    assert.is(clock.pendingTimers, 0, 'no reconnect is scheduled');
    assert.is(peer.connections.length, 1);
  } finally {
    await driver.close();
    await peer.close();
  }
});

errors('replaced by another scheduler (ERROR, then close 4409): reported once, no reconnect', async () => {
  const clock = new FakeClock();
  const peer = await MasterPeer.start();
  const driver = newDriver(peer.address, clock);
  try {
    const reported: AgoraError[] = [];
    driver.onDidReceiveError((err) => reported.push(err));
    await driver.start();
    peer.send({
      type: EventType.ERROR,
      error: { message: 'Framework failed over: a newer connection subscribed', code: 'AGORA_ERR_NOT_SUBSCRIBED' },
    });
    peer.latest?.channel.close(CLOSE_REPLACED, 'AGORA_ERR_NOT_SUBSCRIBED: replaced by a newer subscription');
    await waitFor(() => reported.length === 1 && !driver.connected, { ...WAIT, message: 'the error' });
    await driver.close();
    assert.is(reported.length, 1);
    assert.is(reported[0]?.code, 'AGORA_ERR_NOT_SUBSCRIBED');
    assert.is(reported[0]?.data['fatal'], true);
    assert.is(clock.pendingTimers, 0, 'no reconnect is scheduled');
    assert.is(peer.connections.length, 1);
  } finally {
    await driver.close();
    await peer.close();
  }
});

errors('a close 4409 without an ERROR is reported as replaced and stops the driver', async () => {
  const clock = new FakeClock();
  const peer = await MasterPeer.start();
  const driver = newDriver(peer.address, clock);
  try {
    const reported: AgoraError[] = [];
    driver.onDidReceiveError((err) => reported.push(err));
    await driver.start();
    peer.latest?.channel.close(CLOSE_REPLACED, 'replaced');
    await waitFor(() => reported.length === 1, { ...WAIT, message: 'the error' });
    assert.is(reported[0]?.data['fatal'], true);
    assert.match(reported[0]?.message ?? '', 'replaced');
    await driver.close();
    assert.is(clock.pendingTimers, 0);
  } finally {
    await driver.close();
    await peer.close();
  }
});

errors('a non-fatal ERROR on a subscribed connection is reported and the subscription goes on', async () => {
  const clock = new FakeClock();
  const peer = await MasterPeer.start();
  const driver = newDriver(peer.address, clock);
  try {
    const reported: AgoraError[] = [];
    driver.onDidReceiveError((err) => reported.push(err));
    await driver.start();
    peer.send({
      type: EventType.ERROR,
      error: { message: 'that ACCEPT was malformed', code: 'AGORA_ERR_BAD_REQUEST' },
    });
    await waitFor(() => reported.length === 1, { ...WAIT, message: 'the error' });
    assert.is(reported[0]?.code, 'AGORA_ERR_BAD_REQUEST');
    assert.is(reported[0]?.data['fatal'], false);
    assert.ok(driver.connected);
    driver.revive();
    await waitFor(() => peer.callsOf(CallType.REVIVE).length === 1, { ...WAIT, message: 'REVIVE' });
  } finally {
    await driver.close();
    await peer.close();
  }
});

errors.run();
