/**
 * enforceRole through the API (Marathon 1.9+): apps in a top-level group
 * with enforceRole get the group's role and may not name another; apps in
 * the root group or in groups without it get --mesos_role.
 */
import { removeTempDir, tempDir } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Marathon } from '../../src/marathon.js';
import { client, startMarathon } from './harness.js';

let dir: string;
let marathon: Marathon | undefined;
const http = client(() => marathon!.url);
const app = (id: string, extra: Record<string, unknown> = {}) => ({ id, cmd: 'sleep 1', instances: 0, ...extra });

const test = suite('marathon API - enforceRole decides app roles');
test.before(async () => {
  dir = await tempDir('marathon-enforce-role');
  marathon = await startMarathon({ stateDir: dir, role: 'marathon' });
});
test.after(async () => {
  await marathon?.close();
  await removeTempDir(dir);
});

test('without enforceRole: --mesos_role by default, the group role allowed, others 422', async () => {
  const r = await http.post('/v2/apps', app('/team/a'));
  assert.is(r.status, 201, r.text);
  assert.is(r.body.role, 'marathon');
  assert.is((await http.post('/v2/apps', app('/team/b', { role: 'team' }))).status, 201);
  const bad = await http.post('/v2/apps', app('/team/c', { role: 'other' }));
  assert.is(bad.status, 422, bad.text);
  assert.equal(bad.body.details, [{ path: '/role', errors: ['got other, expected one of: [marathon, team]'] }]);
  assert.is((await http.get('/v2/apps/team/c')).status, 404, 'nothing stored');
  const root = await http.post('/v2/apps', app('/solo', { role: 'team' }));
  assert.is(root.status, 422, 'an app in the root group may only have --mesos_role');
});

test('a group created with enforceRole: its apps get the group role; another role is 422', async () => {
  const g = await http.post('/v2/groups', { id: '/dev', enforceRole: true, apps: [app('/dev/web')] });
  assert.is(g.status, 201, g.text);
  assert.is((await http.get('/v2/apps/dev/web')).body.app.role, 'dev');
  const later = await http.post('/v2/apps', app('/dev/api/svc'));
  assert.is(later.status, 201, later.text);
  assert.is(later.body.role, 'dev', 'nested groups follow the top-level group');
  const bad = await http.post('/v2/apps', app('/dev/db', { role: 'marathon' }));
  assert.is(bad.status, 422, bad.text);
  assert.equal(bad.body.details, [{ path: '/role', errors: ['got marathon, expected one of: [dev]'] }]);
  const inGroup = await http.put('/v2/groups/dev', { apps: [app('/dev/web'), app('/dev/x', { role: 'marathon' })] });
  assert.is(inGroup.status, 422, inGroup.text);
  assert.match(inGroup.text, /expected one of: \[dev\]/);
  assert.is((await http.get('/v2/apps/dev/x')).status, 404);
});

test('PATCH enforceRole on: existing apps keep their role, new apps get the group role', async () => {
  assert.is((await http.raw('PATCH', '/v2/groups/team', '{"enforceRole":true}')).status, 200);
  const kept = await http.put('/v2/apps/team/a', { instances: 0, cmd: 'sleep 2' });
  assert.is(kept.status, 200, kept.text);
  assert.is((await http.get('/v2/apps/team/a')).body.app.role, 'marathon', 'an existing app may keep its role');
  const fresh = await http.post('/v2/apps', app('/team/new'));
  assert.is(fresh.body.role, 'team');
  assert.is((await http.post('/v2/apps', app('/team/new2', { role: 'marathon' }))).status, 422);
});

test.run();
