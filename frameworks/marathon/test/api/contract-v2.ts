/**
 * The wider /v2 API (PATCH, bulk, restart, rollback, label selectors, task
 * kills, /v2/queue, /v2/leader, /metrics, groups, 413), run against a
 * Marathon with each store. The master is unreachable here: no task runs,
 * deployments stay in progress (so updates use `force=true`), and apps wait
 * in the launch queue.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ApiFixture } from './contract.js';
import { client } from './harness.js';

const RESPONSES = join(import.meta.dirname, '..', 'fixtures', 'corpus', 'responses');
const sample = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(RESPONSES, name), 'utf8')) as Record<string, unknown>;

/** Every key of Marathon's sample object is in ours (ours may have more). */
function hasShapeOf(ours: Record<string, unknown>, theirs: Record<string, unknown>, what: string): void {
  for (const k of Object.keys(theirs))
    assert.ok(k in ours, `${what}: missing ${k} (have ${Object.keys(ours).join(',')})`);
}

export function apiContractV2(test: Test, fx: ApiFixture): void {
  const http = client(() => fx.marathon().url);
  const patch = (path: string, body: unknown) => http.raw('PATCH', path, JSON.stringify(body));

  test('response shapes match Marathon samples: app list, info, deployment result', async () => {
    await http.post('/v2/apps', {
      id: '/x2/shape',
      cmd: 'sleep 1',
      acceptedResourceRoles: ['*'],
      container: { type: 'MESOS' },
    });
    const list = await http.get('/v2/apps?id=x2/shape');
    const theirs = (sample('api-examples_app_list.json')['apps'] as Array<Record<string, unknown>>)[0]!;
    // Marathon's responses omit the deprecated `uris`/`ports` and unset optionals (`user`, `args`) too.
    const { uris: _u, ports: _p, user: _us, args: _a, ...expected } = theirs;
    hasShapeOf(list.body.apps[0], expected, 'app list entry');
    const info = await http.get('/v2/info');
    hasShapeOf(info.body, sample('api-examples_info.json'), 'info');
    const result = await http.put('/v2/apps/x2/shape?force=true', { instances: 0 });
    assert.equal(Object.keys(result.body).sort(), Object.keys(sample('api-examples_deployments_result.json')).sort());
  });

  test('PATCH /v2/apps/{id}: 404 for a missing app; a partial update keeps other fields', async () => {
    assert.is((await patch('/v2/apps/x2/none', { instances: 2 })).status, 404);
    assert.is(
      (await http.post('/v2/apps', { id: '/x2/p', cmd: 'sleep 1', mem: 16, labels: { tier: 'web' } })).status,
      201,
    );
    const r = await patch('/v2/apps/x2/p?force=true', { instances: 3 });
    assert.is(r.status, 200, r.text);
    assert.ok(r.headers.get('marathon-deployment-id') === r.body.deploymentId);
    const app = (await http.get('/v2/apps/x2/p')).body.app;
    assert.is(app.instances, 3);
    assert.is(app.mem, 16);
    assert.is(app.cmd, 'sleep 1');
  });

  test('POST /v2/apps/{id}/restart: a new version, same config, new lastConfigChangeAt', async () => {
    const before = (await http.get('/v2/apps/x2/p')).body.app;
    const r = await http.post('/v2/apps/x2/p/restart?force=true');
    assert.is(r.status, 200, r.text);
    const after = (await http.get('/v2/apps/x2/p')).body.app;
    assert.is(after.cmd, before.cmd);
    assert.ok(after.versionInfo.lastConfigChangeAt > before.versionInfo.lastConfigChangeAt);
    assert.is(after.version, r.body.version);
    assert.is((await http.post('/v2/apps/x2/none/restart')).status, 404);
  });

  test('PUT {version} rolls back; version with other fields is 422', async () => {
    const versions = (await http.get('/v2/apps/x2/p/versions')).body.versions as string[];
    const first = versions[versions.length - 1]!;
    await http.put('/v2/apps/x2/p?force=true', { cmd: 'sleep 2' });
    assert.is((await http.get('/v2/apps/x2/p')).body.app.cmd, 'sleep 2');
    const bad = await http.put('/v2/apps/x2/p?force=true', { version: first, cmd: 'x' });
    assert.is(bad.status, 422);
    assert.equal(bad.body.details, [
      { path: '/', errors: ["The 'version' field may only be combined with the 'id' field."] },
    ]);
    const r = await http.put('/v2/apps/x2/p?force=true', { id: '/x2/p', version: first });
    assert.is(r.status, 200, r.text);
    const app = (await http.get('/v2/apps/x2/p')).body.app;
    assert.is(app.cmd, 'sleep 1');
    assert.is(app.instances, 1);
    assert.is((await http.put('/v2/apps/x2/p?force=true', { version: '2001-01-01T00:00:00.000Z' })).status, 404);
  });

  test('bulk PUT /v2/apps checks every entry first; PATCH /v2/apps 404s on an unknown id', async () => {
    const bad = await http.put('/v2/apps?force=true', [
      { id: '/x2/b1', cmd: 'sleep 1' },
      { id: '/x2/b2', cmd: 'x', args: ['y'] },
    ]);
    assert.is(bad.status, 422, bad.text);
    assert.ok(
      bad.body.details.some((d: { path: string }) => d.path === '/(1)'),
      bad.text,
    );
    assert.is((await http.get('/v2/apps/x2/b1')).status, 404, 'nothing applied');
    const ok = await http.put('/v2/apps?force=true', [
      { id: '/x2/b1', cmd: 'sleep 1', mem: 8 },
      { id: '/x2/p', instances: 2 },
    ]);
    assert.is(ok.status, 200, ok.text);
    assert.is((await http.get('/v2/apps/x2/b1')).body.app.mem, 8);
    assert.is((await http.get('/v2/apps/x2/p')).body.app.instances, 2);
    assert.is(
      (await http.raw('PATCH', '/v2/apps?force=true', JSON.stringify([{ id: '/x2/zz', instances: 1 }]))).status,
      404,
    );
  });

  test('GET /v2/apps?label= selects by labels (exists, ==, !=, in, notin)', async () => {
    await http.post('/v2/apps', { id: '/x2/l1', cmd: 'sleep 1', labels: { tier: 'db', env: 'prod' } });
    const ids = async (q: string): Promise<string[]> =>
      ((await http.get(`/v2/apps?id=x2&label=${encodeURIComponent(q)}`)).body.apps as Array<{ id: string }>).map(
        (a) => a.id,
      );
    assert.equal(await ids('tier==web'), ['/x2/p']);
    assert.equal(await ids('env'), ['/x2/l1']);
    assert.equal(await ids('tier in (db,web)'), ['/x2/l1', '/x2/p']);
    assert.equal(await ids('tier notin (db),tier'), ['/x2/p']);
    assert.equal(await ids('tier!=web,tier'), ['/x2/l1']);
  });

  test('task kills: scale+wipe is 400, unknown task 404, bad task id 400', async () => {
    const both = await http.delete('/v2/apps/x2/p/tasks?scale=true&wipe=true');
    assert.is(both.status, 400);
    assert.equal(both.body, { message: 'You cannot use scale and wipe at the same time.' });
    const none = await http.delete('/v2/apps/x2/p/tasks/x2_p.instance-00000000-0000-0000-0000-000000000000._app.1');
    assert.is(none.status, 404);
    assert.match(none.body.message, /^Task '.+' does not exist$/);
    const all = await http.delete('/v2/apps/x2/p/tasks');
    assert.is(all.status, 200);
    assert.equal(all.body, { tasks: [] });
    const bad = await http.post('/v2/tasks/delete', { ids: ['nonsense'] });
    assert.is(bad.status, 400);
    assert.equal(bad.body, { message: "Invalid task id 'nonsense'" });
    const skip = await http.post('/v2/tasks/delete', {
      ids: ['x2_p.instance-00000000-0000-0000-0000-000000000000._app.1'],
    });
    assert.equal(skip.body, { tasks: [] });
  });

  test('GET /v2/queue: waiting apps with count, delay and processedOffersSummary; DELETE delay 204', async () => {
    const r = await http.get('/v2/queue');
    assert.is(r.status, 200);
    const entry = r.body.queue.find((q: { app: { id: string } }) => q.app.id === '/x2/p');
    assert.ok(entry !== undefined, r.text);
    const theirs = (sample('api-examples_queue.json')['queue'] as Array<Record<string, unknown>>)[0]!;
    hasShapeOf(entry, theirs, 'queue entry');
    hasShapeOf(entry.processedOffersSummary, theirs['processedOffersSummary'] as Record<string, unknown>, 'summary');
    assert.is(entry.count, 2);
    assert.equal(entry.delay, { timeLeftSeconds: 0, overdue: true });
    assert.ok(
      entry.processedOffersSummary.rejectSummaryLastOffers.some(
        (s: { reason: string }) => s.reason === 'UnfulfilledConstraint',
      ),
    );
    const reset = await http.delete('/v2/queue/x2/p/delay');
    assert.is(reset.status, 204);
    assert.is(reset.text, '');
    const missing = await http.delete('/v2/queue/x2/none/delay');
    assert.is(missing.status, 404);
    assert.equal(missing.body, { message: 'Application /x2/none not found in tasks queue.' });
  });

  test('/v2/leader, X-Marathon-Leader, /metrics and /metrics/prometheus', async () => {
    const leader = await http.get('/v2/leader');
    assert.equal(leader.body, { leader: `127.0.0.1:${fx.marathon().port}` });
    assert.is(leader.headers.get('x-marathon-leader'), `http://127.0.0.1:${fx.marathon().port}`);
    const abdicate = await http.delete('/v2/leader');
    assert.is(abdicate.status, 200);
    assert.equal(abdicate.body, { message: 'Leadership abdicated' });
    const m = await http.get('/metrics');
    assert.is(m.status, 200);
    for (const k of ['version', 'counters', 'gauges', 'histograms', 'meters', 'timers']) assert.ok(k in m.body, k);
    assert.ok(m.body.gauges['marathon.apps.active.gauge'].value >= 3);
    assert.ok(m.body.counters['marathon.http.responses.2xx'].count > 0);
    const p = await http.get('/metrics/prometheus');
    assert.match(p.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(p.text, /^marathon_apps_active_gauge \d+$/m);
    assert.match(p.text, /^marathon_http_requests_total \d+$/m);
  });

  test('a body over the limit is refused with 413 before it is read', async () => {
    const res = await fetch(`${fx.marathon().url}/v2/apps`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(20 * 1024 * 1024) },
      body: '{',
      duplex: 'half',
    } as RequestInit).catch((err: unknown) => err);
    // Either the answer (413) arrives, or the server closed the connection after answering.
    if (res instanceof Response) {
      assert.is(res.status, 413);
      assert.match(((await res.json()) as { message: string }).message, /larger than/);
    } else assert.ok(res instanceof Error);
    assert.is((await http.get('/ping')).status, 200);
  });

  test('POST /v2/groups: relative ids made canonical, 201 + Location; 409 when it exists', async () => {
    const r = await http.post('/v2/groups', {
      id: 'shop',
      dependencies: [],
      groups: [
        { id: 'db', apps: [{ id: 'pg', cmd: 'sleep 1', mem: 16 }] },
        { id: 'web', dependencies: ['../db'], apps: [{ id: 'front', cmd: 'sleep 1', mem: 16 }] },
      ],
    });
    assert.is(r.status, 201, r.text);
    assert.is(r.headers.get('location'), `${fx.marathon().url}/v2/groups/shop`);
    assert.ok(r.headers.get('marathon-deployment-id') === r.body.deploymentId);
    assert.is((await http.get('/v2/apps/shop/db/pg')).status, 200);
    const again = await http.post('/v2/groups', { id: '/shop' });
    assert.is(again.status, 409);
    assert.equal(again.body, { message: 'Group /shop is already created. Use PUT to change this group.' });
    const g = await http.get('/v2/groups/shop');
    assert.is(g.status, 200);
    assert.equal(
      g.body.groups.map((x: { id: string }) => x.id),
      ['/shop/db', '/shop/web'],
    );
    assert.equal(g.body.groups[1].dependencies, ['/shop/db']);
    assert.equal(g.body.groups[0].apps[0].id, '/shop/db/pg');
    for (const k of ['id', 'apps', 'pods', 'groups', 'dependencies', 'version', 'enforceRole'])
      assert.ok(k in g.body, k);
    const root = await http.get('/v2/groups');
    assert.is(root.body.id, '/');
    assert.is((await http.get('/v2/groups/nope')).status, 404);
  });

  test('groups: app not a child 422, dependency cycle 422, nothing changes', async () => {
    const notChild = await http.post('/v2/groups/foo', { id: 'sub', apps: [{ id: 'lol/bibi', cmd: 'sleep 1' }] });
    assert.is(notChild.status, 422);
    assert.equal(notChild.body.details, [{ path: '/apps(0)/id', errors: ["Identifier is not child of '/foo/sub'"] }]);
    const cycle = await http.put('/v2/groups/shop?force=true', {
      groups: [
        { id: 'db', dependencies: ['/shop/web'], apps: [{ id: 'pg', cmd: 'sleep 1', mem: 16 }] },
        { id: 'web', dependencies: ['/shop/db'], apps: [{ id: 'front', cmd: 'sleep 1', mem: 16 }] },
      ],
    });
    assert.is(cycle.status, 422, cycle.text);
    assert.match(cycle.body.details[0].errors[0], /^Dependency graph has cyclic dependencies\./);
    assert.equal((await http.get('/v2/groups/shop/db')).body.dependencies, []);
    assert.is((await http.get('/v2/groups/foo')).status, 404);
  });

  test('PUT /v2/groups: dryRun plans without deploying; scaleBy scales every app; version rolls back', async () => {
    const before = (await http.get('/v2/groups/versions')).body as string[];
    const dry = await http.put('/v2/groups/shop?dryRun=true', {
      groups: [{ id: 'db', apps: [{ id: 'pg', cmd: 'sleep 9', mem: 16 }] }],
    });
    assert.is(dry.status, 200, dry.text);
    assert.equal(dry.body.steps, [
      { actions: [{ action: 'StopApplication', app: '/shop/web/front' }] },
      { actions: [{ action: 'RestartApplication', app: '/shop/db/pg' }] },
    ]);
    assert.is((await http.get('/v2/apps/shop/db/pg')).body.app.cmd, 'sleep 1', 'dry run changed nothing');
    const scaled = await http.put('/v2/groups/shop?force=true', { scaleBy: 3 });
    assert.is(scaled.status, 200, scaled.text);
    assert.is((await http.get('/v2/apps/shop/db/pg')).body.app.instances, 3);
    assert.is((await http.get('/v2/apps/shop/web/front')).body.app.instances, 3);
    const rollback = await http.put('/v2/groups/shop?force=true', { version: before[before.length - 1] });
    assert.is(rollback.status, 200, rollback.text);
    assert.is((await http.get('/v2/apps/shop/db/pg')).body.app.instances, 1);
  });

  test('groups survive a restart (stored); DELETE /v2/groups/{id} stops its apps', async () => {
    await fx.restart();
    const g = await http.get('/v2/groups/shop/web');
    assert.is(g.status, 200);
    assert.equal(g.body.dependencies, ['/shop/db']);
    const d = await http.delete('/v2/groups/shop?force=true');
    assert.is(d.status, 200, d.text);
    assert.ok(d.headers.get('marathon-deployment-id') !== null);
    assert.is((await http.get('/v2/apps/shop/db/pg')).status, 404);
    assert.is((await http.get('/v2/groups/shop')).status, 404);
  });
}
