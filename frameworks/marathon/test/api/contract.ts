/**
 * The /v2 API's behaviour, run against a Marathon with each store. The
 * master is unreachable in these tests: deployments stay in progress and no
 * task is launched, which is what lets the lock (409) be observed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Marathon } from '../../src/marathon.js';
import { client } from './harness.js';

export interface ApiFixture {
  /** The running Marathon. */
  marathon(): Marathon;
  /** Stop it and start a new one on the same state. */
  restart(): Promise<void>;
}

const CORPUS = join(import.meta.dirname, '..', 'fixtures', 'corpus');

export function apiContract(test: Test, fx: ApiFixture): void {
  const http = client(() => fx.marathon().url);

  test('GET /ping answers pong', async () => {
    const r = await http.get('/ping');
    assert.is(r.status, 200);
    assert.is(r.text, 'pong');
  });

  test('GET /v2/info names marathon, the leader and the configuration', async () => {
    const r = await http.get('/v2/info');
    assert.is(r.status, 200);
    assert.is(r.body.name, 'marathon');
    assert.is(r.body.elected, true);
    assert.is(r.body.leader, `127.0.0.1:${fx.marathon().port}`);
    assert.is(r.body.marathon_config.master, '127.0.0.1:1');
    assert.is(r.body.marathon_config.framework_name, 'marathon');
    assert.is(r.body.marathon_config.failover_timeout, 604800);
    assert.ok('zk' in r.body.zookeeper_config);
    assert.is(r.body.http_config.http_port, fx.marathon().port);
  });

  test('POST /v2/apps creates: 201, Location, deployment id, AppInfo with zero counts', async () => {
    const r = await http.post('/v2/apps', { id: 'web', cmd: 'sleep 100', instances: 2, cpus: 0.1, mem: 32 });
    assert.is(r.status, 201);
    assert.is(r.headers.get('location'), `${fx.marathon().url}/web`);
    const deploymentId = r.headers.get('marathon-deployment-id');
    assert.ok(deploymentId !== null && deploymentId.length > 0);
    assert.is(r.body.id, '/web');
    assert.is(r.body.instances, 2);
    assert.is(r.body.tasksStaged, 0);
    assert.is(r.body.tasksRunning, 0);
    assert.is(r.body.tasksHealthy, 0);
    assert.is(r.body.tasksUnhealthy, 0);
    assert.equal(r.body.deployments, [{ id: deploymentId }]);
    assert.equal(r.body.portDefinitions, [{ port: 10000, name: 'default', protocol: 'tcp' }]);
    assert.match(r.body.version, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(r.body.versionInfo, { lastScalingAt: r.body.version, lastConfigChangeAt: r.body.version });
    assert.is(r.headers.get('x-agora-unknown-fields'), null);
  });

  test('POST an existing id: 409 with Marathon message', async () => {
    const r = await http.post('/v2/apps', { id: '/web', cmd: 'sleep 1' });
    assert.is(r.status, 409);
    assert.equal(r.body, { message: 'An app with id [/web] already exists.' });
  });

  test('malformed JSON: 400 Invalid JSON with the parser message; nothing changes', async () => {
    const before = (await http.get('/v2/apps')).body.apps.length;
    const r = await http.raw('POST', '/v2/apps', '{"id": "/broken", "cmd": ');
    assert.is(r.status, 400);
    assert.is(r.body.message, 'Invalid JSON');
    assert.type(r.body.details, 'string');
    assert.is((await http.raw('POST', '/v2/apps', '')).status, 400);
    assert.is((await http.get('/v2/apps')).body.apps.length, before);
  });

  test('invalid app: 422 Object is not valid with [{path, errors}]; nothing changes', async () => {
    const r = await http.post('/v2/apps', { id: '/Bad_Id', cmd: 'x', args: ['y'] });
    assert.is(r.status, 422);
    assert.is(r.body.message, 'Object is not valid');
    const paths = r.body.details.map((d: { path: string }) => d.path).sort();
    assert.equal(paths, ['/', '/id']);
    assert.is((await http.get('/v2/apps/Bad_Id')).status, 404);
  });

  test('wrong JSON types: 422 Invalid JSON with Play error keys', async () => {
    const r = await http.post('/v2/apps', { id: 42, cmd: 'x', instances: 'two' });
    assert.is(r.status, 422);
    assert.is(r.body.message, 'Invalid JSON');
    assert.equal(r.body.details, [
      { path: '/id', errors: ['error.expected.jsstring'] },
      { path: '/instances', errors: ['error.expected.jsnumber'] },
    ]);
  });

  test('unknown fields are accepted, dropped and named in X-Agora-Unknown-Fields', async () => {
    const r = await http.post('/v2/apps', { id: '/typo', cmd: 'x', instnaces: 3, colour: 'red' });
    assert.is(r.status, 201);
    assert.is(r.headers.get('x-agora-unknown-fields'), 'instnaces,colour');
    assert.is(r.body.instances, 1);
    assert.is(r.body.instnaces, undefined);
    const bad = await http.post('/v2/apps', { id: '/typo2', instnaces: 3 });
    assert.is(bad.status, 422);
    assert.is(bad.headers.get('x-agora-unknown-fields'), 'instnaces');
  });

  test('GET /v2/apps lists apps, filtered by cmd and id (case-insensitive contains)', async () => {
    await http.post('/v2/apps', { id: '/tools/cache', cmd: 'redis-server --port $PORT0' });
    const all = await http.get('/v2/apps');
    assert.is(all.status, 200);
    const ids = all.body.apps.map((a: { id: string }) => a.id);
    assert.ok(ids.includes('/web') && ids.includes('/tools/cache'));
    const byCmd = await http.get('/v2/apps?cmd=REDIS');
    assert.equal(
      byCmd.body.apps.map((a: { id: string }) => a.id),
      ['/tools/cache'],
    );
    const byId = await http.get('/v2/apps?id=tools');
    assert.equal(
      byId.body.apps.map((a: { id: string }) => a.id),
      ['/tools/cache'],
    );
    assert.is(all.body.apps[0].tasks, undefined);
    assert.equal((await http.get('/v2/apps?embed=apps.tasks&id=web')).body.apps[0].tasks, []);
  });

  test('GET /v2/apps/{id}: the app with counters, tasks and deployments; 404 when missing', async () => {
    const r = await http.get('/v2/apps/web');
    assert.is(r.status, 200);
    assert.is(r.body.app.id, '/web');
    assert.equal(r.body.app.tasks, []);
    assert.is(r.body.app.tasksRunning, 0);
    assert.is(r.body.app.deployments.length, 1);
    const nested = await http.get('/v2/apps/tools/cache');
    assert.is(nested.body.app.id, '/tools/cache');
    const missing = await http.get('/v2/apps/nope');
    assert.is(missing.status, 404);
    assert.equal(missing.body, { message: "App '/nope' does not exist" });
  });

  test('GET /v2/apps/{id}/tasks and /v2/tasks', async () => {
    const r = await http.get('/v2/apps/web/tasks');
    assert.is(r.status, 200);
    assert.equal(r.body, { tasks: [] });
    assert.is((await http.get('/v2/apps/nope/tasks')).status, 404);
    const all = await http.get('/v2/tasks?status=running');
    assert.is(all.status, 200);
    assert.equal(all.body, { tasks: [] });
  });

  test('PUT while a deployment runs: 409 locked unless force=true', async () => {
    const r = await http.put('/v2/apps/web', { instances: 3 });
    assert.is(r.status, 409);
    assert.match(r.body.message, /^App is locked by one or more deployments/);
    assert.is(r.body.deployments.length, 1);
    assert.is((await http.get('/v2/apps/web')).body.app.instances, 2);
  });

  test('PUT scale (force): 200 {version, deploymentId}; config version unchanged', async () => {
    const before = (await http.get('/v2/apps/web')).body.app;
    const r = await http.put('/v2/apps/web?force=true', { instances: 3 });
    assert.is(r.status, 200);
    assert.equal(Object.keys(r.body).sort(), ['deploymentId', 'version']);
    assert.is(r.headers.get('marathon-deployment-id'), r.body.deploymentId);
    const after = (await http.get('/v2/apps/web')).body.app;
    assert.is(after.instances, 3);
    assert.is(after.cmd, 'sleep 100');
    assert.is(after.version, r.body.version);
    assert.is(after.versionInfo.lastConfigChangeAt, before.versionInfo.lastConfigChangeAt);
    assert.is(after.versionInfo.lastScalingAt, r.body.version);
    assert.equal(after.deployments, [{ id: r.body.deploymentId }]);
  });

  test('PUT changed cmd: a new configuration version (restart)', async () => {
    const r = await http.put('/v2/apps/web?force=true', { cmd: 'sleep 200' });
    assert.is(r.status, 200);
    const app = (await http.get('/v2/apps/web')).body.app;
    assert.is(app.cmd, 'sleep 200');
    assert.is(app.instances, 3);
    assert.is(app.versionInfo.lastConfigChangeAt, r.body.version);
  });

  test('PUT invalid update: 422, app unchanged', async () => {
    const before = (await http.get('/v2/apps/web')).body.app;
    const r = await http.put('/v2/apps/web?force=true', { instances: -1 });
    assert.is(r.status, 422);
    assert.equal((await http.get('/v2/apps/web')).body.app.version, before.version);
  });

  test('PUT partialUpdate=false replaces the whole definition', async () => {
    const r = await http.put('/v2/apps/web?force=true&partialUpdate=false', { cmd: 'sleep 300' });
    assert.is(r.status, 200);
    const app = (await http.get('/v2/apps/web')).body.app;
    assert.is(app.instances, 1);
    assert.is(app.mem, 128);
    assert.is(app.id, '/web');
  });

  test('PUT an unknown id creates it: 201 with Location', async () => {
    const r = await http.put('/v2/apps/made/by-put', { cmd: 'sleep 1', id: '/ignored' });
    assert.is(r.status, 201);
    assert.is(r.headers.get('location'), `${fx.marathon().url}/made/by-put`);
    assert.is((await http.get('/v2/apps/made/by-put')).body.app.id, '/made/by-put');
  });

  test('apps and groups share one namespace', async () => {
    assert.is((await http.post('/v2/apps', { id: '/made', cmd: 'x' })).status, 409);
    assert.is((await http.post('/v2/apps', { id: '/web/sub', cmd: 'x' })).status, 409);
  });

  test('GET /v2/apps/{id}/versions lists versions, newest first, and serves each', async () => {
    const r = await http.get('/v2/apps/web/versions');
    assert.is(r.status, 200);
    assert.ok(r.body.versions.length >= 4);
    const current = (await http.get('/v2/apps/web')).body.app.version;
    assert.is(r.body.versions[0], current);
    const first = r.body.versions[r.body.versions.length - 1];
    const old = await http.get(`/v2/apps/web/versions/${first}`);
    assert.is(old.status, 200);
    assert.is(old.body.cmd, 'sleep 100');
    assert.is(old.body.instances, 2);
    assert.is((await http.get('/v2/apps/web/versions/2000-01-01T00:00:00.000Z')).status, 404);
  });

  test('state survives a restart of Marathon', async () => {
    const before = (await http.get('/v2/apps')).body.apps.map((a: { id: string; version: string }) => [
      a.id,
      a.version,
    ]);
    await fx.restart();
    const after = (await http.get('/v2/apps')).body.apps.map((a: { id: string; version: string }) => [a.id, a.version]);
    assert.equal(after, before);
  });

  test('DELETE: 200 {version, deploymentId}, then 404; unknown app 404', async () => {
    const r = await http.delete('/v2/apps/made/by-put');
    assert.is(r.status, 200);
    assert.equal(Object.keys(r.body).sort(), ['deploymentId', 'version']);
    assert.is(r.headers.get('marathon-deployment-id'), r.body.deploymentId);
    assert.is((await http.get('/v2/apps/made/by-put')).status, 404);
    const again = await http.delete('/v2/apps/made/by-put');
    assert.is(again.status, 404);
    assert.equal(again.body, { message: "App '/made/by-put' does not exist" });
  });

  test('unknown routes: 404 JSON; wrong methods: 405 JSON', async () => {
    const r = await http.get('/v2/nothing');
    assert.is(r.status, 404);
    assert.equal(r.body, { message: 'URI not found: /v2/nothing' });
    const m = await http.raw('PATCH', '/v2/tasks', '{}');
    assert.is(m.status, 405);
    assert.type(m.body.message, 'string');
  });

  test('every valid corpus app is accepted by POST /v2/apps', async () => {
    const files = readdirSync(CORPUS).filter((f) => f.endsWith('.json'));
    let posted = 0;
    for (const f of files) {
      const body = JSON.parse(readFileSync(join(CORPUS, f), 'utf8'));
      if (Array.isArray(body) || body.id === undefined || body.apps !== undefined || body.groups !== undefined)
        continue;
      if (f === 'api-examples_app_patch.json') continue; // a PATCH body, checked in the corpus unit test
      const r = await http.post('/v2/apps', body);
      if (body.secrets !== undefined) {
        // Valid on a Marathon with `--enable_features secrets`; this one runs without it (Marathon's answer).
        assert.is(r.status, 422, `${f}: ${r.text}`);
        assert.ok(r.text.includes('Feature secrets is not enabled. Enable with --enable_features secrets)'), r.text);
        posted++;
        continue;
      }
      if (f === 'docs-multirole_block1.json') {
        // `/dev/...` with role `slave_public`: valid on a Marathon with `--mesos_role slave_public` (the docs'
        // setting); this one runs with `*`, so Marathon's role check refuses it (test/model/role-settings.test.ts).
        assert.is(r.status, 422, `${f}: ${r.text}`);
        assert.equal(r.body.details, [{ path: '/role', errors: ['got slave_public, expected one of: [*, dev]'] }]);
        posted++;
        continue;
      }
      assert.is(r.status, 201, `${f}: ${r.text}`);
      assert.is((await http.delete(`/v2/apps${r.body.id}`)).status, 200);
      posted++;
    }
    assert.ok(posted >= 25, `posted ${posted}`);
  });
}
