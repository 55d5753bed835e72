/** Health and readiness checks, executor, gpus, volumes, resource limits: defaults and Marathon's 422s. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAppDefinition } from '../../src/model/app-parser.js';
import { matchesLabels, parseLabelSelector } from '../../src/api/label-selector.js';

const rejects = (body: Record<string, unknown>, path: string, error: string): void => {
  const r = parseAppDefinition({ id: '/a', cmd: 'x', ...body });
  assert.not.ok(r.ok, JSON.stringify(body));
  if (r.ok) return;
  const at = r.violations.find((v) => v.path === path);
  assert.ok(at?.errors.includes(error), JSON.stringify(r.violations));
};

const checks = suite('app model - health and readiness checks');

checks('health checks get Marathon defaults per protocol', () => {
  const r = parseAppDefinition({
    id: '/a',
    cmd: 'x',
    healthChecks: [{}, { protocol: 'TCP' }, { protocol: 'COMMAND', command: { value: 'true' } }],
  });
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.equal(r.spec.healthChecks[0], {
    gracePeriodSeconds: 300,
    intervalSeconds: 60,
    timeoutSeconds: 20,
    maxConsecutiveFailures: 3,
    delaySeconds: 15,
    portIndex: 0,
    path: '/',
    ignoreHttp1xx: false,
    protocol: 'HTTP',
  });
  assert.is(r.spec.healthChecks[1]!['path'], undefined);
  assert.is(r.spec.healthChecks[2]!['portIndex'], undefined);
});

checks('bad health checks are rejected where Marathon rejects them', () => {
  rejects(
    { healthChecks: [{ portIndex: 3 }] },
    '/healthChecks(0)',
    'Health check port indices must address an element of the ports array or container port mappings.',
  );
  rejects(
    { healthChecks: [{ port: 80, portIndex: 0 }] },
    '/healthChecks(0)',
    'HealthCheck must specify either a port or a portIndex',
  );
  rejects(
    { healthChecks: [{ protocol: 'MESOS_HTTP' }, { protocol: 'MESOS_TCP' }] },
    '/healthChecks',
    'AppDefinition can contain at most one Mesos health check',
  );
  rejects({ healthChecks: [{ protocol: 'COMMAND' }] }, '/healthChecks(0)/command', 'not defined');
  rejects({ healthChecks: [{ protocol: 'FTP' }] }, '/healthChecks(0)/protocol', 'error.unknown.enum.literal');
});

checks('readiness checks: defaults, port names, timeout below interval, at most one', () => {
  const ok = parseAppDefinition({
    id: '/a',
    cmd: 'x',
    portDefinitions: [{ port: 0, name: 'http-api' }],
    readinessChecks: [{}],
  });
  assert.ok(ok.ok);
  if (ok.ok) assert.equal(ok.spec.readinessChecks[0]!['httpStatusCodesForReady'], [200]);
  rejects(
    { readinessChecks: [{ portName: 'web' }] },
    '/readinessChecks(0)',
    'No port definition reference for portName web',
  );
  rejects(
    {
      portDefinitions: [{ port: 0, name: 'http-api' }],
      readinessChecks: [{ timeoutSeconds: 30, intervalSeconds: 30 }],
    },
    '/readinessChecks(0)',
    'timeoutSeconds must be lower than intervalSeconds',
  );
  rejects(
    { portDefinitions: [{ port: 0, name: 'http-api' }], readinessChecks: [{}, {}] },
    '/readinessChecks',
    'must be less than or equal to 1',
  );
});

const others = suite('app model - executor, gpus, volumes, residency, limits');

others('executor must match Marathon pattern; GPUs need the Mesos containerizer', () => {
  rejects({ executor: 'a//b' }, '/executor', "must fully match regular expression '^(//cmd)|(/?[^/]+(/[^/]+)*)|$'");
  assert.ok(parseAppDefinition({ id: '/a', cmd: 'x', executor: '//cmd' }).ok);
  rejects(
    { gpus: 1, container: { type: 'DOCKER', docker: { image: 'x' } } },
    '/gpus',
    'GPU resources only work with the Mesos containerizer',
  );
});

others('persistent volumes make an app resident with residency and disabled unreachableStrategy', () => {
  const r = parseAppDefinition({
    id: '/a',
    cmd: 'x',
    container: { type: 'MESOS', volumes: [{ containerPath: 'data', mode: 'RW', persistent: { size: 10 } }] },
  });
  assert.ok(r.ok, JSON.stringify(r));
  if (!r.ok) return;
  assert.equal(r.spec.residency, { relaunchEscalationTimeoutSeconds: 3600, taskLostBehavior: 'WAIT_FOREVER' });
  assert.is(r.spec.unreachableStrategy, 'disabled');
  assert.equal(r.spec.upgradeStrategy, { minimumHealthCapacity: 0.5, maximumOverCapacity: 0 });
  rejects(
    { container: { type: 'MESOS', volumes: [{ containerPath: 'a/b', mode: 'RW', persistent: { size: 10 } }] } },
    '/container/volumes(0)/containerPath',
    'value must not contain "/"',
  );
  rejects(
    { container: { type: 'MESOS', volumes: [{ containerPath: 'd', mode: 'RW', persistent: { size: 0 } }] } },
    '/container/volumes(0)/persistent/size',
    'must be greater than 0',
  );
});

others('resource limits must not be below the request', () => {
  rejects(
    { cpus: 2, resourceLimits: { cpus: 1 } },
    '/resourceLimits/cpus',
    'resource limit must be greater than or equal to requested resource (2)',
  );
  assert.ok(parseAppDefinition({ id: '/a', cmd: 'x', resourceLimits: { cpus: 'unlimited', mem: 512 } }).ok);
});

const labels = suite('label selector - Marathon syntax');

labels('exists, ==, !=, in, notin and escapes', () => {
  const l = { tier: 'web', 'a.b': 'x y' };
  assert.ok(matchesLabels(parseLabelSelector('tier'), l));
  assert.ok(matchesLabels(parseLabelSelector('tier==web'), l));
  assert.not.ok(matchesLabels(parseLabelSelector('tier!=web'), l));
  assert.ok(matchesLabels(parseLabelSelector('tier in (db, web)'), l));
  assert.not.ok(matchesLabels(parseLabelSelector('tier notin (web)'), l));
  assert.ok(matchesLabels(parseLabelSelector('a.b==x\\ y,tier'), l));
  assert.throws(() => parseLabelSelector('bad key'), /Invalid label selector/);
});

checks.run();
others.run();
labels.run();

const deprecated = suite('app model - deprecated ipAddress and port mappings');

deprecated('ipAddress discovery ports become Mesos port mappings on a container network', () => {
  const r = parseAppDefinition({
    id: '/a',
    cmd: 'x',
    ipAddress: { networkName: 'dev', discovery: { ports: [{ number: 8080, name: 'http', protocol: 'tcp' }] } },
  });
  assert.ok(r.ok, JSON.stringify(r));
  if (!r.ok) return;
  assert.equal(r.spec.networks, [{ mode: 'container', name: 'dev' }]);
  assert.equal(r.spec.container, {
    type: 'MESOS',
    portMappings: [{ containerPort: 8080, protocol: 'tcp', servicePort: 0, name: 'http' }],
  });
  assert.equal(r.spec.portDefinitions, []);
});

deprecated('bridge networking: default port mapping, missing hostPort is dynamic', () => {
  const r = parseAppDefinition({
    id: '/a',
    container: { type: 'DOCKER', docker: { image: 'nginx', network: 'BRIDGE' } },
  });
  assert.ok(r.ok, JSON.stringify(r));
  if (!r.ok) return;
  assert.equal(r.spec.networks, [{ mode: 'container/bridge' }]);
  assert.equal(r.spec.container?.['portMappings'], [
    { containerPort: 0, protocol: 'tcp', servicePort: 0, name: 'default', hostPort: 0 },
  ]);
});

deprecated.run();
