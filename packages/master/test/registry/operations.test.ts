/**
 * Registry operations are pure `(registry) => changed` functions; an operation
 * that cannot apply throws and leaves the registry unchanged.
 */
import { hasErrorCode } from '@agora/common';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  admitAgent,
  copyRegistry,
  emptyRegistry,
  encodeRegistry,
  isAdmitted,
  isGone,
  isUnreachable,
  markGone,
  markReachable,
  markUnreachable,
  prune,
  removeAgent,
  updateQuota,
  updateSchedule,
  updateWeights,
} from '../../src/registry/index.js';

const test = suite('registry operations');

const info = (id: string, cpus = 4) => ({
  hostname: `${id}.test`,
  port: 5051,
  id: { value: id },
  resources: [{ name: 'cpus', type: 0, scalar: { value: cpus } }],
});

function bytes(r: ReturnType<typeof emptyRegistry>): string {
  return Buffer.from(encodeRegistry(r)).toString('hex');
}

test('admitAgent adds an agent once; a second admission of the same id is refused and changes nothing', () => {
  const r = emptyRegistry();
  assert.is(admitAgent(info('a1'), 1000)(r), true);
  assert.ok(isAdmitted(r, 'a1'));
  const before = bytes(r);
  assert.throws(
    () => admitAgent(info('a1'), 2000)(r),
    (e: unknown) => hasErrorCode(e, 'AGORA_ERR_BAD_REQUEST'),
  );
  assert.is(bytes(r), before);
});

test('markUnreachable moves an admitted agent to the unreachable list; unknown agents change nothing', () => {
  const r = emptyRegistry();
  admitAgent(info('a1'), 1000)(r);
  assert.is(markUnreachable('a1', 5000)(r), true);
  assert.not.ok(isAdmitted(r, 'a1'));
  assert.ok(isUnreachable(r, 'a1'));
  assert.is(r.unreachable[0]!.timestamp_ms, 5000);
  assert.is(r.unreachable[0]!.hostname, 'a1.test');
  assert.is(markUnreachable('a1', 6000)(r), false, 'not admitted any more');
  assert.is(markUnreachable('nope', 6000)(r), false);
});

test('markReachable re-admits an unreachable agent, updates changed info, and is a no-op when nothing changed', () => {
  const r = emptyRegistry();
  admitAgent(info('a1'), 1000)(r);
  markUnreachable('a1', 5000)(r);
  assert.is(markReachable(info('a1'), 7000)(r), true);
  assert.ok(isAdmitted(r, 'a1'));
  assert.not.ok(isUnreachable(r, 'a1'));
  assert.is(markReachable(info('a1'), 8000)(r), false, 'same info: unchanged');
  assert.is(markReachable(info('a1', 8), 9000)(r), true, 'changed resources are stored');
  assert.is(r.agents[0]!.info.resources[0]!.scalar!.value, 8);
  assert.is(r.agents.length, 1);
  assert.is(markReachable(info('new'), 9000)(r), true, 'an agent unknown to the registry is admitted');
  assert.ok(isAdmitted(r, 'new'));
});

test('markGone is permanent: a gone agent cannot be admitted or made reachable again', () => {
  const r = emptyRegistry();
  admitAgent(info('a1'), 1000)(r);
  assert.is(markGone('a1', 2000)(r), true);
  assert.ok(isGone(r, 'a1'));
  assert.not.ok(isAdmitted(r, 'a1'));
  assert.is(markGone('a1', 3000)(r), false);
  const before = bytes(r);
  assert.throws(
    () => markReachable(info('a1'), 4000)(r),
    (e: unknown) => hasErrorCode(e, 'AGORA_ERR_AGENT_REFUSED'),
  );
  assert.throws(
    () => admitAgent(info('a1'), 4000)(r),
    (e: unknown) => hasErrorCode(e, 'AGORA_ERR_AGENT_REFUSED'),
  );
  assert.is(bytes(r), before);
  assert.throws(
    () => markGone('never', 1)(r),
    (e: unknown) => hasErrorCode(e, 'AGORA_ERR_UNKNOWN_AGENT'),
  );
});

