/**
 * Deployments, health and readiness checks on a real in-process cluster (a
 * master, an agent running real processes, Marathon with the file store):
 * a rolling restart keeps the healthy count and the live count within the
 * upgradeStrategy bounds at every sample, readiness results show in
 * /v2/deployments, the app is locked while it deploys, and a task whose
 * health check fails is killed and replaced.
 */
import { writeFile } from 'node:fs/promises';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { client } from '../api/harness.js';
import { type Cluster, startCluster } from '../support/cluster.js';

let out = '';
let cluster: Cluster | undefined;
const http = client(() => cluster!.marathon!.url);

interface HealthJson {
  alive: boolean;
  consecutiveFailures: number;
}
interface TaskJson {
  id: string;
  state: string;
  version: string;
  healthCheckResults: HealthJson[];
}

/**
 * A task serving HTTP on PORT0: `/health` answers 500 once `sick-<task id>`
 * exists in the out dir, `/ready` answers 200 only a little after start.
 */
const server = (tag: string): string => {
  const js = [
    "const fs=require('fs');const t0=Date.now();",
    "require('http').createServer((q,s)=>{",
    `if(q.url==='/health'){s.statusCode=fs.existsSync('${out}/sick-'+process.env.MESOS_TASK_ID)?500:200;return s.end('h')}`,
    "if(q.url==='/ready'){s.statusCode=Date.now()-t0>1200?200:503;return s.end('r')}",
    "s.end('ok')}).listen(Number(process.env.PORT0),'127.0.0.1')",
  ].join('');
  return `exec '${process.execPath}' -e "${js}" # ${tag}`;
};

const healthChecks = [
  {
    protocol: 'HTTP',
    path: '/health',
    portIndex: 0,
    gracePeriodSeconds: 30,
    intervalSeconds: 1,
    timeoutSeconds: 1,
    maxConsecutiveFailures: 2,
  },
];

async function tasksOf(id: string): Promise<TaskJson[]> {
  const r = await http.get(`/v2/apps${id}?embed=apps.tasks`);
  assert.is(r.status, 200, r.text);
  return r.body.app.tasks;
}

const isHealthy = (t: TaskJson): boolean =>
  t.state === 'TASK_RUNNING' && t.healthCheckResults.length > 0 && t.healthCheckResults.every((h) => h.alive);

