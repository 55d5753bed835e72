/**
 * The scheduler driver against a protocol-level master peer (real WebSocket
 * on 127.0.0.1): subscribing, typed callbacks, calls on the wire and
 * acknowledgements.
 */
import { hasErrorCode, silentLogger, uuidBytes } from '@agora/common';
import { agora, TaskState } from '@agora/proto';
import { type SubscribedInfo, SchedulerDriver, type SchedulerDriverOptions, taskInfo } from '@agora/sdk';
import { waitFor } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MasterPeer } from '../support/master-peer.js';

const CallType = agora.v1.scheduler.Call.Type;
const EventType = agora.v1.scheduler.Event.Type;

function newDriver(master: string, extra: Partial<SchedulerDriverOptions> = {}): SchedulerDriver {
  return new SchedulerDriver({
    master,
    framework: { user: 'tester', name: 'sdk-test' },
    logger: silentLogger(),
    ...extra,
  });
}

async function withPeer(
  fn: (peer: MasterPeer, driver: SchedulerDriver) => Promise<void>,
  extra: Partial<SchedulerDriverOptions> = {},
): Promise<void> {
  const peer = await MasterPeer.start();
  const driver = newDriver(peer.address, extra);
  try {
    await fn(peer, driver);
  } finally {
    await driver.close();
    await peer.close();
  }
}

function offer(id: string, agentId = 'agent-1'): agora.v1.Offer.$Properties {
  return {
    id: { value: id },
    framework_id: { value: 'fw-0001' },
    agent_id: { value: agentId },
    hostname: 'host-1',
    resources: [
      { name: 'cpus', type: agora.v1.Value.Type.SCALAR, scalar: { value: 2 } },
      { name: 'mem', type: agora.v1.Value.Type.SCALAR, scalar: { value: 1024 } },
    ],
  };
}

function update(taskId: string, uuid?: Uint8Array): agora.v1.scheduler.Event.$Properties {
  const status: agora.v1.TaskStatus.$Properties = {
    task_id: { value: taskId },
    state: TaskState.TASK_RUNNING,
    agent_id: { value: 'agent-1' },
  };
  if (uuid !== undefined) status.uuid = uuid;
  return { type: EventType.UPDATE, update: { status } };
}

const acks = (peer: MasterPeer) =>
  peer.callsOf(CallType.ACKNOWLEDGE).map((c) => Buffer.from(c.acknowledge!.uuid).toString('hex'));
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

const subscribing = suite('scheduler driver - subscribing');

subscribing('a new framework subscribes without an id and learns the id the master assigns', async () => {
  await withPeer(async (peer, driver) => {
    const seen: SubscribedInfo[] = [];
    driver.onDidSubscribe((info) => seen.push(info));
    assert.is(driver.frameworkId, undefined);
    await driver.start();
    assert.is(driver.frameworkId, 'fw-0001');
    assert.ok(driver.connected);
    assert.is(seen.length, 1);
    assert.is(seen[0]?.frameworkId, 'fw-0001');
    assert.is(seen[0]?.resubscribed, false);
    assert.is(seen[0]?.masterInfo?.id, 'peer-master');
    const [subscribe] = peer.callsOf(CallType.SUBSCRIBE);
    assert.is(subscribe?.subscribe?.framework_info.user, 'tester');
    assert.is(subscribe?.subscribe?.framework_info.name, 'sdk-test');
    assert.is(subscribe?.subscribe?.framework_info.id, null);
    assert.is(subscribe?.framework_id, null);
  });
});

subscribing('a framework given an id (scheduler failover) subscribes with it', async () => {
  await withPeer(
    async (peer, driver) => {
      const seen: SubscribedInfo[] = [];
      driver.onDidSubscribe((info) => seen.push(info));
      assert.is(driver.frameworkId, 'fw-kept');
      await driver.start();
      const [subscribe] = peer.callsOf(CallType.SUBSCRIBE);
      assert.is(subscribe?.subscribe?.framework_info.id?.value, 'fw-kept');
      assert.is(subscribe?.framework_id?.value, 'fw-kept');
      assert.is(seen[0]?.resubscribed, true);
      assert.is(driver.frameworkId, 'fw-kept');
    },
    { framework: { user: 'tester', name: 'sdk-test', id: { value: 'fw-kept' }, failover_timeout: 60 } },
  );
});

