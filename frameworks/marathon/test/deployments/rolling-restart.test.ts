/**
 * The rolling restart arithmetic, stepped event by event: at every step the
 * tasks counted healthy (running, health checks alive, ready) never fall below
 * ceil(N·minimumHealthCapacity), live tasks never exceed
 * floor(N·(1+maximumOverCapacity)) (+1 when both are equal), an old task is
 * killed only when a new one is healthy (or the bounds allow it), and the
 * restart converges. fast-check drives the order of events.
 */
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { TaskRecord } from '../../src/model/task.js';
import { planInstances } from '../../src/scheduling/instance-planner.js';
import { app, task, V1, V2 } from '../scheduling/fixtures.js';

const test = suite('rolling restart bounds');

interface SimTask {
  record: TaskRecord;
  healthy: boolean;
}

function simulate(n: number, minHC: number, maxOC: number, choices: number[]): void {
  const target = app(
    {
      id: '/r',
      instances: n,
      cmd: 'sleep 2',
      upgradeStrategy: { minimumHealthCapacity: minHC, maximumOverCapacity: maxOC },
    },
    V2,
  );
  const minHealthy = Math.ceil(n * minHC - 1e-9);
  const maxCapacity = Math.floor(n * (1 + maxOC) + 1e-9);
  const bound = minHealthy === maxCapacity ? maxCapacity + 1 : maxCapacity;
  let tasks: SimTask[] = Array.from({ length: n }, () => ({ record: task('/r', { version: V1 }), healthy: true }));
  const isHealthy = (t: TaskRecord): boolean => tasks.find((s) => s.record.id === t.id)?.healthy === true;
  const healthyAlive = (): number => tasks.filter((t) => t.healthy && t.record.killRequestedAt === undefined).length;
  let step = 0;
  for (const choice of [...choices, ...Array.from({ length: 400 }, (_, i) => i)]) {
    step++;
    const plan = planInstances(
      target,
      tasks.map((t) => t.record),
      isHealthy,
    );
    if (plan.converged) break;
    for (const k of plan.kill) {
      const t = tasks.find((s) => s.record.id === k.taskId)!;
      t.record = { ...t.record, killRequestedAt: step };
    }
    for (let i = 0; i < plan.launch; i++) {
      tasks.push({ record: task('/r', { version: V2, state: 'TASK_STAGING', startedAt: undefined }), healthy: false });
    }
    assert.ok(healthyAlive() >= minHealthy, `step ${step}: ${healthyAlive()} healthy < ${minHealthy}`);
    assert.ok(tasks.length <= bound, `step ${step}: ${tasks.length} live > ${bound}`);
    // One event: a staging task runs, a running task becomes healthy, or a killed task is gone.
    const pending = tasks.filter(
      (t) => t.record.killRequestedAt !== undefined || t.record.state !== 'TASK_RUNNING' || !t.healthy,
    );
    if (pending.length === 0) continue;
    const t = pending[choice % pending.length]!;
    if (t.record.killRequestedAt !== undefined) tasks = tasks.filter((s) => s !== t);
    else if (t.record.state !== 'TASK_RUNNING') t.record = { ...t.record, state: 'TASK_RUNNING' };
    else t.healthy = true;
  }
  const final = planInstances(
    target,
    tasks.map((t) => t.record),
    isHealthy,
  );
  assert.ok(final.converged, 'the restart did not converge');
  assert.ok(tasks.every((t) => t.record.version === V2 && t.healthy));
  assert.is(tasks.length, n);
}

test('Marathon examples: {1,1}, {0.5,0}, {0,0}, {1,0}, N=3 {0.7,x}', () => {
  simulate(10, 1, 1, []);
  simulate(10, 0.5, 0, []);
  simulate(10, 0, 0, []);
  simulate(10, 1, 0, []);
  simulate(3, 0.7, 0.2, []);
});

test('bounds hold at every step for any strategy and event order', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 8 }),
      fc.constantFrom(0, 0.25, 0.5, 0.7, 1),
      fc.constantFrom(0, 0.25, 0.5, 1),
      fc.array(fc.nat(50), { maxLength: 60 }),
      (n, minHC, maxOC, choices) => simulate(n, minHC, maxOC, choices),
    ),
    { numRuns: 300 },
  );
});

test('an old task is not killed while the new one is running but not yet healthy (default strategy)', () => {
  const target = app({ id: '/r', instances: 1, cmd: 'sleep 2' }, V2);
  const old = task('/r', { version: V1 });
  const fresh = task('/r', { version: V2 });
  const plan = planInstances(target, [old, fresh], (t) => t.id === old.id);
  assert.equal(plan.kill, []);
  assert.is(plan.converged, false);
  const ready = planInstances(target, [old, fresh], () => true);
  assert.equal(
    ready.kill.map((k) => k.taskId),
    [old.id],
  );
});

test.run();