async function settled(id: string, n: number, version?: string): Promise<TaskJson[]> {
  let last: unknown;
  return waitFor(
    async () => {
      const r = await http.get(`/v2/apps${id}?embed=apps.tasks`);
      const app = r.body.app;
      last = app;
      const tasks: TaskJson[] = app.tasks;
      const ok =
        tasks.length === n &&
        tasks.every(isHealthy) &&
        (version === undefined || tasks.every((t) => t.version === version)) &&
        app.deployments.length === 0;
      return ok ? tasks : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100, message: `${id} settled at ${n} healthy tasks` },
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(last)}`);
  });
}

const test = suite('deployments and health checks on a real cluster');

test.before(async () => {
  cluster = await startCluster({
    prefix: 'agora-marathon-deploy-',
    agents: [{ resources: 'cpus:4;mem:4096;disk:1000;ports:[31100-31199]' }],
  });
  out = join(cluster.work, 'out');
  await mkdir(out);
});

test.after(async () => {
  await cluster?.close();
});

test('a rolling restart stays within minimumHealthCapacity and maximumOverCapacity at every sample', async () => {
  const created = await http.post('/v2/apps', {
    id: '/roll',
    cmd: server('v1'),
    cpus: 0.05,
    mem: 64,
    instances: 3,
    portDefinitions: [{ port: 0, name: 'http' }],
    healthChecks,
    readinessChecks: [
      { name: 'ready', protocol: 'HTTP', path: '/ready', portName: 'http', intervalSeconds: 2, timeoutSeconds: 1 },
    ],
    upgradeStrategy: { minimumHealthCapacity: 0.5, maximumOverCapacity: 0.34 },
  });
  assert.is(created.status, 201, created.text);
  const before = await settled('/roll', 3);
  assert.is((await http.get('/v2/apps/roll')).body.app.tasksHealthy, 3);

  const r = await http.put('/v2/apps/roll', { cmd: server('v2') });
  assert.is(r.status, 200, r.text);
  const version: string = r.body.version;
  const locked = await http.put('/v2/apps/roll', { instances: 4 });
  assert.is(locked.status, 409, 'the app is locked while it deploys');
  assert.equal(locked.body.deployments, [{ id: r.body.deploymentId }]);

  // minHealthy = ceil(3 * 0.5) = 2, maxCapacity = floor(3 * 1.34) = 4.
  let samples = 0;
  let sawReadiness = false;
  let sawDeployment = false;
  await waitFor(
    async () => {
      const [tasks, deployments] = await Promise.all([tasksOf('/roll'), http.get('/v2/deployments')]);
      samples++;
      const healthy = tasks.filter(isHealthy).length;
      assert.ok(
        healthy >= 2,
        `only ${healthy} healthy tasks: ${JSON.stringify(tasks.map((t) => [t.state, t.version === version]))}`,
      );
      assert.ok(tasks.length <= 4, `${tasks.length} tasks alive, more than maxCapacity 4`);
      const mine = (deployments.body as Array<Record<string, unknown>>).find((d) => d['id'] === r.body.deploymentId);
      if (mine !== undefined) {
        sawDeployment = true;
        assert.equal(mine['steps'], [{ actions: [{ action: 'RestartApplication', app: '/roll' }] }]);
        assert.is(mine['currentStep'], 1);
        const actions = mine['currentActions'] as Array<{ readinessCheckResults: unknown[] }>;
        if (actions[0]!.readinessCheckResults.length > 0) sawReadiness = true;
      }
      return tasks.length === 3 && tasks.every((t) => t.version === version && isHealthy(t)) && mine === undefined;
    },
    { timeoutMs: 60_000, intervalMs: 50, message: 'the restart to finish' },
  );
  assert.ok(samples > 10, `only ${samples} samples`);
  assert.ok(sawDeployment, 'the deployment was listed while it ran');
  assert.ok(sawReadiness, 'readiness results were shown');
  const after = await settled('/roll', 3, version);
  assert.ok(after.every((t) => !before.some((b) => b.id === t.id)));
});

test('a task whose health check keeps failing is killed and replaced', async () => {
  const tasks = await settled('/roll', 3);
  const victim = tasks[0]!;
  await writeFile(join(out, `sick-${victim.id}`), '');
  await waitFor(
    async () => {
      const t = (await tasksOf('/roll')).find((x) => x.id === victim.id);
      return t !== undefined && t.healthCheckResults[0]!.consecutiveFailures >= 1 && !t.healthCheckResults[0]!.alive;
    },
    { timeoutMs: 15_000, message: 'the failing check to show' },
  );
  assert.ok((await http.get('/v2/apps/roll')).body.app.tasksUnhealthy >= 1);
  const replaced = await waitFor(
    async () => {
      const now = await tasksOf('/roll');
      return now.length === 3 && now.every(isHealthy) && !now.some((t) => t.id === victim.id) ? now : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100, message: 'the unhealthy task to be replaced' },
  );
  assert.is(replaced.filter((t) => !tasks.some((o) => o.id === t.id)).length, 1, 'exactly one new task');
});

test('DELETE /v2/deployments/{id} rolls back; ?force=true cancels with 202; unknown ids 404', async () => {
  await settled('/roll', 3);
  const scaled = await http.put('/v2/apps/roll', { instances: 30 }); // cannot fit: stays deploying
  assert.is(scaled.status, 200);
  const rollback = await http.delete(`/v2/deployments/${scaled.body.deploymentId}`);
  assert.is(rollback.status, 200, rollback.text);
  assert.is(rollback.headers.get('Marathon-Deployment-Id'), rollback.body.deploymentId);
  assert.is((await http.get('/v2/apps/roll')).body.app.instances, 3);
  await settled('/roll', 3);

  const again = await http.put('/v2/apps/roll', { instances: 30 });
  const cancel = await http.delete(`/v2/deployments/${again.body.deploymentId}?force=true`);
  assert.is(cancel.status, 202);
  assert.equal((await http.get('/v2/deployments')).body, []);
  assert.is((await http.delete('/v2/deployments/nope')).status, 404);
  assert.is((await http.delete('/v2/deployments/nope')).body.message, 'DeploymentPlan nope does not exist');
  assert.is((await http.put('/v2/apps/roll?force=true', { instances: 1 })).status, 200);
});

test('a Mesos-side check goes to the agent in TaskInfo and its verdict counts (MESOS_TCP)', async () => {
  const r = await http.post('/v2/apps', {
    id: '/mesos-checked',
    cmd: server('m'),
    cpus: 0.05,
    mem: 64,
    instances: 1,
    portDefinitions: [{ port: 0, name: 'http' }],
    healthChecks: [
      {
        protocol: 'MESOS_TCP',
        portIndex: 0,
        gracePeriodSeconds: 30,
        intervalSeconds: 2,
        timeoutSeconds: 1,
        delaySeconds: 0,
      },
    ],
  });
  assert.is(r.status, 201, r.text);
  await waitFor(
    async () => {
      const app = (await http.get('/v2/apps/mesos-checked?embed=apps.tasks')).body.app;
      const t = app.tasks[0] as TaskJson | undefined;
      return app.tasksHealthy === 1 && t?.healthCheckResults[0]?.alive === true && app.deployments.length === 0;
    },
    { timeoutMs: 30_000, intervalMs: 100, message: 'the agent to report the task healthy' },
  );
  assert.is((await http.delete('/v2/apps/mesos-checked')).status, 200);
});

test('an app waits for the deployment of an app it depends on', async () => {
  const db = await http.post('/v2/apps', {
    id: '/dep/db',
    cmd: server('db'),
    cpus: 0.05,
    mem: 64,
    instances: 1,
    portDefinitions: [{ port: 0, name: 'http' }],
    healthChecks,
    readinessChecks: [{ name: 'ready', path: '/ready', portName: 'http', intervalSeconds: 2, timeoutSeconds: 1 }],
  });
  assert.is(db.status, 201, db.text);
  const web = await http.post('/v2/apps', {
    id: '/dep/web',
    cmd: server('web'),
    cpus: 0.05,
    mem: 64,
    instances: 1,
    portDefinitions: [{ port: 0, name: 'http' }],
    healthChecks,
    dependencies: ['/dep/db'],
  });
  assert.is(web.status, 201, web.text);
  let samples = 0;
  await waitFor(
    async () => {
      const deployments = (await http.get('/v2/deployments')).body as Array<{ affectedApps: string[] }>;
      const dbDeploying = deployments.some((d) => d.affectedApps.includes('/dep/db'));
      const webTasks = await tasksOf('/dep/web');
      samples++;
      if (dbDeploying) assert.is(webTasks.length, 0, 'web launched while its dependency was still deploying');
      return !dbDeploying && webTasks.length === 1;
    },
    { timeoutMs: 40_000, intervalMs: 50, message: 'db deployed, then web launched' },
  );
  assert.ok(samples > 5);
  await settled('/dep/web', 1);
  assert.is((await http.delete('/v2/apps/dep/web')).status, 200);
  assert.is((await http.delete('/v2/apps/dep/db')).status, 200);
});

test.run();
