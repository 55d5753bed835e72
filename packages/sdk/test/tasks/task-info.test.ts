import { hasErrorCode, parseResources } from '@agora/common';
import { agora } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { offerResources, taskInfo } from '../../src/tasks/task-info.js';

const test = suite('task helpers - TaskInfo from plain values, offers as Resources');

test('a shell command with env, labels and kill grace period', () => {
  const task = taskInfo({
    id: 't-1',
    agentId: 'agent-1',
    resources: parseResources('cpus:0.5;mem:64;ports:[31000-31001]'),
    command: 'echo hello; sleep 1',
    env: { GREETING: 'hi' },
    labels: { team: 'a' },
    killGracePeriodMs: 2000,
  });
  assert.is(task.name, 't-1');
  assert.is(task.task_id.value, 't-1');
  assert.is(task.agent_id.value, 'agent-1');
  assert.equal(task.command, {
    shell: true,
    value: 'echo hello; sleep 1',
    environment: { variables: [{ name: 'GREETING', value: 'hi' }] },
  });
  assert.equal(task.labels, { labels: [{ key: 'team', value: 'a' }] });
  assert.is(task.kill_policy?.grace_period?.nanoseconds, 2_000_000_000);
  assert.is(offerResources({ resources: task.resources ?? [] }).toString(), 'cpus:0.5;mem:64;ports:[31000-31001]');
  // It encodes: every required field is there.
  const decoded = agora.v1.TaskInfo.decode(agora.v1.TaskInfo.encode(task).finish());
  assert.is(decoded.command?.value, 'echo hello; sleep 1');
});

test('an argv command runs without a shell; text resources are parsed', () => {
  const task = taskInfo({
    id: 't-2',
    name: 'lister',
    agentId: 'a',
    resources: 'cpus:1',
    command: { value: '/bin/ls', arguments: ['ls', '-l'] },
  });
  assert.is(task.name, 'lister');
  assert.equal(task.command, { shell: false, value: '/bin/ls', arguments: ['ls', '-l'] });
});

test('bad specs are refused with a typed error naming the field', () => {
  const base = { id: 't', agentId: 'a', resources: 'cpus:1', command: 'true' };
  const cases: Array<[string, Parameters<typeof taskInfo>[0]]> = [
    ['id', { ...base, id: '' }],
    ['agentId', { ...base, agentId: ' ' }],
    ['command', { ...base, command: '' }],
    ['command.arguments', { ...base, command: { value: 'ls', arguments: ['ls'], shell: true } }],
    ['env', { ...base, env: { 'BAD-NAME': 'x' } }],
    ['resources', { ...base, resources: '' }],
    ['killGracePeriodMs', { ...base, killGracePeriodMs: -1 }],
  ];
  for (const [field, spec] of cases) {
    try {
      taskInfo(spec);
      assert.unreachable(`${field} case was accepted`);
    } catch (err) {
      assert.ok(hasErrorCode(err, 'AGORA_ERR_BAD_REQUEST'), `${field}: ${String(err)}`);
      assert.is((err as { data: { field: string } }).data.field, field);
    }
  }
  try {
    taskInfo({ ...base, resources: 'cpus:' });
    assert.unreachable('bad resources text was accepted');
  } catch (err) {
    assert.ok(hasErrorCode(err, 'AGORA_ERR_BAD_RESOURCES'), String(err));
  }
});

test('offerResources reads an offer (with allocation roles) as Resources', () => {
  const offer: agora.v1.Offer.$Properties = {
    id: { value: 'o' },
    framework_id: { value: 'f' },
    agent_id: { value: 'a' },
    hostname: 'h',
    resources: [
      { name: 'cpus', type: agora.v1.Value.Type.SCALAR, scalar: { value: 4 }, allocation_info: { role: '*' } },
      { name: 'mem', type: agora.v1.Value.Type.SCALAR, scalar: { value: 1024 }, allocation_info: { role: '*' } },
      {
        name: 'ports',
        type: agora.v1.Value.Type.RANGES,
        ranges: { range: [{ begin: 31000, end: 31009 }] },
        allocation_info: { role: '*' },
      },
    ],
  };
  const r = offerResources(offer);
  assert.ok(r.contains(parseResources('cpus:0.5;mem:128;ports:[31000-31000]')));
  assert.not.ok(r.contains(parseResources('cpus:5')));
  assert.is(offerResources({}).isEmpty(), true);
});

test.run();