subscribing('bad options are refused at construction with a typed error', () => {
  const bad = (options: SchedulerDriverOptions, what: string) => {
    try {
      new SchedulerDriver(options);
    } catch (err) {
      assert.ok(hasErrorCode(err, 'AGORA_ERR_BAD_REQUEST'), `${what}: ${String(err)}`);
      return;
    }
    assert.unreachable(`${what} was accepted`);
  };
  bad({ master: '', framework: { user: 'u', name: 'n' } }, 'empty master');
  bad({ master: 'ftp://x:1', framework: { user: 'u', name: 'n' } }, 'ftp master');
  bad({ master: '127.0.0.1:5050', framework: { user: '', name: 'n' } }, 'no user');
  bad({ master: '127.0.0.1:5050', framework: { user: 'u', name: '' } }, 'no name');
  bad({ master: '127.0.0.1:5050', framework: { user: 'u', name: 'n' }, connectTimeoutMs: -1 }, 'negative timeout');
});

subscribing.run();

const events = suite('scheduler driver - events become typed callbacks');

events('OFFERS, RESCIND, MESSAGE and FAILURE reach their listeners', async () => {
  await withPeer(async (peer, driver) => {
    const offers: string[] = [];
    const rescinded: string[] = [];
    const messages: string[] = [];
    const failures: Array<string | undefined> = [];
    driver.onDidReceiveOffers((list) => offers.push(...list.map((o) => o.id.value)));
    driver.onDidRescindOffer((id) => rescinded.push(id));
    driver.onDidReceiveMessage((m) => messages.push(`${m.agentId}/${m.executorId}/${Buffer.from(m.data).toString()}`));
    driver.onDidReceiveFailure((f) => failures.push(f.agentId));
    await driver.start();
    peer.send({ type: EventType.OFFERS, offers: { offers: [offer('o-1'), offer('o-2')] } });
    peer.send({ type: EventType.RESCIND, rescind: { offer_id: { value: 'o-1' } } });
    peer.send({
      type: EventType.MESSAGE,
      message: { agent_id: { value: 'a' }, executor_id: { value: 'e' }, data: Buffer.from('hi') },
    });
    peer.send({ type: EventType.FAILURE, failure: { agent_id: { value: 'agent-9' } } });
    await waitFor(() => failures.length === 1, { message: 'the FAILURE callback', timeoutMs: 5000 });
    assert.equal(offers, ['o-1', 'o-2']);
    assert.equal(rescinded, ['o-1']);
    assert.equal(messages, ['a/e/hi']);
    assert.equal(failures, ['agent-9']);
  });
});

events('a status update reaches onDidUpdateStatus with its fields', async () => {
  await withPeer(async (peer, driver) => {
    const states: string[] = [];
    driver.onDidUpdateStatus((s) => states.push(`${s.task_id.value}:${TaskState[s.state]}`));
    await driver.start();
    peer.send(update('t-1'));
    await waitFor(() => states.length === 1, { message: 'the update', timeoutMs: 5000 });
    assert.equal(states, ['t-1:TASK_RUNNING']);
  });
});

events.run();

const callsSuite = suite('scheduler driver - calls on the wire');

