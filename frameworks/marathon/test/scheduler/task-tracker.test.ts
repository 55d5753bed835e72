import { removeTempDir, tempDir } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { TaskTracker } from '../../src/scheduler/task-tracker.js';
import { FileStore } from '../../src/storage/file/file-store.js';
import { task } from '../scheduling/fixtures.js';

let dir = '';
let store: FileStore;

const test = suite('task tracker - tasks in memory, written through to the store');
test.before(async () => {
  dir = await tempDir('agora-marathon-tracker-');
  store = new FileStore(dir);
  await store.open();
});
test.after(async () => {
  await store.close();
  await removeTempDir(dir);
});

test('put, index by app, counts, remove; a fresh tracker loads the same tasks', async () => {
  const tracker = new TaskTracker(store.tasks);
  const a1 = task('/a', { state: 'TASK_STAGING', startedAt: undefined });
  const a2 = task('/a');
  const b1 = task('/b', { state: 'TASK_STARTING', startedAt: undefined });
  for (const t of [a1, a2, b1]) await tracker.put(t);
  assert.equal(
    tracker.byApp('/a').map((t) => t.id),
    [a1.id, a2.id],
  );
  assert.equal(tracker.appIds().sort(), ['/a', '/b']);
  assert.equal(tracker.counts('/a'), { tasksStaged: 1, tasksRunning: 1, tasksHealthy: 0, tasksUnhealthy: 0 });
  tracker.markKillRequested(a2.id, 42);
  assert.is(tracker.get(a2.id)?.killRequestedAt, 42);
  await tracker.remove(b1);
  assert.equal(tracker.appIds(), ['/a']);

  const reloaded = new TaskTracker(store.tasks);
  assert.is(await reloaded.load(), 2);
  assert.equal(reloaded.get(a1.id), a1);
  assert.is(reloaded.get(a2.id)?.killRequestedAt, undefined, 'kill marks are not stored');
});

test('a failed store write leaves memory unchanged', async () => {
  const broken = new FileStore(`${dir}/missing/\0bad`);
  const tracker = new TaskTracker(broken.tasks);
  const t = task('/c');
  await tracker.put(t).then(
    () => assert.unreachable('write to an impossible path succeeded'),
    () => undefined,
  );
  assert.is(tracker.get(t.id), undefined);
  assert.equal(tracker.byApp('/c'), []);
});

test('the last failure of each app is kept until the app is forgotten', () => {
  const tracker = new TaskTracker(store.tasks);
  const failure = {
    appId: '/a',
    host: 'h',
    message: 'boom',
    state: 'TASK_FAILED' as const,
    taskId: 't',
    timestamp: '2024-01-01T00:00:00.000Z',
    version: '2024-01-01T00:00:00.000Z',
    slaveId: 's',
  };
  tracker.recordFailure(failure);
  assert.equal(tracker.lastFailure('/a'), failure);
  tracker.forgetApp('/a');
  assert.is(tracker.lastFailure('/a'), undefined);
});

test.run();
