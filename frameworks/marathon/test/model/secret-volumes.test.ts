/** Secret volumes: Marathon's validation, and a TaskInfo that writes the file without the value in its command. */
import { parseResources } from '@agora/common';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AppDefinition } from '../../src/model/app-definition.js';
import { parseAppDefinition } from '../../src/model/app-parser.js';
import { secretVolumesOf, shellQuote } from '../../src/model/secret-volumes.js';
import type { Violation } from '../../src/model/violations.js';
import { buildTaskInfo } from '../../src/scheduling/task-builder.js';

const VALUE = 'pa\'ss $(rm -rf /) `x` "y"';
const secrets = { pw: { source: 'db/pw' } };
const volume = (containerPath: string, secret = 'pw') => ({ containerPath, secret });
const body = (volumes: unknown[], extra: Record<string, unknown> = {}) => ({
  id: '/sv',
  cmd: 'cat conf/pw',
  secrets,
  container: { type: 'MESOS', volumes },
  ...extra,
});

function violations(raw: unknown, features = ['secrets']): Violation[] {
  const r = parseAppDefinition(raw, { enabledFeatures: features });
  return r.ok ? [] : r.violations;
}

const validation = suite('secret volumes - validation');

validation('a volume naming a declared secret with a relative path is valid', () => {
  assert.equal(violations(body([volume('conf/pw'), volume('pw2')])), []);
});

validation('the secret must be declared in secrets', () => {
  assert.equal(violations(body([volume('pw', 'other')])), [
    { path: '/container/volumes(0)/secret', errors: ['volume.secret must refer to an existing secret'] },
  ]);
});

validation('without --enable_features secrets: 422 at the volume (and at /secrets)', () => {
  const v = violations(body([volume('pw')]), []);
  assert.ok(
    v.some((x) => x.path === '/container/volumes(0)/secret'),
    JSON.stringify(v),
  );
  assert.ok(v.some((x) => x.path === '/secrets'));
});

validation('absolute paths, .. and directories are refused at containerPath', () => {
  for (const p of ['/etc/pw', '../pw', 'a/../../pw', 'dir/']) {
    const v = violations(body([volume(p)]));
    assert.ok(
      v.some((x) => x.path === '/container/volumes(0)/containerPath'),
      `${p}: ${JSON.stringify(v)}`,
    );
  }
});

function stored(raw: Record<string, unknown>): AppDefinition {
  const r = parseAppDefinition(raw, { enabledFeatures: ['secrets'] });
  if (!r.ok) throw new Error(JSON.stringify(r.violations));
  const v = '2024-01-01T00:00:00.000Z';
  return { ...r.spec, version: v, versionInfo: { lastScalingAt: v, lastConfigChangeAt: v } };
}

const build = suite('secret volumes - the TaskInfo');
const launch = (app: AppDefinition) =>
  buildTaskInfo({
    app,
    taskId: 't1',
    agentId: 'a1',
    hostname: 'h',
    instance: { resources: parseResources('cpus:0.1;mem:32'), hostPorts: [] },
    secretEnvironment: { AGORA_SECRET_VOLUME_0: VALUE },
  });

build('the value is only in the environment; the command writes the file from it, then runs cmd', () => {
  const app = stored(body([volume('conf/pw')]));
  assert.equal(secretVolumesOf(app), [{ index: 0, containerPath: 'conf/pw', secret: 'pw' }]);
  const task = launch(app);
  const command = task.command!;
  assert.not.ok((command.value ?? '').includes(VALUE), command.value ?? '');
  assert.ok(command.shell);
  assert.ok(command.value!.includes(`> 'conf/pw'`), command.value!);
  assert.ok(command.value!.endsWith('\ncat conf/pw'), command.value!);
  const vars = command.environment?.variables ?? [];
  assert.is(vars.find((v) => v.name === 'AGORA_SECRET_VOLUME_0')?.value, VALUE);
});

build('an args app runs as exec of its quoted arguments after the prefix', () => {
  const { cmd: _c, ...rest } = body([volume('pw')]);
  const app = stored({ ...rest, args: ['/bin/echo', "it's", '$HOME'] });
  const command = launch(app).command!;
  assert.ok(command.shell);
  assert.ok(command.value!.endsWith(`\nexec '/bin/echo' ${shellQuote("it's")} '$HOME'`), command.value!);
  assert.is(command.arguments, undefined);
});

validation.run();
build.run();