callsSuite('launch on an offer sends ACCEPT with one LAUNCH operation', async () => {
  await withPeer(async (peer, driver) => {
    driver.onDidReceiveOffers((list) => {
      for (const o of list) {
        const task = taskInfo({
          id: `task-${o.id.value}`,
          agentId: o.agent_id.value,
          resources: 'cpus:0.5;mem:64',
          command: 'echo hello',
        });
        driver.launch([o.id.value], [task], { refuse_seconds: 10 });
      }
    });
    await driver.start();
    peer.send({ type: EventType.OFFERS, offers: { offers: [offer('o-7')] } });
    const [accept] = await waitFor(
      () => {
        const list = peer.callsOf(CallType.ACCEPT);
        return list.length > 0 ? list : undefined;
      },
      { message: 'ACCEPT', timeoutMs: 5000 },
    );
    assert.is(accept?.framework_id?.value, 'fw-0001');
    assert.equal(
      accept?.accept?.offer_ids.map((id) => id.value),
      ['o-7'],
    );
    assert.is(accept?.accept?.filters?.refuse_seconds, 10);
    const [op] = accept?.accept?.operations ?? [];
    assert.is(op?.type, agora.v1.Offer.Operation.Type.LAUNCH);
    const task = op?.launch?.task_infos[0];
    assert.is(task?.task_id.value, 'task-o-7');
    assert.is(task?.agent_id.value, 'agent-1');
    assert.is(task?.command?.value, 'echo hello');
    assert.is(task?.command?.shell, true);
    assert.equal(
      task?.resources.map((r) => `${r.name}:${r.scalar?.value}`),
      ['cpus:0.5', 'mem:64'],
    );
  });
});

callsSuite('decline, kill, reconcile, revive, suppress and message send their calls', async () => {
  await withPeer(async (peer, driver) => {
    await driver.start();
    driver.decline(['o-1', 'o-2'], { refuse_seconds: 3600 });
    driver.kill('t-1', 'agent-1', 1500);
    driver.reconcile([{ taskId: 't-1', agentId: 'agent-1' }, { taskId: 't-2' }]);
    driver.reconcile([]);
    driver.revive(['web']);
    driver.suppress();
    driver.message('agent-1', 'exec-1', Buffer.from('ping'));
    await waitFor(() => peer.callsOf(CallType.MESSAGE).length === 1, { message: 'MESSAGE', timeoutMs: 5000 });
    const types = peer.calls.map((c) => CallType[c.type ?? 0]);
    assert.equal(types, ['SUBSCRIBE', 'DECLINE', 'KILL', 'RECONCILE', 'RECONCILE', 'REVIVE', 'SUPPRESS', 'MESSAGE']);
    for (const call of peer.calls.slice(1)) assert.is(call.framework_id?.value, 'fw-0001');
    const [decline] = peer.callsOf(CallType.DECLINE);
    assert.equal(
      decline?.decline?.offer_ids.map((o) => o.value),
      ['o-1', 'o-2'],
    );
    assert.is(decline?.decline?.filters?.refuse_seconds, 3600);
    const [kill] = peer.callsOf(CallType.KILL);
    assert.is(kill?.kill?.task_id.value, 't-1');
    assert.is(kill?.kill?.agent_id?.value, 'agent-1');
    assert.is(Number(kill?.kill?.kill_policy?.grace_period?.nanoseconds), 1_500_000_000);
    const [explicit, implicit] = peer.callsOf(CallType.RECONCILE);
    assert.equal(
      explicit?.reconcile?.tasks.map((t) => [t.task_id.value, t.agent_id?.value ?? null]),
      [
        ['t-1', 'agent-1'],
        ['t-2', null],
      ],
    );
    assert.is(implicit?.reconcile?.tasks.length, 0);
    assert.equal(peer.callsOf(CallType.REVIVE)[0]?.revive?.roles, ['web']);
    assert.equal(peer.callsOf(CallType.SUPPRESS)[0]?.suppress?.roles, []);
    const [message] = peer.callsOf(CallType.MESSAGE);
    assert.is(Buffer.from(message?.message?.data ?? []).toString(), 'ping');
  });
});

