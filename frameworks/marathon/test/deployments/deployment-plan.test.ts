/** The pure deployment planner: Marathon's step order, dependency layers, cycles. */
import { hasErrorCode } from '@agora/common';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  affectedApps,
  dependencyLayers,
  planDeployment,
  stepsForAction,
} from '../../src/deployments/deployment-plan.js';
import type { AppDefinition } from '../../src/model/app-definition.js';
import { app, V2 } from '../scheduling/fixtures.js';

const test = suite('deployment planner');

const map = (...apps: AppDefinition[]): Map<string, AppDefinition> => new Map(apps.map((a) => [a.id, a]));
const view = (steps: ReturnType<typeof planDeployment>): string[][] =>
  steps.map((s) => s.actions.map((a) => `${a.action} ${a.app}`));

test('a new app is started, then scaled (POST plans two steps)', () => {
  const steps = planDeployment(map(), map(app({ id: '/a', instances: 2 })));
  assert.equal(view(steps), [['StartApplication /a'], ['ScaleApplication /a']]);
  assert.equal(view(stepsForAction('StartApplication', '/a')), view(steps));
});

test('a removed app is stopped in the first step', () => {
  const steps = planDeployment(map(app({ id: '/a' }), app({ id: '/b' })), map(app({ id: '/b' })));
  assert.equal(view(steps), [['StopApplication /a']]);
});

test('an instances-only change scales; any other change restarts; no change plans nothing', () => {
  const a1 = app({ id: '/a', instances: 1 });
  assert.equal(view(planDeployment(map(a1), map(app({ id: '/a', instances: 3 }, V2)))), [['ScaleApplication /a']]);
  assert.equal(view(planDeployment(map(a1), map(app({ id: '/a', instances: 1, cmd: 'sleep 2' }, V2)))), [
    ['RestartApplication /a'],
  ]);
  assert.equal(planDeployment(map(a1), map(app({ id: '/a', instances: 1 }, V2))), []);
  assert.equal(view(planDeployment(map(a1), map(a1), { restart: new Set(['/a']) })), [['RestartApplication /a']]);
});

test('changed apps run in layers by their longest dependency path, dependencies first', () => {
  const db = app({ id: '/g/db' });
  const cache = app({ id: '/g/cache', dependencies: ['/g/db'] });
  const web = app({ id: '/g/web', dependencies: ['/g/cache', '/g/db'] });
  const worker = app({ id: '/g/worker', dependencies: ['/g/db'] });
  const steps = planDeployment(map(app({ id: '/old' })), map(web, worker, cache, db));
  assert.equal(view(steps), [
    ['StopApplication /old'],
    ['StartApplication /g/cache', 'StartApplication /g/db', 'StartApplication /g/web', 'StartApplication /g/worker'],
    ['ScaleApplication /g/db'],
    ['ScaleApplication /g/cache', 'ScaleApplication /g/worker'],
    ['ScaleApplication /g/web'],
  ]);
  assert.equal(affectedApps(steps), ['/g/cache', '/g/db', '/g/web', '/g/worker', '/old']);
});

test('dependencies outside the plan do not add layers', () => {
  const layers = dependencyLayers(map(app({ id: '/a', dependencies: ['/elsewhere'] })));
  assert.is(layers.get('/a'), 0);
});

test('a dependency cycle is refused with the cycle named', () => {
  const a = app({ id: '/a', dependencies: ['/b'] });
  const b = app({ id: '/b', dependencies: ['/c'] });
  const c = app({ id: '/c', dependencies: ['/a'] });
  try {
    planDeployment(map(), map(a, b, c));
    assert.unreachable('a cycle was planned');
  } catch (err) {
    assert.ok(hasErrorCode(err, 'AGORA_ERR_APP_INVALID'));
    assert.match((err as Error).message, /\/a -> \/b -> \/c -> \/a/);
  }
});

test.run();
