/**
 * Marathon on a real in-process cluster: a master, an agent running real
 * processes, and Marathon with the file store. Apps are deployed, scaled,
 * restarted, fail, and survive a restart of Marathon; nothing launches twice.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Agent } from '@agora/agent';
import type { Master } from '@agora/master';
import { processAlive, waitFor } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Marathon } from '../src/marathon.js';
import { FileStore } from '../src/storage/file/file-store.js';
import { client } from './api/harness.js';
import { type Cluster, startCluster } from './support/cluster.js';

let cluster: Cluster | undefined;
let work = '';
let out = '';
let master: Master;
let agent: Agent;
let marathon: Marathon | undefined;

const http = client(() => marathon!.url);

const startMarathon = (): Promise<Marathon> => cluster!.startMarathon();

interface TaskJson {
  id: string;
  appId: string;
  host: string;
  slaveId: string;
  state: string;
  ports: number[];
  servicePorts: number[];
  stagedAt: string;
  startedAt?: string;
  version: string;
}

interface AppJson {
  tasksRunning: number;
  tasks: TaskJson[];
  deployments: unknown[];
  lastTaskFailure?: { state: string; appId: string; taskId: string };
}

async function appOf(id: string): Promise<AppJson> {
  const r = await http.get(`/v2/apps${id}`);
  assert.is(r.status, 200, r.text);
  return r.body.app;
}

/** Wait until the app has exactly `n` running tasks and no others, and its deployment finished. */
async function settled(id: string, n: number, timeoutMs = 45_000): Promise<TaskJson[]> {
  return waitFor(
    async () => {
      const app = await appOf(id);
      const running = app.tasks.filter((t) => t.state === 'TASK_RUNNING');
      return running.length === n && app.tasks.length === n && app.deployments.length === 0 ? app.tasks : undefined;
    },
    { timeoutMs, intervalMs: 100, message: `${id} settled at ${n} running tasks` },
  );
}

/** The pid a task wrote (the `exec`ed sleep). */
async function pidOf(taskId: string): Promise<number> {
  return waitFor(async () => {
    const text = await readFile(join(out, `${taskId}.pid`), 'utf8').catch(() => '');
    return text.trim() === '' ? undefined : Number(text.trim());
  });
}

const cmd = (tag: string): string =>
  `env > ${out}/$MESOS_TASK_ID.env; read -r p _ < /proc/self/stat; echo $p > ${out}/$MESOS_TASK_ID.pid; exec sleep 1000 # ${tag}`;

const test = suite('marathon with a cluster - apps on real processes');

test.before(async () => {
  cluster = await startCluster({
    prefix: 'agora-marathon-cluster-',
    agents: [{ resources: 'cpus:4;mem:4096;disk:1000;ports:[31000-31099]' }],
  });
  ({ work, master } = cluster);
  agent = cluster.agents[0]!;
  marathon = cluster.marathon;
  out = join(work, 'out');
  await mkdir(out);
});

test.after(async () => {
  await cluster?.close();
});

