/**
 * Secrets on a real cluster: `env: {"DB_PW": {"secret": "dbpw"}}` with
 * `secrets: {"dbpw": {"source": "db/password"}}`, `--enable_features secrets`
 * and `--secrets_dir`: the task's process sees the value; the value appears
 * in no API answer, no log line and no event. A secret that cannot be read
 * launches nothing and says why (by name).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@agora/common';
import { waitFor } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createMarathon, type Marathon } from '../../src/marathon.js';
import { client } from '../api/harness.js';
import { type Cluster, startCluster } from '../support/cluster.js';

const VALUE = 's3cr3t-VALUE-4242';
let cluster: Cluster | undefined;
let marathon: Marathon | undefined;
let logs = '';
const events: string[] = [];
const http = client(() => marathon!.url);

const test = suite('secrets - delivered into the task environment, shown nowhere');
test.before(async () => {
  cluster = await startCluster({
    prefix: 'marathon-secrets',
    agents: [{ resources: 'cpus:2;mem:1024;disk:100;ports:[31360-31369]' }],
    marathon: false,
  });
  const secrets = join(cluster.work, 'secrets');
  await mkdir(join(secrets, 'db'), { recursive: true });
  await writeFile(join(secrets, 'db', 'password'), `${VALUE}\n`);
  await mkdir(join(cluster.work, 'out'), { recursive: true });
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs += String(chunk);
      done();
    },
  });
  marathon = createMarathon(
    {
      master: `127.0.0.1:${cluster.master.port}`,
      port: 0,
      stateDir: join(cluster.work, 'marathon'),
      declineRefuseSeconds: 1,
      enableFeatures: ['secrets'],
      secretsDir: secrets,
    },
    { logger: createLogger({ level: 'debug', component: 'marathon', destination: sink }) },
  );
  marathon.events.bus.onDidPublish((e) => events.push(JSON.stringify(e)));
  await marathon.start();
});
test.after(async () => {
  await marathon?.close();
  await cluster?.close();
});

test('the task gets the value; API answers, logs and events never show it', async () => {
  const out = join(cluster!.work, 'out', 'pw');
  const app = {
    id: '/sec',
    cmd: `printf '%s' "$DB_PW" > ${out} && sleep 100`,
    cpus: 0.1,
    mem: 32,
    portDefinitions: [],
    env: { DB_PW: { secret: 'dbpw' }, PLAIN: 'x' },
    secrets: { dbpw: { source: 'db/password' } },
  };
  const created = await http.post('/v2/apps', app);
  assert.is(created.status, 201, created.text);
  const seen = await waitFor(async () => (await readFile(out, 'utf8').catch(() => '')) || undefined, {
    timeoutMs: 30_000,
    message: 'the task to write its DB_PW',
  });
  assert.is(seen, VALUE);
  const answers = await Promise.all(
    [
      '/v2/apps?embed=apps.tasks&embed=apps.deployments',
      '/v2/apps/sec',
      '/v2/tasks',
      '/v2/deployments',
      '/v2/queue',
      '/v2/groups?embed=group.apps.tasks',
      '/v2/apps/sec/versions',
      '/v2/info',
    ].map((p) => http.get(p)),
  );
  for (const a of answers) assert.not.ok(a.text.includes(VALUE), a.text);
  assert.equal((await http.get('/v2/apps/sec')).body.app.env, { DB_PW: { secret: 'dbpw' }, PLAIN: 'x' });
  assert.ok(logs.includes('launching task'), 'the launch was logged');
  assert.not.ok(logs.includes(VALUE), 'a log line shows the secret');
  assert.ok(events.length > 0);
  for (const e of events) assert.not.ok(e.includes(VALUE), e);
});

test('a secret that cannot be read launches nothing and is reported by name', async () => {
  const r = await http.post('/v2/apps', {
    id: '/missing',
    cmd: 'sleep 100',
    cpus: 0.1,
    mem: 32,
    portDefinitions: [],
    env: { TOKEN: { secret: 'tok' } },
    secrets: { tok: { source: 'no/such/file' } },
  });
  assert.is(r.status, 201, r.text);
  await waitFor(async () => logs.includes("secret 'tok' of app /missing cannot be read from source 'no/such/file'"), {
    timeoutMs: 20_000,
    message: 'the unreadable secret to be reported',
  });
  assert.is(
    (await http.get('/v2/apps/missing')).body.app.tasksRunning +
      (await http.get('/v2/apps/missing')).body.app.tasksStaged,
    0,
  );
  const outside = await http.post('/v2/apps', {
    id: '/escape',
    cmd: 'sleep 100',
    cpus: 0.1,
    mem: 32,
    portDefinitions: [],
    env: { X: { secret: 'x' } },
    secrets: { x: { source: '../marathon/schema-version' } },
  });
  assert.is(outside.status, 201);
  await waitFor(async () => logs.includes("secret 'x' of app /escape has a source outside the secrets directory"), {
    timeoutMs: 20_000,
    message: 'the escaping source to be refused',
  });
  assert.is((await http.get('/v2/apps/escape')).body.app.tasksStaged, 0);
});

test.run();
