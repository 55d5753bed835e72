import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { killOrder, planDeletedApp, planInstances } from '../../src/scheduling/instance-planner.js';
import { app, task, V1, V2 } from './fixtures.js';

const scale = suite('instance planner - scaling');

scale('a new app launches its instances', () => {
  assert.equal(planInstances(app({ id: '/a', instances: 3 }), []), { launch: 3, kill: [], converged: false });
});

scale('at the goal with every task running: converged', () => {
  const a = app({ id: '/a', instances: 2 });
  assert.equal(planInstances(a, [task('/a'), task('/a')]), { launch: 0, kill: [], converged: true });
  assert.is(planInstances(a, [task('/a'), task('/a', { state: 'TASK_STAGING' })]).converged, false);
});

scale('replacements: fewer live tasks than instances', () => {
  assert.is(planInstances(app({ id: '/a', instances: 3 }), [task('/a')]).launch, 2);
});

scale('scale down kills the surplus, youngest first', () => {
  const a = app({ id: '/a', instances: 1 });
  const old = task('/a', { startedAt: '2024-01-01T00:00:00.000Z' });
  const young = task('/a', { startedAt: '2024-01-01T01:00:00.000Z' });
  const plan = planInstances(a, [old, young]);
  assert.equal(plan.kill, [{ taskId: young.id, reason: 'SCALE_DOWN' }]);
  assert.is(plan.launch, 0);
  const oldest = planInstances(app({ id: '/a', instances: 1, killSelection: 'OLDEST_FIRST' }), [old, young]);
  assert.equal(oldest.kill, [{ taskId: old.id, reason: 'SCALE_DOWN' }]);
});

scale('staging tasks die before running ones', () => {
  const running = task('/a', { startedAt: '2024-01-01T00:00:00.000Z' });
  const staging = task('/a', { state: 'TASK_STAGING', startedAt: undefined, stagedAt: '2023-01-01T00:00:00.000Z' });
  assert.equal(
    killOrder([running, staging], 'YOUNGEST_FIRST').map((t) => t.id),
    [staging.id, running.id],
  );
});

scale('tasks being killed are not killed again nor counted', () => {
  const a = app({ id: '/a', instances: 1 });
  const dying = task('/a', { killRequestedAt: 5 });
  const plan = planInstances(a, [dying, task('/a')]);
  assert.equal(plan.kill, []);
  assert.is(plan.launch, 0);
  assert.is(plan.converged, false);
});

scale('instances 0 kills everything', () => {
  const plan = planInstances(app({ id: '/a', instances: 0 }), [task('/a'), task('/a')]);
  assert.is(plan.kill.length, 2);
});

scale('a deleted app kills every task, converged when none is left', () => {
  assert.is(planDeletedApp([task('/a'), task('/a', { killRequestedAt: 1 })]).kill.length, 1);
  assert.is(planDeletedApp([]).converged, true);
});

const restart = suite('instance planner - rolling restart');

function oldTasks(n: number) {
  return Array.from({ length: n }, () => task('/a', { version: V1 }));
}

restart('default strategy {1,1}: start all new ones first, kill old as new ones run', () => {
  const a = app({ id: '/a', instances: 3, cmd: 'new' }, V2);
  const old = oldTasks(3);
  assert.equal(planInstances(a, old), { launch: 3, kill: [], converged: false });
  const staged = [task('/a', { version: V2, state: 'TASK_STAGING' })];
  assert.is(planInstances(a, [...old, ...staged]).launch, 2);
  const running = [task('/a', { version: V2 })];
  const plan = planInstances(a, [...old, ...running]);
  assert.is(plan.kill.length, 1);
  assert.ok(plan.kill.every((k) => k.reason === 'OUTDATED' && old.some((o) => o.id === k.taskId)));
});

restart('{0,0}: kill all old first, launch when they are gone', () => {
  const a = app(
    { id: '/a', instances: 3, cmd: 'new', upgradeStrategy: { minimumHealthCapacity: 0, maximumOverCapacity: 0 } },
    V2,
  );
  const old = oldTasks(3);
  const plan = planInstances(a, old);
  assert.is(plan.kill.length, 3);
  assert.is(plan.launch, 0);
  const dying = old.map((t) => ({ ...t, killRequestedAt: 1 }));
  assert.equal(planInstances(a, dying), { launch: 0, kill: [], converged: false });
  assert.is(planInstances(a, []).launch, 3);
});

restart('{1,0}: one extra instance at a time', () => {
  const a = app(
    { id: '/a', instances: 2, cmd: 'new', upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 0 } },
    V2,
  );
  const old = oldTasks(2);
  assert.equal(planInstances(a, old), { launch: 1, kill: [], converged: false });
});

restart('{0.5,0}: kill half, start half', () => {
  const a = app(
    { id: '/a', instances: 4, cmd: 'new', upgradeStrategy: { minimumHealthCapacity: 0.5, maximumOverCapacity: 0 } },
    V2,
  );
  const plan = planInstances(a, oldTasks(4));
  assert.is(plan.kill.length, 2);
  assert.is(plan.launch, 0);
  const after = planInstances(a, [...oldTasks(2), ...oldTasks(2).map((t) => ({ ...t, killRequestedAt: 1 }))]);
  assert.is(after.launch, 0);
  assert.is(planInstances(a, oldTasks(2)).launch, 2);
});

restart('old tasks that do not run are killed at once', () => {
  const a = app({ id: '/a', instances: 1, cmd: 'new' }, V2);
  const plan = planInstances(a, [task('/a', { state: 'TASK_STAGING', version: V1 })]);
  assert.equal(plan.kill.length, 1);
});

restart('a scale-only change does not restart: tasks of the same configuration stay', () => {
  const a = { ...app({ id: '/a', instances: 3 }), version: V2 };
  assert.equal(planInstances(a, oldTasks(2)), { launch: 1, kill: [], converged: false });
});

restart('eventually converges: all new tasks run, no old left', () => {
  const a = app({ id: '/a', instances: 2, cmd: 'new' }, V2);
  assert.is(planInstances(a, [task('/a', { version: V2 }), task('/a', { version: V2 })]).converged, true);
});

scale.run();
restart.run();
