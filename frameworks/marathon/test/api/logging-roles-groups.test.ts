/**
 * Runtime log levels (`/logging`), acceptedResourceRoles vs role, PATCH
 * /v2/groups (enforceRole), and the ZooKeeper session timeout option.
 */
import { silentLogger } from '@agora/common';
import { FakeClock, removeTempDir, tempDir } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveMarathonConfig } from '../../src/config.js';
import { createMarathon, type Marathon } from '../../src/marathon.js';
import { client } from './harness.js';

let dir: string;
let clock: FakeClock;
let marathon: Marathon | undefined;
const start = async (): Promise<Marathon> => {
  const m = createMarathon(
    { master: '127.0.0.1:1', port: 0, stateDir: dir, zkSessionTimeoutMs: 4000 },
    { logger: silentLogger(), clock },
  );
  await m.start();
  return m;
};
const http = client(() => marathon!.url);

const test = suite('marathon API - /logging, roles, PATCH /v2/groups');
test.before(async () => {
  dir = await tempDir('marathon-logging');
  clock = new FakeClock(Date.parse('2026-01-01T00:00:00.000Z'));
  marathon = await start();
});
test.after(async () => {
  await marathon?.close();
  await removeTempDir(dir);
});

test('GET /logging lists every logger; POST changes one for durationSeconds, then it reverts', async () => {
  const before = await http.get('/logging');
  assert.is(before.status, 200);
  assert.is(before.body['marathon'], 'OFF', 'the silent test logger shows as OFF');
  assert.ok('marathon.scheduler' in before.body, JSON.stringify(before.body));
  const was = before.body['marathon.scheduler'];
  const r = await http.post('/logging', { level: 'debug', logger: 'marathon.scheduler', durationSeconds: 30 });
  assert.is(r.status, 200, r.text);
  assert.equal(r.body, { level: 'debug', logger: 'marathon.scheduler', durationSeconds: 30 });
  assert.is((await http.get('/logging')).body['marathon.scheduler'], 'DEBUG');
  assert.is((await http.get('/logging')).body['marathon.api'], was, 'other loggers keep their level');
  clock.advance(29_000);
  assert.is((await http.get('/logging')).body['marathon.scheduler'], 'DEBUG');
  clock.advance(1_000);
  assert.is((await http.get('/logging')).body['marathon.scheduler'], was);
});

test('POST /logging on the root logger changes all; without durationSeconds it stays', async () => {
  assert.is((await http.post('/logging', { level: 'WARN', logger: 'marathon' })).status, 200);
  const levels = (await http.get('/logging')).body as Record<string, string>;
  assert.equal([...new Set(Object.values(levels))], ['WARN']);
  clock.advance(3_600_000);
  assert.is((await http.get('/logging')).body['marathon.apps'], 'WARN');
});

test('bad /logging bodies: 400 with a message, unknown logger 404, nothing changes', async () => {
  const before = (await http.get('/logging')).body;
  const loud = await http.post('/logging', { level: 'loud', logger: 'marathon' });
  assert.is(loud.status, 400);
  assert.match(loud.body.message, /level must be one of trace, debug, info, warn, error, off/);
  assert.is((await http.post('/logging', { level: 'info' })).status, 400);
  assert.is((await http.post('/logging', { level: 'info', logger: 'marathon', durationSeconds: -1 })).status, 400);
  const unknown = await http.post('/logging', { level: 'info', logger: 'nope' });
  assert.is(unknown.status, 404);
  assert.match(unknown.body.message, /Logger 'nope' does not exist/);
  assert.equal((await http.get('/logging')).body, before);
});

test('acceptedResourceRoles may name only * and the app role (422, Marathon message)', async () => {
  const r = await http.post('/v2/apps', { id: '/public', cmd: 'sleep 1', acceptedResourceRoles: ['slave_public'] });
  assert.is(r.status, 422, r.text);
  assert.equal(r.body.details, [
    { path: '/acceptedResourceRoles', errors: ['acceptedResourceRoles can only contain *'] },
  ]);
  assert.is((await http.get('/v2/apps/public')).status, 404);
  const ok = await http.post('/v2/apps', {
    id: '/dev/api',
    cmd: 'sleep 1',
    role: 'dev',
    acceptedResourceRoles: ['dev'],
    instances: 0,
  });
  assert.is(ok.status, 201, ok.text);
});

test('PATCH /v2/groups/{id} sets enforceRole on a top-level group, stored, without a deployment', async () => {
  const deploymentsBefore = (await http.get('/v2/deployments')).body.length;
  const r = await http.raw('PATCH', '/v2/groups/dev', JSON.stringify({ enforceRole: true }));
  assert.is(r.status, 200, r.text);
  assert.is(r.body.id, '/dev');
  assert.is(r.body.enforceRole, true);
  assert.is((await http.get('/v2/deployments')).body.length, deploymentsBefore);
  await marathon!.close();
  marathon = await start();
  assert.is((await http.get('/v2/groups/dev')).body.enforceRole, true, 'kept across a restart');
});

test('PATCH /v2/groups: unknown 404, nested or root 422, other fields 422, bad type 422; nothing changes', async () => {
  assert.is((await http.raw('PATCH', '/v2/groups/none', '{"enforceRole":true}')).status, 404);
  const nested = await http.raw('PATCH', '/v2/groups/dev/sub', '{"enforceRole":true}');
  assert.ok(nested.status === 404 || nested.status === 422, nested.text);
  const root = await http.raw('PATCH', '/v2/groups', '{"enforceRole":true}');
  assert.is(root.status, 422, root.text);
  const extra = await http.raw('PATCH', '/v2/groups/dev', '{"enforceRole":false,"apps":[]}');
  assert.is(extra.status, 422);
  assert.match(JSON.stringify(extra.body), /only enforceRole can be changed with PATCH, not apps/);
  const type = await http.raw('PATCH', '/v2/groups/dev', '{"enforceRole":"yes"}');
  assert.is(type.status, 422);
  assert.equal(type.body.details, [{ path: '/enforceRole', errors: ['error.expected.jsboolean'] }]);
  assert.is((await http.get('/v2/groups/dev')).body.enforceRole, true);
});

test('the ZooKeeper session timeout is an option (default 10 s, Marathon) shown in /v2/info', async () => {
  const info = await http.get('/v2/info');
  assert.is(info.body.zookeeper_config.zk_session_timeout, 4000);
  assert.is(resolveMarathonConfig({ master: 'm:1', port: 0, stateDir: '/x' }).zkSessionTimeoutMs, 10_000);
  assert.throws(
    () => resolveMarathonConfig({ master: 'm:1', port: 0, stateDir: '/x', zkSessionTimeoutMs: 0 }),
    /zkSessionTimeoutMs' must be a positive number of ms/,
  );
  assert.throws(
    () => resolveMarathonConfig({ master: 'm:1', port: 0, stateDir: '/x', enableFeatures: ['secretz'] }),
    /unknown feature 'secretz'/,
  );
});

test.run();
