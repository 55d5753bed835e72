import { FakeClock } from '@agora/common';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { TaskRecord } from '../../src/model/task.js';
import { planInstances } from '../../src/scheduling/instance-planner.js';
import {
  countsTowardInstances,
  reviewUnreachable,
  unreachablePhase,
  unreachableSince,
} from '../../src/scheduling/unreachable-policy.js';
import { app, task } from './fixtures.js';

const phase = suite('unreachable policy - phases over time');
const STRATEGY = { inactiveAfterSeconds: 2, expungeAfterSeconds: 4 };

phase('unreachable, then inactive after inactiveAfterSeconds, then expunged after expungeAfterSeconds', () => {
  const clock = new FakeClock(1_000_000);
  const since = clock.now();
  assert.is(unreachablePhase(STRATEGY, since, clock.now()), 'Unreachable');
  clock.advance(1999);
  assert.is(unreachablePhase(STRATEGY, since, clock.now()), 'Unreachable');
  clock.advance(1);
  assert.is(unreachablePhase(STRATEGY, since, clock.now()), 'UnreachableInactive');
  clock.advance(1999);
  assert.is(unreachablePhase(STRATEGY, since, clock.now()), 'UnreachableInactive');
  clock.advance(1);
  assert.is(unreachablePhase(STRATEGY, since, clock.now()), 'Expunged');
});

phase('{0,0} (the default) expunges at once; disabled never; a deleted app expunges at once', () => {
  const now = 5_000;
  assert.is(unreachablePhase({ inactiveAfterSeconds: 0, expungeAfterSeconds: 0 }, now, now), 'Expunged');
  assert.is(unreachablePhase('disabled', 0, now * 1e6), 'Unreachable');
  assert.is(unreachablePhase(undefined, now, now), 'Expunged');
  assert.is(unreachablePhase({ inactiveAfterSeconds: 0, expungeAfterSeconds: 10 }, now, now), 'UnreachableInactive');
});

phase("the start is the master's unreachable time when given, never later than now", () => {
  assert.is(unreachableSince(undefined, 1000), 1000);
  assert.is(unreachableSince(400, 1000), 400);
  assert.is(unreachableSince(5000, 1000), 1000, 'a master clock ahead of ours does not push deadlines out');
  assert.is(unreachableSince(Number.NaN, 1000), 1000);
});

const review = suite('unreachable policy - review of an app');

function unreachable(since: number, inactive = false): TaskRecord {
  const t = task('/a', { state: 'TASK_UNREACHABLE', unreachableSince: since });
  if (inactive) t.unreachableInactive = true;
  return t;
}

review('reports each transition once, and the next deadline', () => {
  const clock = new FakeClock(10_000);
  const t = unreachable(clock.now());
  const running = task('/a');
  let r = reviewUnreachable(STRATEGY, [t, running], clock.now());
  assert.equal(r, { inactive: [], expunge: [], nextDeadline: 12_000 });
  clock.advance(2000);
  r = reviewUnreachable(STRATEGY, [t, running], clock.now());
  assert.equal(r.inactive, [t]);
  assert.is(r.nextDeadline, 14_000);
  const stored = { ...t, unreachableInactive: true };
  r = reviewUnreachable(STRATEGY, [stored], clock.now());
  assert.equal(r.inactive, [], 'already stored inactive: not again');
  clock.advance(2000);
  r = reviewUnreachable(STRATEGY, [stored], clock.now());
  assert.equal(r.expunge, [stored]);
  assert.is(r.nextDeadline, undefined);
});

review('after a restart the deadlines come from the stored time, however long the gap', () => {
  const t = unreachable(1_000);
  const r = reviewUnreachable(STRATEGY, [t], 1_000 + 60_000);
  assert.equal(r.expunge, [t]);
  assert.equal(r.inactive, []);
});

review('disabled: nothing ever happens; a deleted app: every unreachable task is expunged', () => {
  const t = unreachable(0);
  assert.equal(reviewUnreachable('disabled', [t], 1e12), { inactive: [], expunge: [] });
  assert.equal(reviewUnreachable(undefined, [t, task('/a')], 0).expunge, [t]);
});

review('an unreachable task a kill was sent to is expunged at once, except with disabled', () => {
  const t = { ...unreachable(0), killRequestedAt: 10 };
  assert.equal(reviewUnreachable(STRATEGY, [t], 20).expunge, [t]);
  assert.equal(reviewUnreachable('disabled', [t], 20), { inactive: [], expunge: [] });
});

const planner = suite('unreachable policy - instances counted by the planner');

planner('an unreachable task still counts: no replacement', () => {
  const a = app({ id: '/a', instances: 2 });
  const plan = planInstances(a, [task('/a'), unreachable(0)]);
  assert.is(plan.launch, 0);
  assert.equal(plan.kill, []);
});

planner('an inactive task no longer counts: one replacement, and it is not killed', () => {
  const a = app({ id: '/a', instances: 2 });
  const inactive = unreachable(0, true);
  assert.is(countsTowardInstances(inactive), false);
  const plan = planInstances(a, [task('/a'), inactive]);
  assert.is(plan.launch, 1);
  assert.equal(plan.kill, []);
  const replaced = planInstances(a, [task('/a'), inactive, task('/a')]);
  assert.equal(replaced, { launch: 0, kill: [], converged: true });
});

planner('a task that comes back running makes the app over its instances: the youngest goes (killSelection)', () => {
  const back = task('/a', { startedAt: '2024-01-01T00:00:00.000Z' });
  const replacement = task('/a', { startedAt: '2024-01-01T05:00:00.000Z' });
  const other = task('/a', { startedAt: '2024-01-01T00:00:01.000Z' });
  const youngest = planInstances(app({ id: '/a', instances: 2 }), [back, other, replacement]);
  assert.equal(youngest.kill, [{ taskId: replacement.id, reason: 'SCALE_DOWN' }]);
  const oldest = planInstances(app({ id: '/a', instances: 2, killSelection: 'OLDEST_FIRST' }), [
    back,
    other,
    replacement,
  ]);
  assert.equal(oldest.kill, [{ taskId: back.id, reason: 'SCALE_DOWN' }]);
});

phase.run();
review.run();
planner.run();
