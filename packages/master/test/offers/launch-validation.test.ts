/** Launch validation (pure): each task checked on its own against what is left of the offers. */
import { parseResources } from '@agora/common';
import type { TaskInfo } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkLaunch } from '../../src/offers/launch-validation.js';
import { refuseMs } from '../../src/offers/offer-manager.js';

const test = suite('launch validation');

function task(id: string, resources: string, extra: Partial<TaskInfo> = {}): TaskInfo {
  return {
    name: id,
    task_id: { value: id },
    agent_id: { value: 'A' },
    resources: parseResources(resources).toProto(),
    command: { value: 'true' },
    ...extra,
  };
}

const offered = parseResources('cpus:2;mem:1024;ports:[31000-31004]');

test('valid tasks consume the offer in order; a task that no longer fits is rejected', () => {
  const r = checkLaunch({
    agentId: 'A',
    offered,
    tasks: [task('a', 'cpus:1;mem:512'), task('b', 'cpus:1;mem:256'), task('c', 'cpus:0.5')],
    isTaskIdInUse: () => false,
  });
  assert.equal(
    r.accepted.map((x) => x.task.task_id.value),
    ['a', 'b'],
  );
  assert.equal(
    r.rejected.map((x) => x.task.task_id.value),
    ['c'],
  );
  assert.match(
    r.rejected[0]!.message,
    /more resources \(cpus:0.5\) than available in the offers \(mem:256;ports:\[31000-31004\]\)/,
  );
  assert.is(r.remaining.toString(), 'mem:256;ports:[31000-31004]');
});

test('ids must be valid, unique in the ACCEPT and unused; agent must match; one of command/executor', () => {
  const r = checkLaunch({
    agentId: 'A',
    offered,
    tasks: [
      task('', 'cpus:0.1'),
      task('x', 'cpus:0.1'),
      task('x', 'cpus:0.1'),
      task('old', 'cpus:0.1'),
      task('elsewhere', 'cpus:0.1', { agent_id: { value: 'B' } }),
      task('nothing', 'cpus:0.1', { command: null }),
      task('empty', ''),
      task('ports', 'cpus:0.1;ports:[80-80]'),
    ],
    isTaskIdInUse: (id) => id === 'old',
  });
  assert.equal(
    r.accepted.map((x) => x.task.task_id.value),
    ['x'],
  );
  const why = Object.fromEntries(r.rejected.map((x, i) => [`${i}:${x.task.task_id.value}`, x.message]));
  assert.match(why['0:']!, /invalid/);
  assert.match(why['1:x']!, /more than one task/);
  assert.match(why['2:old']!, /already in use/);
  assert.match(why['3:elsewhere']!, /agent B but the offers are for agent A/);
  assert.match(why['4:nothing']!, /exactly one of CommandInfo or ExecutorInfo/);
  assert.match(why['5:empty']!, /no resources/);
  assert.match(why['6:ports']!, /ports:\[80-80\]/);
});

test('refuse_seconds: default 5 s, negative means default, capped at 365 days, 0 means none', () => {
  assert.is(refuseMs(undefined), 5000);
  assert.is(refuseMs(null), 5000);
  assert.is(refuseMs(-1), 5000);
  assert.is(refuseMs(0), 0);
  assert.is(refuseMs(2.5), 2500);
  assert.is(refuseMs(10 * 365 * 86400), 365 * 86400 * 1000);
  assert.is(refuseMs(Number.POSITIVE_INFINITY), 365 * 86400 * 1000);
});

test.run();