callsSuite('bad call arguments throw AGORA_ERR_BAD_REQUEST and send nothing', async () => {
  await withPeer(async (peer, driver) => {
    await driver.start();
    const refused = (fn: () => void, what: string) => {
      try {
        fn();
      } catch (err) {
        assert.ok(hasErrorCode(err, 'AGORA_ERR_BAD_REQUEST'), `${what}: ${String(err)}`);
        return;
      }
      assert.unreachable(`${what} was accepted`);
    };
    refused(() => driver.decline([]), 'decline without offers');
    refused(() => driver.launch(['o-1'], []), 'launch without tasks');
    refused(
      () => driver.launch(['o-1', 'o-1'], [taskInfo({ id: 't', agentId: 'a', resources: 'cpus:1', command: 'x' })]),
      'twice the same offer',
    );
    refused(() => driver.kill(''), 'kill without a task id');
    refused(() => driver.kill('t', undefined, -5), 'negative grace period');
    refused(() => driver.decline(['o-1'], { refuse_seconds: Number.NaN }), 'NaN refuse seconds');
    refused(() => driver.acknowledge('a', 't', new Uint8Array()), 'empty uuid');
    driver.revive();
    await waitFor(() => peer.callsOf(CallType.REVIVE).length === 1, { message: 'REVIVE', timeoutMs: 5000 });
    assert.equal(
      peer.calls.map((c) => CallType[c.type ?? 0]),
      ['SUBSCRIBE', 'REVIVE'],
    );
  });
});

callsSuite('calls before subscribing throw AGORA_ERR_CLOSED; an acknowledgement is dropped instead', async () => {
  const driver = newDriver('127.0.0.1:1');
  try {
    assert.is(driver.connected, false);
    try {
      driver.revive();
      assert.unreachable('revive was sent while disconnected');
    } catch (err) {
      assert.ok(hasErrorCode(err, 'AGORA_ERR_CLOSED'), String(err));
    }
    driver.acknowledge('agent-1', 't-1', uuidBytes());
  } finally {
    await driver.close();
  }
});

callsSuite.run();

const acking = suite('scheduler driver - acknowledgements');

acking('an update with a uuid is acknowledged after the listeners ran; one without is not', async () => {
  await withPeer(async (peer, driver) => {
    const order: string[] = [];
    driver.onDidUpdateStatus((s) =>
      order.push(`listener:${s.task_id.value}:${peer.callsOf(CallType.ACKNOWLEDGE).length}`),
    );
    await driver.start();
    const u1 = uuidBytes();
    const u2 = uuidBytes();
    peer.send(update('t-1', u1));
    peer.send(update('t-reconciled'));
    peer.send(update('t-2', u2));
    await waitFor(() => acks(peer).length === 2, { message: 'two ACKNOWLEDGE calls', timeoutMs: 5000 });
    assert.equal(acks(peer), [hex(u1), hex(u2)]);
    const [ack] = peer.callsOf(CallType.ACKNOWLEDGE);
    assert.is(ack?.framework_id?.value, 'fw-0001');
    assert.is(ack?.acknowledge?.agent_id.value, 'agent-1');
    assert.is(ack?.acknowledge?.task_id.value, 't-1');
    assert.equal(order, ['listener:t-1:0', 'listener:t-reconciled:0', 'listener:t-2:0']);
  });
});

acking('an update whose listener throws is not acknowledged (the agent will resend it)', async () => {
  await withPeer(async (peer, driver) => {
    driver.onDidUpdateStatus((s) => {
      if (s.task_id.value === 't-bad') throw new Error('framework could not store the update');
    });
    await driver.start();
    const bad = uuidBytes();
    const good = uuidBytes();
    peer.send(update('t-bad', bad));
    peer.send(update('t-good', good));
    await waitFor(() => acks(peer).length >= 1, { message: 'an ACKNOWLEDGE', timeoutMs: 5000 });
    assert.equal(acks(peer), [hex(good)]);
    assert.ok(driver.connected);
  });
});

acking('with implicit acknowledgements off only explicit acknowledgements are sent', async () => {
  await withPeer(
    async (peer, driver) => {
      driver.onDidUpdateStatus((s) => {
        if (s.uuid && s.agent_id) driver.acknowledge(s.agent_id.value, s.task_id.value, s.uuid);
      });
      await driver.start();
      const u1 = uuidBytes();
      peer.send(update('t-1', u1));
      await waitFor(() => acks(peer).length === 1, { message: 'the explicit ACKNOWLEDGE', timeoutMs: 5000 });
      driver.revive();
      await waitFor(() => peer.callsOf(CallType.REVIVE).length === 1, { message: 'REVIVE', timeoutMs: 5000 });
      assert.equal(acks(peer), [hex(u1)]);
    },
    { implicitAcknowledgements: false },
  );
});

acking.run();
