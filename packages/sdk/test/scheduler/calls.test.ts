import { hasErrorCode, uuidBytes } from '@agora/common';
import { agora, encodeFrame, decodeFrame } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as calls from '../../src/scheduler/calls.js';

const CallType = agora.v1.scheduler.Call.Type;
const roundTrip = (call: agora.v1.scheduler.Call.$Properties) =>
  decodeFrame(agora.v1.scheduler.Call, encodeFrame(agora.v1.scheduler.Call, call));

const test = suite('scheduler calls - built for the wire, bad input refused');

test('SUBSCRIBE carries the framework id in the info and the call only when re-subscribing', () => {
  const fresh = roundTrip(calls.subscribeCall({ user: 'u', name: 'n', id: { value: 'stale' } }, undefined));
  assert.is(fresh.type, CallType.SUBSCRIBE);
  assert.is(fresh.subscribe?.framework_info.id, null);
  assert.is(fresh.framework_id, null);
  const again = roundTrip(calls.subscribeCall({ user: 'u', name: 'n', failover_timeout: 30 }, 'fw-1'));
  assert.is(again.subscribe?.framework_info.id?.value, 'fw-1');
  assert.is(again.subscribe?.framework_info.failover_timeout, 30);
  assert.is(again.framework_id?.value, 'fw-1');
});

test('KILL turns the grace period in ms into nanoseconds', () => {
  const kill = roundTrip(calls.killCall('fw', 't', undefined, 2500));
  assert.is(Number(kill.kill?.kill_policy?.grace_period?.nanoseconds), 2_500_000_000);
  assert.is(kill.kill?.agent_id, null);
});

test('ACKNOWLEDGE keeps the uuid bytes', () => {
  const uuid = uuidBytes();
  const ack = roundTrip(calls.acknowledgeCall('fw', 'a', 't', uuid));
  assert.equal([...(ack.acknowledge?.uuid ?? [])], [...uuid]);
});

test('bad arguments throw AGORA_ERR_BAD_REQUEST naming the argument', () => {
  const cases: Array<[string, () => unknown]> = [
    ['offerIds', () => calls.declineCall('fw', [])],
    ['offerIds', () => calls.declineCall('fw', [''])],
    ['offerIds', () => calls.acceptCall('fw', ['o', 'o'], [])],
    ['filters.refuse_seconds', () => calls.declineCall('fw', ['o'], { refuse_seconds: -1 })],
    ['tasks', () => calls.launchOperation([])],
    [
      'tasks',
      () =>
        calls.launchOperation([
          { name: 'a', task_id: { value: 'x' }, agent_id: { value: 'a' } },
          { name: 'b', task_id: { value: 'x' }, agent_id: { value: 'a' } },
        ]),
    ],
    ['taskId', () => calls.killCall('fw', '')],
    ['gracePeriodMs', () => calls.killCall('fw', 't', undefined, Number.POSITIVE_INFINITY)],
    ['uuid', () => calls.acknowledgeCall('fw', 'a', 't', new Uint8Array())],
    ['agentId', () => calls.acknowledgeCall('fw', '', 't', uuidBytes())],
    ['taskId', () => calls.reconcileCall('fw', [{ taskId: '' }])],
    ['roles', () => calls.reviveCall('fw', [''])],
    ['executorId', () => calls.messageCall('fw', 'a', '', new Uint8Array([1]))],
    ['framework.user', () => calls.checkFrameworkInfo({ user: '', name: 'n' })],
    ['framework.name', () => calls.checkFrameworkInfo({ user: 'u', name: '' })],
    ['framework.id', () => calls.checkFrameworkInfo({ user: 'u', name: 'n', id: { value: '' } })],
  ];
  for (const [argument, fn] of cases) {
    try {
      fn();
      assert.unreachable(`${argument} case was accepted`);
    } catch (err) {
      assert.ok(hasErrorCode(err, 'AGORA_ERR_BAD_REQUEST'), `${argument}: ${String(err)}`);
      assert.is((err as { data: { argument: string } }).data.argument, argument);
    }
  }
});

test.run();
