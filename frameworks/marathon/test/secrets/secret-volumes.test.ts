/**
 * Secret volumes on a real cluster: `container.volumes: [{containerPath: "conf/db.pw", secret: "dbpw"}]` with
 * `--secrets_dir`: the task finds the value in that file of its sandbox (mode 0600) before its command runs;
 * the shell's command line does not hold the value, nor do API answers, log lines or events.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@agora/common';
import { waitFor } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createMarathon, type Marathon } from '../../src/marathon.js';
import { client } from '../api/harness.js';
import { type Cluster, startCluster } from '../support/cluster.js';

const VALUE = 'vol-s3cr3t-7777';
let cluster: Cluster | undefined;
let marathon: Marathon | undefined;
let logs = '';
const events: string[] = [];
const http = client(() => marathon!.url);

/** Command lines of the host's processes that mention `needle`. */
async function taskCommandLines(needle: string): Promise<string[]> {
  const out: string[] = [];
  for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
    const text = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (text.includes(needle) && !text.includes('node')) out.push(text.replace(/\0/g, ' '));
  }
  return out;
}

const test = suite('secret volumes - the value in a sandbox file, shown nowhere');
test.before(async () => {
  cluster = await startCluster({
    prefix: 'marathon-secret-volumes',
    agents: [{ resources: 'cpus:2;mem:1024;disk:100;ports:[31410-31419]' }],
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
      role: 'secrets', // a role of our own, so resident apps can reserve
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

test('the task reads the file; its command line, API answers, logs and events never show the value', async () => {
  const out = join(cluster!.work, 'out');
  const created = await http.post('/v2/apps', {
    id: '/vol',
    cmd: [
      `stat -c %a conf/db.pw > ${out}/mode`,
      `env > ${out}/env`,
      `cat conf/db.pw > ${out}/pw.tmp && mv ${out}/pw.tmp ${out}/pw`,
      'sleep 100',
    ].join('; '),
    cpus: 0.1,
    mem: 32,
    portDefinitions: [],
    container: { type: 'MESOS', volumes: [{ containerPath: 'conf/db.pw', secret: 'dbpw' }] },
    secrets: { dbpw: { source: 'db/password' } },
  });
  assert.is(created.status, 201, created.text);
  const seen = await waitFor(async () => (await readFile(join(out, 'pw'), 'utf8').catch(() => '')) || undefined, {
    timeoutMs: 30_000,
    message: 'the task to copy its secret file',
  });
  assert.is(seen, VALUE);
  assert.is((await readFile(join(out, 'mode'), 'utf8')).trim(), '600');
  // The task's shell (still running `sleep`), found on the host: its command line names the file, not the value.
  const cmdlines = await taskCommandLines('conf/db.pw');
  assert.ok(cmdlines.length > 0, 'the task shell is running');
  for (const c of cmdlines) assert.not.ok(c.includes(VALUE), 'the command line holds the value');
  assert.not.ok((await readFile(join(out, 'env'), 'utf8')).includes(VALUE), 'the variable is unset before cmd');
  const answers = await Promise.all(
    ['/v2/apps?embed=apps.tasks', '/v2/apps/vol', '/v2/tasks', '/v2/queue', '/v2/apps/vol/versions'].map((p) =>
      http.get(p),
    ),
  );
  for (const a of answers) assert.not.ok(a.text.includes(VALUE), a.text);
  assert.equal((await http.get('/v2/apps/vol')).body.app.container.volumes, [
    { containerPath: 'conf/db.pw', secret: 'dbpw' },
  ]);
  await waitFor(async () => logs.includes('launching task'), { timeoutMs: 10_000, message: 'the launch log line' });
  assert.not.ok(logs.includes(VALUE), 'a log line shows the secret');
  for (const e of events) assert.not.ok(e.includes(VALUE), e);
});

test('a secret volume whose secret cannot be read launches nothing and is reported by name', async () => {
  const r = await http.post('/v2/apps', {
    id: '/novol',
    cmd: 'sleep 100',
    cpus: 0.1,
    mem: 32,
    portDefinitions: [],
    container: { type: 'MESOS', volumes: [{ containerPath: 'k', secret: 'k' }] },
    secrets: { k: { source: 'no/such' } },
  });
  assert.is(r.status, 201, r.text);
  await waitFor(async () => logs.includes("secret 'k' of app /novol cannot be read from source 'no/such'"), {
    timeoutMs: 20_000,
    message: 'the unreadable secret to be reported',
  });
  assert.is((await http.get('/v2/apps/novol')).body.app.tasksStaged, 0);
});

test('a resident app (persistent volume) gets its secret volume too', async () => {
  const out = join(cluster!.work, 'out');
  const created = await http.post('/v2/apps', {
    id: '/resident-vol',
    cmd: `cat conf/db.pw > ${out}/res.tmp && mv ${out}/res.tmp ${out}/res-pw; exec sleep 100`,
    cpus: 0.1,
    mem: 32,
    portDefinitions: [],
    container: {
      type: 'MESOS',
      volumes: [
        { containerPath: 'data', mode: 'RW', persistent: { size: 8 } },
        { containerPath: 'conf/db.pw', secret: 'dbpw' },
      ],
    },
    secrets: { dbpw: { source: 'db/password' } },
  });
  assert.is(created.status, 201, created.text);
  const seen = await waitFor(async () => (await readFile(join(out, 'res-pw'), 'utf8').catch(() => '')) || undefined, {
    timeoutMs: 30_000,
    message: 'the resident task to copy its secret file',
  });
  assert.is(seen, VALUE);
});

test.run();
