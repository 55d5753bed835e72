/**
 * The scheduler driver against the real master (createMaster, standalone,
 * 127.0.0.1, port 0): subscribe, fail over to a new driver with the same
 * framework id, re-subscribe after the master restarts, be replaced by a
 * newer scheduler, and teardown. No agent is needed for these.
 */
import { type AgoraError, hasErrorCode, silentLogger } from '@agora/common';
import { createMaster, type Master } from '@agora/master';
import { SchedulerDriver, type SchedulerDriverOptions, type SubscribedInfo } from '@agora/sdk';
import { waitFor } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const WAIT = { timeoutMs: 10_000 };

interface StateJson {
  frameworks: Array<{ id: string; name: string; active: boolean }>;
  completed_frameworks: Array<{ id: string }>;
}

async function state(master: Master): Promise<StateJson> {
  const res = await fetch(`${master.url}/state`);
  assert.is(res.status, 200);
  return (await res.json()) as StateJson;
}

async function startMaster(port = 0): Promise<Master> {
  const master = createMaster({ port, host: '127.0.0.1' }, { logger: silentLogger() });
  await master.start();
  return master;
}

function newDriver(master: string, extra: Partial<SchedulerDriverOptions> = {}): SchedulerDriver {
  return new SchedulerDriver({
    master,
    framework: { user: 'tester', name: 'sdk-with-master', failover_timeout: 60 },
    logger: silentLogger(),
    backoff: { initialMs: 20, maxMs: 200 },
    ...extra,
  });
}

const test = suite('scheduler driver - with the real master');

test('subscribes, and a new driver with the same framework id takes over (scheduler failover)', async () => {
  const master = await startMaster();
  const first = newDriver(`127.0.0.1:${master.port}`);
  let second: SchedulerDriver | undefined;
  try {
    const seen: SubscribedInfo[] = [];
    first.onDidSubscribe((info) => seen.push(info));
    await first.start();
    const id = first.frameworkId;
    assert.type(id, 'string');
    assert.is(seen[0]?.resubscribed, false);
    assert.is(seen[0]?.masterInfo?.port, master.port);
    const listed = (await state(master)).frameworks.find((f) => f.id === id);
    assert.is(listed?.name, 'sdk-with-master');

    await first.close(); // failover: no TEARDOWN
    await waitFor(async () => (await state(master)).frameworks.find((f) => f.id === id && !f.active), {
      ...WAIT,
      message: 'the master to see the framework disconnected but kept',
    });

    second = newDriver(`http://127.0.0.1:${master.port}`, {
      framework: { user: 'tester', name: 'sdk-with-master', id: { value: id! }, failover_timeout: 60 },
    });
    const again: SubscribedInfo[] = [];
    second.onDidSubscribe((info) => again.push(info));
    await second.start();
    assert.is(second.frameworkId, id);
    assert.is(again[0]?.resubscribed, true);
    const frameworks = (await state(master)).frameworks;
    assert.equal(
      frameworks.map((f) => [f.id, f.active]),
      [[id, true]],
    );
  } finally {
    await first.close();
    await second?.close();
    await master.close();
  }
});

test('after the master restarts on the same port the driver re-subscribes with the same id', async () => {
  let master = await startMaster();
  const port = master.port;
  const driver = newDriver(`127.0.0.1:${port}`);
  try {
    const seen: SubscribedInfo[] = [];
    let disconnects = 0;
    driver.onDidSubscribe((info) => seen.push(info));
    driver.onDidDisconnect(() => disconnects++);
    await driver.start();
    const id = driver.frameworkId;

    await master.close();
    await waitFor(() => disconnects === 1, { ...WAIT, message: 'the driver to notice' });
    master = await startMaster(port);
    await waitFor(() => seen.length === 2, { ...WAIT, message: 'the re-SUBSCRIBED' });
    assert.is(seen[1]?.frameworkId, id);
    assert.is(seen[1]?.resubscribed, true);
    assert.ok(driver.connected);
    const listed = (await state(master)).frameworks.map((f) => f.id);
    assert.equal(listed, [id]);
    driver.reconcile([]); // a call on the new connection is accepted
  } finally {
    await driver.close();
    await master.close();
  }
});

test('a newer scheduler with the same id replaces the older one, which stops with a fatal error', async () => {
  const master = await startMaster();
  const older = newDriver(`127.0.0.1:${master.port}`);
  let newer: SchedulerDriver | undefined;
  try {
    const errors: AgoraError[] = [];
    older.onDidReceiveError((err) => errors.push(err));
    await older.start();
    newer = newDriver(`127.0.0.1:${master.port}`, {
      framework: { user: 'tester', name: 'sdk-with-master', id: { value: older.frameworkId! } },
    });
    await newer.start();
    await waitFor(() => errors.some((e) => e.data['fatal'] === true), { ...WAIT, message: 'a fatal error' });
    assert.not.ok(older.connected);
    assert.ok(newer.connected);
    await older.close();
    newer.revive();
    assert.ok(newer.connected, 'the newer scheduler is not disturbed by the older one closing');
  } finally {
    await older.close();
    await newer?.close();
    await master.close();
  }
});

test('teardown removes the framework; re-subscribing with its id is refused', async () => {
  const master = await startMaster();
  const driver = newDriver(`127.0.0.1:${master.port}`);
  let late: SchedulerDriver | undefined;
  try {
    await driver.start();
    const id = driver.frameworkId!;
    await driver.teardown();
    await waitFor(async () => (await state(master)).completed_frameworks.some((f) => f.id === id), {
      ...WAIT,
      message: 'the framework among the completed ones',
    });
    assert.not.ok((await state(master)).frameworks.some((f) => f.id === id));

    late = newDriver(`127.0.0.1:${master.port}`, {
      framework: { user: 'tester', name: 'sdk-with-master', id: { value: id } },
    });
    try {
      await late.start();
      assert.unreachable('a torn-down framework re-subscribed');
    } catch (err) {
      assert.ok(hasErrorCode(err, 'AGORA_ERR_NOT_SUBSCRIBED'), String(err));
    }
  } finally {
    await driver.close();
    await late?.close();
    await master.close();
  }
});

test.run();