test('POSTed instances run as real processes with Marathon task ids, ports and environment', async () => {
  const r = await http.post('/v2/apps', {
    id: '/prod/web',
    cmd: cmd('v1'),
    cpus: 0.1,
    mem: 32,
    instances: 2,
    portDefinitions: [{ port: 0, name: 'http' }],
    labels: { team: 'core' },
  });
  assert.is(r.status, 201, r.text);
  const tasks = await settled('/prod/web', 2);
  for (const t of tasks) {
    assert.match(t.id, /^prod_web\.instance-[0-9a-f-]{36}\._app\.1$/);
    assert.is(t.appId, '/prod/web');
    assert.is(t.slaveId, agent.agentId);
    assert.is(t.ports.length, 1);
    assert.ok(t.ports[0]! >= 31000 && t.ports[0]! <= 31099);
    assert.equal(t.servicePorts, [r.body.portDefinitions[0].port]);
    assert.is(t.version, r.body.version);
    assert.ok(t.startedAt !== undefined);
    const env = Object.fromEntries(
      (await readFile(join(out, `${t.id}.env`), 'utf8'))
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    assert.is(env['MARATHON_APP_ID'], '/prod/web');
    assert.is(env['MARATHON_APP_VERSION'], r.body.version);
    assert.is(env['PORT0'], String(t.ports[0]));
    assert.is(env['PORT_HTTP'], String(t.ports[0]));
    assert.is(env['MARATHON_APP_LABEL_TEAM'], 'core');
    assert.is(env['MARATHON_APP_RESOURCE_MEM'], '32.0');
    assert.is(env['MESOS_TASK_ID'], t.id);
    assert.ok(processAlive(await pidOf(t.id)));
  }
  assert.is(new Set(tasks.map((t) => t.ports[0])).size, 2);
  const listed = await http.get('/v2/tasks?status=running');
  assert.is(listed.body.tasks.filter((t: TaskJson) => t.appId === '/prod/web').length, 2);
});

test('scaling up keeps the running tasks; scaling down kills the youngest', async () => {
  const before = (await settled('/prod/web', 2)).map((t) => t.id).sort();
  assert.is((await http.put('/v2/apps/prod/web', { instances: 3 })).status, 200);
  const three = await settled('/prod/web', 3);
  for (const id of before)
    assert.ok(
      three.some((t) => t.id === id),
      'an original task was replaced by a scale',
    );
  const youngest = [...three].sort((a, b) => (a.startedAt! < b.startedAt! ? 1 : -1))[0]!;
  const pid = await pidOf(youngest.id);
  assert.is((await http.put('/v2/apps/prod/web', { instances: 2 })).status, 200);
  const two = await settled('/prod/web', 2);
  assert.not.ok(two.some((t) => t.id === youngest.id));
  await waitFor(() => !processAlive(pid), { timeoutMs: 15_000, message: 'the killed process to exit' });
});

test('a changed cmd replaces every task with the new configuration', async () => {
  const old = await settled('/prod/web', 2);
  const oldPids = await Promise.all(old.map((t) => pidOf(t.id)));
  const r = await http.put('/v2/apps/prod/web', { cmd: cmd('v2') });
  assert.is(r.status, 200);
  const fresh = await settled('/prod/web', 2);
  assert.ok(fresh.every((t) => t.version === r.body.version));
  assert.ok(fresh.every((t) => !old.some((o) => o.id === t.id)));
  await waitFor(() => oldPids.every((p) => !processAlive(p)), { timeoutMs: 15_000, message: 'old processes gone' });
});

test('a failing task is replaced and shown as lastTaskFailure', async () => {
  const marker = join(out, 'failed-once');
  const r = await http.post('/v2/apps', {
    id: '/flaky',
    cmd: `if [ ! -f ${marker} ]; then touch ${marker}; echo boom >&2; exit 3; fi; exec sleep 1000`,
    cpus: 0.1,
    mem: 16,
    portDefinitions: [],
  });
  assert.is(r.status, 201);
  await settled('/flaky', 1);
  const app = await appOf('/flaky');
  assert.is(app.lastTaskFailure?.state, 'TASK_FAILED');
  assert.is(app.lastTaskFailure?.appId, '/flaky');
  assert.is(app.tasks[0]!.id === app.lastTaskFailure?.taskId, false);
});

test('a restarted Marathon keeps its tasks running and launches nothing twice', async () => {
  const before = (await settled('/prod/web', 2)).map((t) => t.id).sort();
  const frameworkId = marathon!.frameworkId;
  assert.ok(frameworkId !== undefined);
  await marathon!.close();
  marathon = await startMarathon();
  await waitFor(() => marathon!.frameworkId === frameworkId, { message: 'the same framework id' });
  const after = (await settled('/prod/web', 2)).map((t) => t.id).sort();
  assert.equal(after, before);
  const state = (await (await fetch(`${master.url}/state`)).json()) as {
    frameworks: Array<{
      id: string;
      name: string;
      webui_url: string;
      failover_timeout: number;
      capabilities: string[];
      tasks: Array<{ id: string; state: string }>;
    }>;
  };
  const fw = state.frameworks.find((f) => f.id === frameworkId);
  assert.is(fw?.name, 'marathon');
  assert.is(fw?.webui_url, marathon!.url);
  assert.is(fw?.failover_timeout, 604800);
  assert.equal([...(fw?.capabilities ?? [])].sort(), ['MULTI_ROLE', 'PARTITION_AWARE', 'TASK_KILLING_STATE']);
  const live = (fw?.tasks ?? []).filter((t) => t.state === 'TASK_RUNNING' && t.id.startsWith('prod_web.'));
  assert.equal(live.map((t) => t.id).sort(), before);
});

test('a task stored but never launched (crash before ACCEPT) is replaced after a restart', async () => {
  // As if Marathon had scaled /flaky to 2, stored the new task (TASK_STAGING) and crashed before its ACCEPT.
  const running = await settled('/flaky', 1);
  await marathon!.close();
  const store = new FileStore(join(work, 'marathon'));
  await store.open();
  const app = await store.apps.get('/flaky');
  assert.ok(app !== undefined);
  await store.apps.put({ ...app!, instances: 2, version: new Date().toISOString() });
  const phantomId = 'flaky.instance-00000000-0000-4000-8000-000000000000._app.1';
  await store.tasks.put({
    id: phantomId,
    appId: '/flaky',
    agentId: running[0]!.slaveId,
    host: running[0]!.host,
    state: 'TASK_STAGING',
    stagedAt: new Date().toISOString(),
    version: app!.version,
    ports: [],
    servicePorts: [],
    ipAddresses: [],
    role: '*',
  });
  await store.close();
  marathon = await startMarathon();
  const after = await settled('/flaky', 2);
  assert.not.ok(
    after.some((t) => t.id === phantomId),
    'the never-launched task is not reported running',
  );
  assert.ok(
    after.some((t) => t.id === running[0]!.id),
    'the running task was kept',
  );
  const state = (await (await fetch(`${master.url}/state`)).json()) as {
    frameworks: Array<{ tasks: Array<{ id: string; state: string }> }>;
  };
  const flaky = state.frameworks
    .flatMap((f) => f.tasks)
    .filter((t) => t.id.startsWith('flaky.') && t.state === 'TASK_RUNNING');
  assert.is(flaky.length, 2, 'exactly two /flaky processes on the cluster');
});

test('DELETE kills every task of the app', async () => {
  const tasks = await settled('/prod/web', 2);
  const pids = await Promise.all(tasks.map((t) => pidOf(t.id)));
  const r = await http.delete('/v2/apps/prod/web');
  assert.is(r.status, 200);
  assert.is((await http.get('/v2/apps/prod/web')).status, 404);
  await waitFor(() => pids.every((p) => !processAlive(p)), {
    timeoutMs: 15_000,
    message: 'processes of /prod/web gone',
  });
  await waitFor(
    async () => ((await http.get('/v2/tasks')).body.tasks as TaskJson[]).every((t) => t.appId !== '/prod/web'),
    { message: 'no /prod/web task listed' },
  );
});

test.run();
