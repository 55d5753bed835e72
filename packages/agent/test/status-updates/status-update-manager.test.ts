import { FakeClock } from '@agora/common';
import { type agora, TaskState, TaskStatusSource } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type StatusUpdateMessage,
  StatusUpdateManager,
  type StreamEnded,
} from '../../src/status-updates/status-update-manager.js';

function setup(opts: { connected?: boolean } = {}) {
  const clock = new FakeClock();
  const sent: StatusUpdateMessage[] = [];
  let connected = opts.connected ?? true;
  const ended: StreamEnded[] = [];
  const sum = new StatusUpdateManager({
    clock,
    send: (m) => {
      if (connected) sent.push(m);
      return connected;
    },
    latestState: () => TaskState.TASK_RUNNING,
  });
  sum.onDidEndStream((e) => ended.push(e));
  sum.resume();
  const status = (taskId: string, state: TaskState): agora.v1.TaskStatus.$Properties => ({
    task_id: { value: taskId },
    state,
  });
  const states = () => sent.map((m) => `${m.status.task_id.value}:${TaskState[m.status.state]}`);
  return {
    clock,
    sum,
    sent,
    ended,
    status,
    states,
    setConnected: (v: boolean) => {
      connected = v;
    },
  };
}

const test = suite('status update manager');

test('stamps uuid, source and timestamp (seconds); sends the first update at once with latest_state', () => {
  const { sum, sent, status, clock } = setup();
  const stamped = sum.update('f1', status('t1', TaskState.TASK_STARTING));
  assert.ok(stamped?.uuid instanceof Uint8Array);
  assert.is(stamped?.uuid?.length, 16);
  assert.is(stamped?.source, TaskStatusSource.SOURCE_EXECUTOR);
  assert.is(stamped?.timestamp, clock.now() / 1000);
  assert.is(sent.length, 1);
  assert.is(sent[0]?.framework_id.value, 'f1');
  assert.is(sent[0]?.latest_state, TaskState.TASK_RUNNING);
  assert.equal(sent[0]?.status.uuid, stamped?.uuid);
});

test('per task, the next update goes out only after the previous one is acknowledged', () => {
  const { sum, status, states } = setup();
  const a = sum.update('f1', status('t1', TaskState.TASK_STARTING))!;
  sum.update('f1', status('t1', TaskState.TASK_RUNNING));
  sum.update('f1', status('t2', TaskState.TASK_STARTING));
  assert.equal(states(), ['t1:TASK_STARTING', 't2:TASK_STARTING']);
  assert.is(sum.acknowledge('t1', a.uuid!), 'acknowledged');
  assert.equal(states(), ['t1:TASK_STARTING', 't2:TASK_STARTING', 't1:TASK_RUNNING']);
  assert.is(sum.pending('t1').length, 1);
});

test('an unacknowledged update is resent after 10 s, then 20 s, 40 s, ... up to 10 min', () => {
  const { sum, sent, status, clock } = setup();
  const a = sum.update('f1', status('t1', TaskState.TASK_RUNNING))!;
  clock.advance(9_999);
  assert.is(sent.length, 1);
  clock.advance(1);
  assert.is(sent.length, 2, 'resent after 10 s');
  clock.advance(19_999);
  assert.is(sent.length, 2);
  clock.advance(1);
  assert.is(sent.length, 3, 'then after 20 s');
  clock.advance(40_000);
  assert.is(sent.length, 4, 'then after 40 s');
  // 80, 160, 320, then capped at 600 s.
  clock.advance(80_000 + 160_000 + 320_000);
  assert.is(sent.length, 7);
  clock.advance(599_999);
  assert.is(sent.length, 7);
  clock.advance(1);
  assert.is(sent.length, 8, 'capped at 10 min');
  clock.advance(600_000);
  assert.is(sent.length, 9);
  assert.ok(
    sent.every((m) => m.status.uuid === a.uuid),
    'always the same update',
  );
  sum.acknowledge('t1', a.uuid!);
  clock.advance(3_600_000);
  assert.is(sent.length, 9, 'no resends after the ack');
  assert.is(clock.pendingTimers, 0);
});

