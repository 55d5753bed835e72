/** Normalization (defaults, deprecated fields) and validation of app definitions, as Marathon does them. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AppDefinition, AppSpec } from '../../src/model/app-definition.js';
import { isUpgrade, nextVersion } from '../../src/model/app-json.js';
import { mergeAppUpdate, parseAppDefinition } from '../../src/model/app-parser.js';
import type { Violation } from '../../src/model/violations.js';

function accept(body: unknown): AppSpec {
  const r = parseAppDefinition(body);
  if (!r.ok) throw new Error(`rejected: ${JSON.stringify(r.violations)}`);
  return r.spec;
}

function reject(body: unknown): { kind: string; violations: Violation[] } {
  const r = parseAppDefinition(body);
  if (r.ok) throw new Error(`accepted: ${JSON.stringify(r.spec)}`);
  return r;
}

function errorsAt(violations: Violation[], path: string): string[] {
  return violations.find((v) => v.path === path)?.errors ?? [];
}

function stored(spec: AppSpec, version = '2024-01-01T00:00:00.000Z'): AppDefinition {
  return { ...spec, version, versionInfo: { lastScalingAt: version, lastConfigChangeAt: version } };
}

const defaults = suite('normalization - defaults of a minimal app');

defaults('a minimal app gets Marathon defaults', () => {
  const app = accept({ id: 'web', cmd: 'sleep 100' });
  assert.is(app.id, '/web');
  assert.is(app.instances, 1);
  assert.is(app.cpus, 1);
  assert.is(app.mem, 128);
  assert.is(app.disk, 0);
  assert.is(app.gpus, 0);
  assert.equal(app.portDefinitions, [{ port: 0, name: 'default', protocol: 'tcp' }]);
  assert.is(app.backoffSeconds, 1);
  assert.is(app.backoffFactor, 1.15);
  assert.is(app.maxLaunchDelaySeconds, 300);
  assert.equal(app.upgradeStrategy, { minimumHealthCapacity: 1, maximumOverCapacity: 1 });
  assert.equal(app.unreachableStrategy, { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 });
  assert.is(app.killSelection, 'YOUNGEST_FIRST');
  assert.equal(app.env, {});
  assert.equal(app.labels, {});
  assert.equal(app.constraints, []);
  assert.is(app.requirePorts, false);
  assert.equal(app.networks, [{ mode: 'host' }]);
  assert.is(app.role, '*');
});

defaults('the default role can be configured', () => {
  const r = parseAppDefinition({ id: '/a', cmd: 'x' }, { defaultRole: 'web' });
  assert.ok(r.ok && r.spec.role === 'web');
});

defaults('portDefinitions [] means no ports', () => {
  assert.equal(accept({ id: '/a', cmd: 'x', portDefinitions: [] }).portDefinitions, []);
});

defaults('null fields count as absent', () => {
  const app = accept({ id: '/a', cmd: 'x', args: null, user: null, container: null, instances: null });
  assert.is(app.instances, 1);
  assert.is(app.args, undefined);
  assert.is(app.container, undefined);
});

const deprecated = suite('normalization - deprecated fields become canonical ones');

deprecated('ports become portDefinitions', () => {
  const app = accept({ id: '/a', cmd: 'x', ports: [0, 8080] });
  assert.equal(app.portDefinitions, [
    { port: 0, protocol: 'tcp' },
    { port: 8080, protocol: 'tcp' },
  ]);
});

deprecated('ports equal to portDefinitions are accepted', () => {
  const app = accept({ id: '/a', cmd: 'x', ports: [8080], portDefinitions: [{ port: 8080, name: 'http' }] });
  assert.equal(app.portDefinitions, [{ port: 8080, protocol: 'tcp', name: 'http' }]);
});

deprecated('uris become fetch, archives extracted', () => {
  const app = accept({ id: '/a', cmd: 'x', uris: ['http://h/a.tgz', 'http://h/run.sh'] });
  assert.equal(app.fetch, [
    { uri: 'http://h/a.tgz', extract: true, executable: false, cache: false },
    { uri: 'http://h/run.sh', extract: false, executable: false, cache: false },
  ]);
});

deprecated('ipAddress and docker.network become networks', () => {
  const a = accept({ id: '/a', cmd: 'x', ipAddress: { networkName: 'dcos' } });
  assert.equal(a.networks, [{ mode: 'container', name: 'dcos' }]);
  assert.equal(a.portDefinitions, []);
  const b = accept({ id: '/b', container: { type: 'DOCKER', docker: { image: 'nginx', network: 'BRIDGE' } } });
  assert.equal(b.networks, [{ mode: 'container/bridge' }]);
  assert.equal(b.container?.['docker'], { image: 'nginx' });
});

deprecated('relative dependencies resolve against the app group', () => {
  assert.equal(accept({ id: '/prod/web', cmd: 'x', dependencies: ['db', '/infra/cache', '../dev/x'] }).dependencies, [
    '/prod/db',
    '/infra/cache',
    '/dev/x',
  ]);
});

deprecated('resident apps default to a resident upgrade strategy and no unreachable replacement', () => {
  const app = accept({
    id: '/db',
    cmd: 'x',
    container: { type: 'MESOS', volumes: [{ containerPath: 'data', mode: 'RW', persistent: { size: 10 } }] },
    residency: {},
  });
  assert.equal(app.upgradeStrategy, { minimumHealthCapacity: 0.5, maximumOverCapacity: 0 });
  assert.is(app.unreachableStrategy, 'disabled');
});

const types = suite('validation - JSON types give Play error keys ("Invalid JSON")');

types('wrong types and ranges are reported at their paths', () => {
  const r = reject({
    id: 5,
    cmd: 'x',
    instances: 1.5,
    cpus: 'a',
    mem: -1,
    env: { A: 1 },
    labels: { a: 2 },
    requirePorts: 'yes',
  });
  assert.is(r.kind, 'json');
  assert.equal(errorsAt(r.violations, '/id'), ['error.expected.jsstring']);
  assert.equal(errorsAt(r.violations, '/instances'), ['error.expected.int']);
  assert.equal(errorsAt(r.violations, '/cpus'), ['error.expected.jsnumber']);
  assert.equal(errorsAt(r.violations, '/mem'), ['error.min']);
  assert.equal(errorsAt(r.violations, '/env/A'), ['error.expected.jsstring']);
  assert.equal(errorsAt(r.violations, '/labels/a'), ['error.expected.jsstring']);
  assert.equal(errorsAt(r.violations, '/requirePorts'), ['error.expected.jsboolean']);
});

types('array elements are reported with (i) indices', () => {
  const r = reject({
    id: '/a',
    cmd: 'x',
    portDefinitions: [{ port: 80 }, { port: 'x', protocol: 'sctp' }],
    args: ['a', 1],
  });
  assert.equal(errorsAt(r.violations, '/portDefinitions(1)/port'), ['error.expected.jsnumber']);
  assert.equal(errorsAt(r.violations, '/portDefinitions(1)/protocol'), ['error.unknown.enum.literal']);
  assert.equal(errorsAt(r.violations, '/args(1)'), ['error.expected.jsstring']);
});

types('negative instances, missing id, non-object body', () => {
  assert.equal(errorsAt(reject({ id: '/a', cmd: 'x', instances: -1 }).violations, '/instances'), ['error.min']);
  assert.equal(errorsAt(reject({ cmd: 'x' }).violations, '/id'), ['error.path.missing']);
  assert.equal(reject([1, 2]).violations, [{ path: '/', errors: ['error.expected.jsobject'] }]);
  assert.equal(reject('app').violations, [{ path: '/', errors: ['error.expected.jsobject'] }]);
});

types('env values may be secret references (with --enable_features secrets)', () => {
  const r = parseAppDefinition(
    { id: '/a', cmd: 'x', env: { PW: { secret: 's' } }, secrets: { s: { source: 'db' } } },
    { enabledFeatures: ['secrets'] },
  );
  assert.ok(r.ok);
  if (r.ok) assert.equal(r.spec.env['PW'], { secret: 's' });
});

const semantic = suite('validation - semantic rules ("Object is not valid")');

semantic('cmd and args together, or neither without a container image', () => {
  const msg = "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.";
  assert.ok(errorsAt(reject({ id: '/a', cmd: 'x', args: ['y'] }).violations, '/').includes(msg));
  assert.ok(errorsAt(reject({ id: '/a' }).violations, '/').includes(msg));
  accept({ id: '/a', args: ['sleep', '10'] });
  accept({ id: '/a', container: { type: 'DOCKER', docker: { image: 'nginx' } } });
  accept({ id: '/a', container: { type: 'MESOS', docker: { image: 'nginx' } }, args: ['x'] });
});

semantic('bad ids are rejected at /id', () => {
  const r = reject({ id: '/My_App', cmd: 'x' });
  assert.is(r.kind, 'semantic');
  assert.ok(errorsAt(r.violations, '/id')[0]?.startsWith('must fully match regular expression'));
  assert.ok(errorsAt(reject({ id: '/a/versions', cmd: 'x' }).violations, '/id')[0]?.includes('reserved keywords'));
  const root = reject({ id: '/', cmd: 'x' });
  assert.ok(errorsAt(root.violations, '/').includes('must not be root'));
});

semantic('port definitions: names unique and well-formed, non-zero ports unique', () => {
  const r = reject({
    id: '/a',
    cmd: 'x',
    portDefinitions: [
      { port: 80, name: 'http' },
      { port: 80, name: 'http' },
      { port: 0, name: 'Bad_Name' },
      { port: 0 },
    ],
  });
  assert.equal(errorsAt(r.violations, '/portDefinitions'), ['Port names must be unique.', 'Ports must be unique.']);
  assert.ok(errorsAt(r.violations, '/portDefinitions(2)/name')[0]?.startsWith('must fully match'));
  accept({ id: '/a', cmd: 'x', portDefinitions: [{ port: 0 }, { port: 0 }] });
});

semantic('ports and portDefinitions that differ', () => {
  const r = reject({ id: '/a', cmd: 'x', ports: [8081], portDefinitions: [{ port: 8080 }] });
  assert.equal(errorsAt(r.violations, '/'), ['cannot specify both ports and port definitions']);
  assert.ok(errorsAt(reject({ id: '/a', cmd: 'x', ports: [80, 80] }).violations, '/').includes('ports must be unique'));
});

semantic('env names must not be empty; secret references must name a secret', () => {
  assert.ok(errorsAt(reject({ id: '/a', cmd: 'x', env: { '': 'v' } }).violations, '/env').length > 0);
  const r = parseAppDefinition(
    { id: '/a', cmd: 'x', env: { A: { secret: 'nope' } } },
    { enabledFeatures: ['secrets'] },
  );
  assert.not.ok(r.ok);
  if (!r.ok) assert.equal(errorsAt(r.violations, '/env/A'), ["references an undefined secret named 'nope'"]);
});

semantic('secrets and secret references need --enable_features secrets (Marathon messages)', () => {
  const body = { id: '/a', cmd: 'x', env: { PW: { secret: 's' } }, secrets: { s: { source: 'db' } } };
  const r = reject(body);
  assert.equal(errorsAt(r.violations, '/secrets'), [
    'Feature secrets is not enabled. Enable with --enable_features secrets)',
  ]);
  assert.equal(errorsAt(r.violations, '/env'), [
    'use of secret-references in the environment requires the secrets feature to be enabled',
  ]);
  const empty = parseAppDefinition({ ...body, secrets: { s: { source: '' } } }, { enabledFeatures: ['secrets'] });
  assert.not.ok(empty.ok);
  if (!empty.ok) assert.equal(errorsAt(empty.violations, '/secrets/s/source'), ['must not be empty']);
});

semantic('a MESOS docker pullConfig needs the secrets feature and an existing secret (Marathon messages)', () => {
  const body = {
    id: '/a',
    container: { type: 'MESOS', docker: { image: 'private/img', pullConfig: { secret: 'pull' } } },
  };
  assert.equal(errorsAt(reject(body).violations, '/container/docker/pullConfig'), [
    'must be empty',
    'Feature secrets is not enabled. Enable with --enable_features secrets)',
  ]);
  const missing = parseAppDefinition(body, { enabledFeatures: ['secrets'] });
  assert.not.ok(missing.ok);
  if (!missing.ok) {
    assert.equal(errorsAt(missing.violations, '/container/docker/pullConfig'), [
      'pullConfig.secret must refer to an existing secret',
    ]);
  }
  const ok = parseAppDefinition(
    { ...body, secrets: { pull: { source: 'registry/auth' } } },
    { enabledFeatures: ['secrets'] },
  );
  assert.ok(ok.ok, JSON.stringify(ok));
});

semantic('acceptedResourceRoles may name only * and the app role', () => {
  const r = reject({ id: '/a', cmd: 'x', acceptedResourceRoles: ['slave_public'] });
  assert.equal(errorsAt(r.violations, '/acceptedResourceRoles'), ['acceptedResourceRoles can only contain *']);
  const r2 = reject({ id: '/a', cmd: 'x', role: 'dev', acceptedResourceRoles: ['*', 'ops'] });
  assert.equal(errorsAt(r2.violations, '/acceptedResourceRoles'), ['acceptedResourceRoles can only contain * and dev']);
  assert.equal(accept({ id: '/a', cmd: 'x', role: 'dev', acceptedResourceRoles: ['dev', '*'] }).acceptedResourceRoles, [
    'dev',
    '*',
  ]);
});

semantic('empty cmd, portDefinitions off host networking, unreachable strategy order', () => {
  assert.ok(errorsAt(reject({ id: '/a', cmd: '' }).violations, '/cmd').includes('must not be an empty string'));
  const r = reject({
    id: '/a',
    cmd: 'x',
    networks: [{ mode: 'container', name: 'n' }],
    portDefinitions: [{ port: 0 }],
  });
  assert.ok(errorsAt(r.violations, '/').includes('portDefinitions are only allowed with host-networking'));
  const u = reject({ id: '/a', cmd: 'x', unreachableStrategy: { inactiveAfterSeconds: 10, expungeAfterSeconds: 5 } });
  assert.ok(errorsAt(u.violations, '/unreachableStrategy/expungeAfterSeconds').length === 1);
});

semantic('unknown fields are accepted and reported', () => {
  const r = parseAppDefinition({ id: '/a', cmd: 'x', instnaces: 3, foo: {} });
  assert.ok(r.ok);
  assert.equal(r.unknownFields, ['instnaces', 'foo']);
  if (r.ok) assert.is(r.spec.instances, 1);
});

const updates = suite('updates - partial merge and restart-or-scale');

updates('a partial update keeps absent fields and replaces given ones', () => {
  const current = stored(accept({ id: '/a', cmd: 'sleep 1', instances: 2, env: { A: '1' }, labels: { x: 'y' } }));
  const r = parseAppDefinition(mergeAppUpdate(current, { instances: 5 }), { id: '/a' });
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.is(r.spec.instances, 5);
  assert.is(r.spec.cmd, 'sleep 1');
  assert.equal(r.spec.env, { A: '1' });
  assert.is(isUpgrade(current, r.spec), false);
});

updates('giving args replaces cmd; giving ports replaces portDefinitions', () => {
  const current = stored(accept({ id: '/a', cmd: 'sleep 1', portDefinitions: [{ port: 0, name: 'http' }] }));
  const r = parseAppDefinition(mergeAppUpdate(current, { args: ['sleep', '2'], ports: [0, 0] }), { id: '/a' });
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.is(r.spec.cmd, undefined);
  assert.equal(r.spec.args, ['sleep', '2']);
  assert.is(r.spec.portDefinitions.length, 2);
});

updates('any change but instances is an upgrade (restart)', () => {
  const a = accept({ id: '/a', cmd: 'sleep 1', instances: 1 });
  assert.is(isUpgrade(a, accept({ id: '/a', cmd: 'sleep 1', instances: 9 })), false);
  assert.is(isUpgrade(a, accept({ id: '/a', cmd: 'sleep 2' })), true);
  assert.is(isUpgrade(a, accept({ id: '/a', cmd: 'sleep 1', env: { A: 'b' } })), true);
  assert.is(isUpgrade(a, accept({ id: '/a', cmd: 'sleep 1', mem: 64 })), true);
});

updates('version stamps are ISO with millis and strictly increasing', () => {
  const t = Date.UTC(2024, 0, 1);
  const v1 = nextVersion(t);
  assert.is(v1, '2024-01-01T00:00:00.000Z');
  assert.is(nextVersion(t, v1), '2024-01-01T00:00:00.001Z');
  assert.is(nextVersion(t + 5000, v1), '2024-01-01T00:00:05.000Z');
});

defaults.run();
deprecated.run();
types.run();
semantic.run();
updates.run();
