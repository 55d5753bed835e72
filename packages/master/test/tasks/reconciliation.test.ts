/** Reconciliation (pure): what the master answers for known and unknown tasks. */
import { Resources } from '@agora/common';
import { TaskState, TaskStatusReason } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type ReconcileInput, reconcileTasks } from '../../src/tasks/reconciliation.js';
import type { TaskRecord } from '../../src/tasks/task-tracker.js';

const test = suite('reconciliation');

function record(taskId: string, agentId: string, state: TaskState): TaskRecord {
  return {
    frameworkId: 'F',
    taskId,
    agentId,
    name: taskId,
    state,
    resources: Resources.empty(),
    labels: undefined,
    executorId: undefined,
    user: undefined,
    statuses: [{ task_id: { value: taskId }, state, healthy: true }],
    statusUpdateState: undefined,
    statusUpdateUuid: undefined,
  };
}

function input(over: Partial<ReconcileInput>): ReconcileInput {
  return {
    requested: [],
    tasks: [record('t1', 'A', TaskState.TASK_RUNNING), record('t2', 'A', TaskState.TASK_STAGING)],
    partitionAware: false,
    isAgentRegistered: (id) => id === 'A',
    inReregistrationWindow: false,
    now: 1_700_000_000_000,
    ...over,
  };
}

test('implicit: every known task with its latest state, REASON_RECONCILIATION, no uuid', () => {
  const out = reconcileTasks(input({}));
  assert.equal(
    out.map((s) => [s.task_id.value, s.state]),
    [
      ['t1', TaskState.TASK_RUNNING],
      ['t2', TaskState.TASK_STAGING],
    ],
  );
  for (const s of out) {
    assert.is(s.reason, TaskStatusReason.REASON_RECONCILIATION);
    assert.is(s.uuid, undefined);
    assert.is(s.timestamp, 1_700_000_000);
  }
  assert.is(out[0]!.healthy, true);
});

test('explicit: known task; unknown on a registered agent is LOST (UNKNOWN when partition-aware)', () => {
  const requested = [
    { taskId: 't1', agentId: 'A' },
    { taskId: 'gone', agentId: 'A' },
  ];
  assert.equal(
    reconcileTasks(input({ requested })).map((s) => [s.task_id.value, s.state]),
    [
      ['t1', TaskState.TASK_RUNNING],
      ['gone', TaskState.TASK_LOST],
    ],
  );
  assert.equal(
    reconcileTasks(input({ requested, partitionAware: true })).map((s) => s.state),
    [TaskState.TASK_RUNNING, TaskState.TASK_UNKNOWN],
  );
});

test('explicit, inside the re-registration window: no answer unless the agent is registered', () => {
  const requested = [
    { taskId: 'a', agentId: 'B' },
    { taskId: 'b', agentId: undefined },
    { taskId: 'c', agentId: 'A' },
  ];
  assert.equal(
    reconcileTasks(input({ requested, inReregistrationWindow: true })).map((s) => s.task_id.value),
    ['c'],
  );
  assert.equal(
    reconcileTasks(input({ requested })).map((s) => s.task_id.value),
    ['a', 'b', 'c'],
  );
});

test('explicit naming another agent: a known task is reported with the agent it is on', () => {
  const out = reconcileTasks(input({ requested: [{ taskId: 't1', agentId: 'Z' }] }));
  assert.equal(
    out.map((s) => [s.state, s.agent_id?.value]),
    [[TaskState.TASK_RUNNING, 'A']],
  );
});

test.run();