test('the retry interval starts again at 10 s for the next update', () => {
  const { sum, sent, status, clock } = setup();
  const a = sum.update('f1', status('t1', TaskState.TASK_STARTING))!;
  clock.advance(10_000 + 20_000);
  assert.is(sent.length, 3);
  sum.update('f1', status('t1', TaskState.TASK_RUNNING));
  sum.acknowledge('t1', a.uuid!);
  assert.is(sent.length, 4);
  clock.advance(10_000);
  assert.is(sent.length, 5);
  assert.is(sent[4]?.status.state, TaskState.TASK_RUNNING);
});

test('duplicate and stale acknowledgements are ignored', () => {
  const { sum, status, states } = setup();
  const a = sum.update('f1', status('t1', TaskState.TASK_STARTING))!;
  const b = sum.update('f1', status('t1', TaskState.TASK_RUNNING))!;
  assert.is(sum.acknowledge('t1', b.uuid!), 'unexpected', 'not the head');
  assert.is(sum.pending('t1').length, 2);
  assert.is(sum.acknowledge('t1', a.uuid!), 'acknowledged');
  assert.is(sum.acknowledge('t1', a.uuid!), 'duplicate');
  assert.is(sum.acknowledge('nope', a.uuid!), 'unknown_task');
  assert.equal(states(), ['t1:TASK_STARTING', 't1:TASK_RUNNING']);
  assert.is(sum.pending('t1').length, 1);
});

test('duplicate updates (same uuid) and updates after a terminal one are dropped', () => {
  const { sum, status } = setup();
  const a = sum.update('f1', status('t1', TaskState.TASK_RUNNING))!;
  assert.is(sum.update('f1', { ...a }), undefined);
  assert.ok(sum.update('f1', status('t1', TaskState.TASK_FINISHED)));
  assert.is(sum.update('f1', status('t1', TaskState.TASK_FAILED)), undefined);
  assert.equal(
    sum.pending('t1').map((s) => s.state),
    [TaskState.TASK_RUNNING, TaskState.TASK_FINISHED],
  );
});

test('the stream ends when its terminal update is acknowledged', () => {
  const { sum, status, ended } = setup();
  const a = sum.update('f1', status('t1', TaskState.TASK_RUNNING))!;
  const b = sum.update('f1', status('t1', TaskState.TASK_KILLED))!;
  sum.acknowledge('t1', a.uuid!);
  assert.equal(ended, []);
  assert.equal(sum.taskIds(), ['t1']);
  sum.acknowledge('t1', b.uuid!);
  assert.equal(
    ended.map((e) => [e.frameworkId, e.taskId, e.status.state]),
    [['f1', 't1', TaskState.TASK_KILLED]],
  );
  assert.equal(sum.taskIds(), []);
  assert.is(sum.acknowledge('t1', b.uuid!), 'unknown_task');
});

test('paused (not registered): updates queue and nothing is sent; resume sends every head at once', () => {
  const { sum, sent, status, clock, states } = setup();
  sum.pause();
  sum.update('f1', status('t1', TaskState.TASK_STARTING));
  sum.update('f1', status('t1', TaskState.TASK_RUNNING));
  sum.update('f2', status('t2', TaskState.TASK_STARTING));
  clock.advance(60_000);
  assert.is(sent.length, 0);
  assert.is(clock.pendingTimers, 0);
  sum.resume();
  assert.equal(states(), ['t1:TASK_STARTING', 't2:TASK_STARTING']);
});

test('on re-registration an unacked head is resent immediately, and retried from 10 s again', () => {
  const { sum, sent, status, clock, setConnected } = setup();
  sum.update('f1', status('t1', TaskState.TASK_RUNNING));
  setConnected(false);
  clock.advance(10_000 + 20_000 + 40_000);
  assert.is(sent.length, 1, 'resends while the connection is down are lost');
  sum.pause();
  setConnected(true);
  sum.resume();
  assert.is(sent.length, 2);
  clock.advance(10_000);
  assert.is(sent.length, 3);
});

test('dispose stops every timer', () => {
  const { sum, status, clock } = setup();
  sum.update('f1', status('t1', TaskState.TASK_RUNNING));
  assert.is(clock.pendingTimers, 1);
  sum.dispose();
  assert.is(clock.pendingTimers, 0);
});

test.run();