test('markGone also takes an unreachable agent', () => {
  const r = emptyRegistry();
  admitAgent(info('a1'), 1000)(r);
  markUnreachable('a1', 2000)(r);
  assert.is(markGone('a1', 3000)(r), true);
  assert.not.ok(isUnreachable(r, 'a1'));
  assert.ok(isGone(r, 'a1'));
});

test('removeAgent forgets an admitted agent', () => {
  const r = emptyRegistry();
  admitAgent(info('a1'), 1000)(r);
  assert.is(removeAgent('a1')(r), true);
  assert.is(removeAgent('a1')(r), false);
});

test('prune drops unreachable and gone entries older than the max age and keeps the newest max count', () => {
  const r = emptyRegistry();
  for (let i = 0; i < 5; i++) {
    admitAgent(info(`u${i}`), 0)(r);
    markUnreachable(`u${i}`, i * 1000)(r);
  }
  assert.is(prune(4500, 2000, 100)(r), true);
  // Ages at 4500: 4500, 3500, 2500, 1500, 500 → keep those ≤ 2000: u3, u4.
  assert.equal(
    r.unreachable.map((u) => u.id.value),
    ['u3', 'u4'],
  );
  assert.is(prune(4500, 2000, 1)(r), true);
  assert.equal(
    r.unreachable.map((u) => u.id.value),
    ['u4'],
  );
  assert.is(prune(4500, 2000, 1)(r), false);
});

test('updateQuota sets, replaces and removes a role quota', () => {
  const r = emptyRegistry();
  const cpus = (v: number) => ({ name: 'cpus', type: 0, scalar: { value: v } });
  assert.is(updateQuota({ role: 'eng', guarantees: [cpus(2)], limits: [cpus(4)] })(r), true);
  assert.is(updateQuota({ role: 'eng', guarantees: [cpus(3)], limits: [] })(r), true);
  assert.is(r.quotas.length, 1);
  assert.is(r.quotas[0]!.guarantees[0]!.scalar!.value, 3);
  assert.is(updateQuota({ role: 'eng', guarantees: [], limits: [] })(r), true);
  assert.is(r.quotas.length, 0);
  assert.is(updateQuota({ role: 'eng', guarantees: [], limits: [] })(r), false);
});

test('updateWeights stores weights other than 1 and refuses weights that are not positive', () => {
  const r = emptyRegistry();
  assert.is(updateWeights([{ role: 'a', weight: 2 }])(r), true);
  assert.is(updateWeights([{ role: 'a', weight: 2 }])(r), false);
  assert.is(updateWeights([{ role: 'a', weight: 1 }])(r), true, 'back to the default: removed');
  assert.is(r.weights.length, 0);
  assert.throws(
    () => updateWeights([{ role: 'a', weight: 0 }]),
    (e: unknown) => hasErrorCode(e, 'AGORA_ERR_BAD_REQUEST'),
  );
  assert.throws(() => updateWeights([{ role: 'a', weight: -1 }]));
});

test('updateSchedule replaces the maintenance schedule and says whether it changed', () => {
  const r = emptyRegistry();
  const schedule = [{ windows: [{ machine_ids: [{ hostname: 'h1' }], start_ns: 5, duration_ns: 10 }] }];
  const machines = [{ id: { hostname: 'h1' }, mode: 2 }];
  assert.is(updateSchedule(schedule, machines)(r), true);
  assert.is(updateSchedule(schedule, machines)(r), false);
  assert.is(updateSchedule([], [])(r), true);
});

test('copyRegistry is deep: changing the copy leaves the original', () => {
  const r = emptyRegistry();
  admitAgent(info('a1'), 1000)(r);
  const c = copyRegistry(r);
  markUnreachable('a1', 2000)(c);
  assert.ok(isAdmitted(r, 'a1'));
  assert.not.ok(isAdmitted(c, 'a1'));
});

test.run();
