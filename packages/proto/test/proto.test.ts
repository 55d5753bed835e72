import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  FrameDecodeError,
  TaskState,
  agora,
  decodeFrame,
  encodeFrame,
  isShellCommand,
  isTerminalState,
  reasonName,
  refuseSeconds,
  taskStateName,
} from '../src/index.js';

const test = suite('proto - generated messages and the frame codec');

test('task states keep Mesos wire numbers and names', () => {
  assert.is(TaskState.TASK_STAGING, 6);
  assert.is(TaskState.TASK_STARTING, 0);
  assert.is(TaskState.TASK_RUNNING, 1);
  assert.is(TaskState.TASK_UNKNOWN, 13);
  assert.is(taskStateName(TaskState.TASK_KILLED), 'TASK_KILLED');
  assert.is(reasonName(agora.v1.TaskStatus.Reason.REASON_RECONCILIATION), 'REASON_RECONCILIATION');
});

test('terminal states are those Mesos treats as terminal (TASK_LOST is not)', () => {
  const terminal = Object.values(TaskState)
    .filter((v): v is TaskState => typeof v === 'number')
    .filter(isTerminalState)
    .map(taskStateName)
    .sort();
  assert.equal(terminal, [
    'TASK_DROPPED',
    'TASK_ERROR',
    'TASK_FAILED',
    'TASK_FINISHED',
    'TASK_GONE',
    'TASK_GONE_BY_OPERATOR',
    'TASK_KILLED',
  ]);
});

test('a call round-trips through a frame with snake_case fields and defaults', () => {
  const bytes = encodeFrame(agora.v1.scheduler.Call, {
    framework_id: { value: 'fw-1' },
    type: agora.v1.scheduler.Call.Type.DECLINE,
    decline: { offer_ids: [{ value: 'o-1' }, { value: 'o-2' }], filters: {} },
  });
  const call = decodeFrame(agora.v1.scheduler.Call, bytes);
  assert.is(call.framework_id?.value, 'fw-1');
  assert.equal(
    call.decline?.offer_ids.map((o) => o.value),
    ['o-1', 'o-2'],
  );
  assert.is(call.decline?.filters?.refuse_seconds, null, 'unset fields stay visible as null');
  assert.is(refuseSeconds(call.decline?.filters), 5, 'Mesos default refuse_seconds');
  assert.is(refuseSeconds({ refuse_seconds: -1 }), 5, 'negative means the default');
  assert.is(refuseSeconds({ refuse_seconds: 1e9 }), 31_536_000, 'capped at 365 days');
  assert.ok(isShellCommand({}), 'commands run under a shell by default');
  assert.not.ok(isShellCommand({ shell: false }));
});

test('garbage bytes raise FrameDecodeError with code AGORA_ERR_BAD_FRAME', () => {
  try {
    decodeFrame(agora.v1.scheduler.Call, Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]));
    assert.unreachable('decoded garbage');
  } catch (err) {
    assert.instance(err, FrameDecodeError);
    assert.is((err as FrameDecodeError).code, 'AGORA_ERR_BAD_FRAME');
  }
});

test.run();
