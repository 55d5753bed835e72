import { parseResources } from '@agora/common';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { buildTaskInfo, taskEnvironment } from '../../src/scheduling/task-builder.js';
import { app } from './fixtures.js';

const env = suite('task builder - Marathon task environment');

env('ports, host, app id, version, resources and labels', () => {
  const a = app({
    id: '/prod/web',
    cpus: 0.5,
    mem: 64,
    portDefinitions: [{ port: 10000, name: 'http' }, { port: 0 }],
    labels: { 'team.name': 'core', big: 'x'.repeat(600) },
    env: { EXTRA: '1', PORT: 'user-wins' },
  });
  const e = taskEnvironment(a, 'agent-host', [31001, 31002]);
  assert.is(e['PORT0'], '31001');
  assert.is(e['PORT1'], '31002');
  assert.is(e['PORTS'], '31001,31002');
  assert.is(e['PORT_HTTP'], '31001');
  assert.is(e['PORT_10000'], '31001');
  assert.is(e['PORT'], 'user-wins');
  assert.is(e['HOST'], 'agent-host');
  assert.is(e['MARATHON_APP_ID'], '/prod/web');
  assert.is(e['MARATHON_APP_VERSION'], a.version);
  assert.is(e['MARATHON_APP_RESOURCE_CPUS'], '0.5');
  assert.is(e['MARATHON_APP_RESOURCE_MEM'], '64.0');
  assert.is(e['MARATHON_APP_RESOURCE_DISK'], '0.0');
  assert.is(e['MARATHON_APP_RESOURCE_GPUS'], '0');
  assert.is(e['MARATHON_APP_LABELS'], 'TEAM_NAME');
  assert.is(e['MARATHON_APP_LABEL_TEAM_NAME'], 'core');
  assert.is(e['MARATHON_APP_LABEL_BIG'], undefined);
  assert.is(e['EXTRA'], '1');
});

env('no ports: no PORT variables', () => {
  const e = taskEnvironment(app({ id: '/a', portDefinitions: [] }), 'h', []);
  assert.is(e['PORT'], undefined);
  assert.is(e['PORTS'], undefined);
});

const info = suite('task builder - TaskInfo');

info('cmd runs in the shell; resources, ids and name are set', () => {
  const a = app({ id: '/tools/web', cmd: 'echo hi', taskKillGracePeriodSeconds: 2 });
  const t = buildTaskInfo({
    app: a,
    taskId: 'tools_web.instance-x._app.1',
    agentId: 'S1',
    hostname: 'h',
    instance: { resources: parseResources('cpus:1;mem:128;ports:[31000-31000]'), hostPorts: [31000] },
  });
  assert.is(t.name, 'web.tools');
  assert.equal(t.task_id, { value: 'tools_web.instance-x._app.1' });
  assert.equal(t.agent_id, { value: 'S1' });
  assert.is(t.command?.shell, true);
  assert.is(t.command?.value, 'echo hi');
  assert.is(t.resources?.length, 3);
  assert.equal(t.kill_policy, { grace_period: { nanoseconds: 2_000_000_000 } });
  assert.ok(t.command?.environment?.variables?.some((v) => v.name === 'PORT0' && v.value === '31000'));
});

info('args run without a shell, argv[0] the program; fetch URIs are passed', () => {
  const a = app({
    id: '/a',
    cmd: undefined,
    args: ['sleep', '100'],
    fetch: [{ uri: 'http://x/a.tgz', destPath: 'a.tgz' }],
  });
  const t = buildTaskInfo({
    app: a,
    taskId: 't',
    agentId: 'S1',
    hostname: 'h',
    instance: { resources: parseResources('cpus:1;mem:128'), hostPorts: [] },
  });
  assert.is(t.command?.shell, false);
  assert.is(t.command?.value, 'sleep');
  assert.equal(t.command?.arguments, ['sleep', '100']);
  assert.equal(t.command?.uris, [
    { value: 'http://x/a.tgz', executable: false, extract: true, cache: false, output_file: 'a.tgz' },
  ]);
});

env.run();
info.run();
