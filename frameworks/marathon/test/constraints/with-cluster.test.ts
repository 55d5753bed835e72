/**
 * Constraints on a real cluster: a master and two agents (hostnames
 * node-a / node-b, attributes rack:r1 / rack:r2) running real processes, and
 * Marathon. UNIQUE leaves the third instance waiting, with the refusal
 * counted in /v2/queue; CLUSTER pins to a rack; GROUP_BY spreads and keeps
 * the spread when scaling down.
 */
import { waitFor } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { client } from '../api/harness.js';
import { type Cluster, startCluster } from '../support/cluster.js';

let cluster: Cluster | undefined;
const http = client(() => cluster!.marathon!.url);

interface TaskJson {
  host: string;
  state: string;
}

async function running(id: string): Promise<TaskJson[]> {
  const r = await http.get(`/v2/apps${id}`);
  assert.is(r.status, 200, r.text);
  return (r.body.app.tasks as TaskJson[]).filter((t) => t.state === 'TASK_RUNNING');
}

/** Wait until the app has exactly `n` tasks, all running. */
async function settledAt(id: string, n: number): Promise<TaskJson[]> {
  return waitFor(
    async () => {
      const r = await http.get(`/v2/apps${id}`);
      const tasks = r.body.app.tasks as TaskJson[];
      return tasks.length === n && tasks.every((t) => t.state === 'TASK_RUNNING') ? tasks : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100, message: `${id} at ${n} running tasks` },
  );
}

const app = (id: string, instances: number, constraints: string[][]) => ({
  id,
  cmd: 'exec sleep 1000',
  cpus: 0.1,
  mem: 16,
  instances,
  portDefinitions: [],
  constraints,
});

const test = suite('constraints with a cluster - two agents, two racks');

test.before(async () => {
  const resources = 'cpus:4;mem:4096;disk:1000;ports:[31000-31099]';
  cluster = await startCluster({
    prefix: 'agora-marathon-constraints-',
    agents: [
      { hostname: 'node-a', attributes: 'rack:r1', resources },
      { hostname: 'node-b', attributes: 'rack:r2', resources },
    ],
  });
});

test.after(async () => {
  await cluster?.close();
});

test('UNIQUE hostname: one instance per agent; the third waits, refused for its constraint', async () => {
  assert.is((await http.post('/v2/apps', app('/uniq', 3, [['hostname', 'UNIQUE']]))).status, 201);
  await waitFor(async () => ((await running('/uniq')).length === 2 ? true : undefined), {
    timeoutMs: 30_000,
    message: '/uniq at 2 running tasks',
  });
  const hosts = (await running('/uniq')).map((t) => t.host).sort();
  assert.equal(hosts, ['node-a', 'node-b']);
  const entry = await waitFor(
    async () => {
      const q = (await http.get('/v2/queue')).body.queue as Array<{
        app: { id: string };
        count: number;
        processedOffersSummary: { rejectSummaryLastOffers: Array<{ reason: string; declined: number }> };
      }>;
      const e = q.find((x) => x.app.id === '/uniq');
      const declined = e?.processedOffersSummary.rejectSummaryLastOffers.find(
        (s) => s.reason === 'UnfulfilledConstraint',
      )?.declined;
      return e !== undefined && declined !== undefined && declined > 0 ? e : undefined;
    },
    { timeoutMs: 15_000, message: 'the queue to count constraint refusals for /uniq' },
  );
  assert.is(entry.count, 1);
  const withOffers = (await http.get('/v2/queue?embed=lastUnusedOffers')).body.queue.find(
    (x: { app: { id: string } }) => x.app.id === '/uniq',
  );
  const unused = withOffers.lastUnusedOffers as Array<{
    offer: { hostname: string; resources: Array<{ name: string }>; attributes: Array<{ name: string; value: string }> };
    reason: string[];
  }>;
  assert.ok(unused.length > 0);
  assert.ok(unused.some((u) => u.reason.includes('UnfulfilledConstraint')));
  assert.ok(['node-a', 'node-b'].includes(unused[0]!.offer.hostname));
  assert.ok(unused[0]!.offer.resources.some((r) => r.name === 'cpus'));
  assert.equal(unused[0]!.offer.attributes[0]?.name, 'rack');
  assert.is((await running('/uniq')).length, 2, 'still two: UNIQUE was never broken');
  assert.is((await http.delete('/v2/apps/uniq')).status, 200);
});

test('CLUSTER on an attribute pins every instance to that rack', async () => {
  assert.is((await http.post('/v2/apps', app('/pinned', 2, [['rack', 'CLUSTER', 'r2']]))).status, 201);
  const tasks = await settledAt('/pinned', 2);
  assert.ok(
    tasks.every((t) => t.host === 'node-b'),
    JSON.stringify(tasks),
  );
  assert.is((await http.delete('/v2/apps/pinned')).status, 200);
});

test('GROUP_BY rack spreads 4 instances 2/2 and scales down to 1/1', async () => {
  assert.is((await http.post('/v2/apps', app('/spread', 4, [['rack', 'GROUP_BY', '2']]))).status, 201);
  const four = await settledAt('/spread', 4);
  assert.is(four.filter((t) => t.host === 'node-a').length, 2, JSON.stringify(four));
  assert.is((await http.put('/v2/apps/spread?force=true', { instances: 2 })).status, 200);
  const two = await settledAt('/spread', 2);
  assert.equal(two.map((t) => t.host).sort(), ['node-a', 'node-b']);
});

test('DELETE a task: replaced without scale; with scale=true exactly that task goes and instances drop', async () => {
  const before = await settledAt('/spread', 2);
  const ids = async (): Promise<string[]> =>
    ((await http.get('/v2/apps/spread')).body.app.tasks as Array<{ id: string }>).map((t) => t.id);
  const [first, second] = await ids();
  const killed = await http.delete(`/v2/apps/spread/tasks/${first}`);
  assert.is(killed.status, 200, killed.text);
  assert.is(killed.body.task.id, first);
  await waitFor(async () => ((await ids()).includes(first!) ? undefined : true), {
    timeoutMs: 15_000,
    message: 'the killed task to go',
  });
  const replaced = await settledAt('/spread', 2);
  assert.is(replaced.length, before.length);
  const scaled = await http.delete(`/v2/apps/spread/tasks/${second}?scale=true&force=true`);
  assert.is(scaled.status, 200, scaled.text);
  assert.ok(scaled.headers.get('marathon-deployment-id') === scaled.body.deploymentId);
  const one = await settledAt('/spread', 1);
  assert.not.ok((await ids()).includes(second!));
  assert.is(one.length, 1);
  assert.is((await http.get('/v2/apps/spread')).body.app.instances, 1);
});

test.run();
