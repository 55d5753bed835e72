/**
 * Leader backup/restore (`DELETE /v2/leader?backup=file:///…&restore=file:///…`): the request is stored and
 * carried out at the next takeover (here: the next start of a single instance) — a backup of the whole state
 * is written, readable and complete; restoring it into a fresh store (Redis, from a file-store backup) brings
 * back apps with their versions and groups. Bad locations answer 400 and store nothing.
 */
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type RedisServer, removeTempDir, startRedis, tempDir } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { MarathonConfig } from '../../src/config.js';
import type { Marathon } from '../../src/marathon.js';
import { BACKUP_FORMAT, readBackup } from '../../src/storage/backup.js';
import { client, startMarathon } from '../api/harness.js';

let dir = '';
let redis: RedisServer | undefined;
let marathon: Marathon | undefined;
const http = client(() => marathon!.url);
const backupFile = () => join(dir, 'backups', 'state.json');

async function restart(config: Partial<MarathonConfig>): Promise<void> {
  await marathon?.close();
  marathon = await startMarathon(config);
}

const test = suite('leader backup and restore');
test.before(async () => {
  dir = await tempDir('marathon-backup');
  redis = await startRedis();
});
test.after(async () => {
  await marathon?.close();
  await redis?.stop();
  await removeTempDir(dir);
});

test('bad locations: 400 with a message, no request stored', async () => {
  const fileStore = { stateDir: join(dir, 'bad') };
  await restart(fileStore);
  for (const q of ['backup=s3://bucket/x', 'restore=relative/path.json', 'backup=file:///', 'backup=nonsense']) {
    const r = await http.delete(`/v2/leader?${q}`);
    assert.is(r.status, 400, `${q}: ${r.text}`);
    assert.match(r.body.message, /Invalid backup\/restore location/);
  }
  await restart(fileStore);
  await access(join(dir, 'bad', 'runtime-configuration.json')).then(
    () => assert.unreachable('no request may be stored'),
    () => {},
  );
});

test('backup: written at the next takeover, readable, with apps, versions and groups', async () => {
  const fileStore = { stateDir: join(dir, 'source') };
  await restart(fileStore);
  assert.is((await http.post('/v2/apps', { id: '/web', cmd: 'sleep 1', instances: 0 })).status, 201);
  assert.is((await http.put('/v2/apps/web', { cmd: 'sleep 2' })).status, 200);
  const group = await http.post('/v2/groups', {
    id: '/dev',
    enforceRole: true,
    apps: [{ id: '/dev/api', cmd: 'sleep 1', instances: 0 }],
  });
  assert.is(group.status, 201, group.text);
  const r = await http.delete(`/v2/leader?backup=${encodeURIComponent(pathToFileURL(backupFile()).href)}`);
  assert.is(r.status, 200, r.text);
  assert.equal(r.body, { message: 'Leadership abdicated' });
  await restart(fileStore);
  const backup = await readBackup(backupFile());
  assert.is(backup.format, BACKUP_FORMAT);
  assert.equal(backup.apps.map((a) => a.id).sort(), ['/dev/api', '/web']);
  const web = backup.apps.find((a) => a.id === '/web')!;
  assert.equal(
    web.versions.map((v) => v.cmd),
    ['sleep 1', 'sleep 2'],
    'every version, the current one last',
  );
  const root = backup.rootGroups[backup.rootGroups.length - 1]!;
  assert.equal(root.groups.find((g) => g.id === '/dev')?.enforceRole, true);
  assert.is((await http.get('/v2/apps/web')).status, 200, 'the backup leaves the state as it is');
});

test('restore into a fresh Redis store brings back apps, their versions and groups', async () => {
  const redisStore = { redis: redis!.url, redisPrefix: 'backup-test:' };
  await restart(redisStore);
  assert.is((await http.get('/v2/apps')).body.apps.length, 0, 'a fresh store');
  assert.is((await http.post('/v2/apps', { id: '/gone', cmd: 'sleep 1', instances: 0 })).status, 201);
  const r = await http.delete(`/v2/leader?restore=${encodeURIComponent(pathToFileURL(backupFile()).href)}`);
  assert.is(r.status, 200, r.text);
  await restart(redisStore);
  const apps = (await http.get('/v2/apps')).body.apps as Array<{ id: string; cmd: string; role: string }>;
  assert.equal(apps.map((a) => a.id).sort(), ['/dev/api', '/web'], 'the restored apps replace what was there');
  assert.is(apps.find((a) => a.id === '/web')?.cmd, 'sleep 2');
  assert.is(apps.find((a) => a.id === '/dev/api')?.role, 'dev');
  assert.is((await http.get('/v2/apps/web/versions')).body.versions.length, 2);
  assert.is((await http.get('/v2/groups/dev')).body.enforceRole, true);
  await restart(redisStore);
  assert.is((await http.get('/v2/apps')).body.apps.length, 2, 'the request was carried out once');
});

test('an unreadable restore file changes nothing and the request is dropped', async () => {
  const redisStore = { redis: redis!.url, redisPrefix: 'backup-test:' };
  const junk = join(dir, 'junk.json');
  await writeFile(junk, '{"format":"something-else"}');
  const r = await http.delete(`/v2/leader?restore=${encodeURIComponent(pathToFileURL(junk).href)}`);
  assert.is(r.status, 200, r.text);
  await restart(redisStore);
  assert.is((await http.get('/v2/apps')).body.apps.length, 2);
});

test.run();
