import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasErrorCode, uuidBytes } from '@agora/common';
import { TaskState } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { atomicWrite, Checkpointer, type TaskCheckpoint } from '../../src/checkpoint/checkpoint.js';

const test = suite('checkpoint files');
let root = '';
test.before.each(() => {
  root = mkdtempSync(join(tmpdir(), 'agora-checkpoint-'));
});
test.after.each(() => {
  rmSync(root, { recursive: true, force: true });
});

function task(id: string): TaskCheckpoint {
  const uuid = uuidBytes();
  return {
    frameworkId: 'F1',
    info: { name: id, task_id: { value: id }, agent_id: { value: 'A1' }, command: { value: 'sleep 1' } },
    state: TaskState.TASK_RUNNING,
    containerId: `c-${id}`,
    sandbox: join(root, id),
    statuses: [{ task_id: { value: id }, state: TaskState.TASK_STARTING, uuid: uuidBytes(), timestamp: 1 }],
    pending: [{ task_id: { value: id }, state: TaskState.TASK_RUNNING, uuid, timestamp: 2, message: 'up' }],
    container: { kind: 'agora-isolating/1', pid: 42 },
  };
}

test('atomic writes leave no temporary file and replace the old content whole', () => {
  const file = join(root, 'a', 'b.json');
  atomicWrite(file, 'one');
  atomicWrite(file, 'two');
  assert.is(readFileSync(file, 'utf8'), 'two');
  assert.equal(readdirSync(join(root, 'a')), ['b.json']);
});

test('agent, frameworks and tasks round-trip (updates keep their uuids)', () => {
  const cp = new Checkpointer(root);
  cp.writeAgent({ agentId: 'A1', bootId: 'boot-1' });
  cp.writeFramework({ id: { value: 'F1' }, name: 'fw', user: 'u', checkpoint: true });
  const t = task('t/1');
  cp.writeTask(t);
  const state = cp.read();
  assert.equal(state.agent, { agentId: 'A1', bootId: 'boot-1' });
  assert.is(state.frameworks.get('F1')?.name, 'fw');
  assert.is(state.tasks.length, 1);
  const back = state.tasks[0] as TaskCheckpoint;
  assert.is(back.info.task_id.value, 't/1');
  assert.is(back.state, TaskState.TASK_RUNNING);
  assert.equal(Buffer.from(back.pending[0]?.uuid ?? []), Buffer.from(t.pending[0]?.uuid ?? []));
  assert.is(back.pending[0]?.message, 'up');
  assert.equal(back.container, { kind: 'agora-isolating/1', pid: 42 });
  cp.removeTask('F1', 't/1');
  assert.equal(cp.read().tasks, []);
  assert.not.ok(existsSync(join(root, 'meta', 'frameworks', 'F1')), 'an empty framework directory goes too');
});

test('a corrupt task file is reported with its error and the rest still recovers', () => {
  const cp = new Checkpointer(root);
  cp.writeAgent({ agentId: 'A1', bootId: 'b' });
  cp.writeFramework({ id: { value: 'F1' }, name: 'fw', user: 'u' });
  cp.writeTask(task('ok'));
  cp.writeTask(task('broken'));
  writeFileSync(cp.taskFile('F1', 'broken'), '{"version":1,"taskId":"broken","info":"!!!", "containerId": "x"}');
  const state = cp.read();
  assert.equal(
    state.tasks.map((t) => t.info.task_id.value),
    ['ok'],
  );
  assert.is(state.corrupt.length, 1);
  assert.is(state.corrupt[0]?.taskId, 'broken');
  assert.match(state.corrupt[0]?.error ?? '', /is corrupt/);
});

test('a task or executor directory left without its file (a crash while removing it) is none, not a corrupt one', () => {
  const cp = new Checkpointer(root);
  cp.writeAgent({ agentId: 'A1', bootId: 'b' });
  cp.writeTask(task('ok'));
  cp.writeTask(task('done'));
  rmSync(cp.taskFile('F1', 'done'));
  mkdirSync(join(root, 'meta', 'frameworks', 'F1', 'tasks', 'half'), { recursive: true });
  writeFileSync(`${cp.taskFile('F1', 'half')}.tmp-1`, '{"version":1'); // a first write cut before its rename
  const state = cp.read();
  assert.equal(
    state.tasks.map((t) => t.info.task_id.value),
    ['ok'],
  );
  assert.equal(state.corrupt, []);
  assert.not.ok(existsSync(join(root, 'meta', 'frameworks', 'F1', 'tasks', 'done')), 'the empty directory is removed');
  mkdirSync(join(root, 'meta', 'frameworks', 'F1', 'executors', 'gone'), { recursive: true });
  assert.equal(cp.read().executors, []);
  assert.not.ok(existsSync(join(root, 'meta', 'frameworks', 'F1', 'executors', 'gone')), 'and an executor one too');
});

test('a corrupt agent file is AGORA_ERR_CHECKPOINT; read() then starts as a new agent', () => {
  const cp = new Checkpointer(root);
  atomicWrite(join(root, 'meta', 'agent.json'), 'not json');
  try {
    cp.readAgent();
    assert.unreachable('read a corrupt agent file');
  } catch (err) {
    assert.ok(hasErrorCode(err, 'AGORA_ERR_CHECKPOINT'));
  }
  assert.is(cp.read().agent, undefined);
});

test.run();
