import { ValueType } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { buildTaskEnvironment, taskPorts } from '../../src/containerizer/environment.js';

const test = suite('task environment');

const ports = (...ranges: Array<[number, number]>) => ({
  name: 'ports',
  type: ValueType.RANGES,
  ranges: { range: ranges.map(([begin, end]) => ({ begin, end })) },
});

const input = {
  taskId: 't1',
  frameworkId: 'f1',
  executorId: 't1',
  sandbox: '/sb',
  agentEndpoint: 'h:5051',
  hostname: 'h',
  base: { PATH: '/bin', HOME: '/root', UNSET: undefined },
};

test('ports come from the ports ranges, in the order given', () => {
  assert.equal(taskPorts([ports([31010, 31011], [31002, 31002])]), [31010, 31011, 31002]);
  assert.equal(taskPorts([{ name: 'cpus', type: ValueType.SCALAR, scalar: { value: 1 } }]), []);
});

test('PORT0..N, PORT and PORTS; none of them without ports', () => {
  const env = buildTaskEnvironment({ ...input, resources: [ports([31000, 31001])] });
  assert.is(env['PORT0'], '31000');
  assert.is(env['PORT1'], '31001');
  assert.is(env['PORT'], '31000');
  assert.is(env['PORTS'], '31000,31001');
  const none = buildTaskEnvironment({ ...input, resources: [] });
  assert.is(none['PORT'], undefined);
  assert.is(none['PORTS'], undefined);
  assert.is(none['PORT0'], undefined);
});

test('inherits the agent environment; Mesos variables and HOST are set; the command environment wins', () => {
  const env = buildTaskEnvironment({
    ...input,
    resources: [ports([31000, 31000])],
    environment: { variables: [{ name: 'PORT', value: '8080' }, { name: 'HOME', value: '/app' }, { name: 'EMPTY' }] },
  });
  assert.is(env['PATH'], '/bin');
  assert.is(env['HOME'], '/app');
  assert.is(env['PORT'], '8080');
  assert.is(env['PORT0'], '31000');
  assert.is(env['EMPTY'], '');
  assert.not.ok('UNSET' in env);
  assert.is(env['MESOS_TASK_ID'], 't1');
  assert.is(env['MESOS_FRAMEWORK_ID'], 'f1');
  assert.is(env['MESOS_SANDBOX'], '/sb');
  assert.is(env['MESOS_AGENT_ENDPOINT'], 'h:5051');
  assert.is(env['HOST'], 'h');
});

test.run();
