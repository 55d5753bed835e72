/**
 * `@region` / `@zone` on a real cluster: agents started with `--domain`
 * report their fault domain, the master puts it on their offers, and
 * Marathon places by it — UNIQUE on `@zone` runs one task per zone, never on
 * the agent without a domain, and the tasks show their region and zone.
 */
import { waitFor } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { client } from '../api/harness.js';
import { type Cluster, startCluster } from '../support/cluster.js';

const domain = (region: string, zone: string): string =>
  JSON.stringify({ fault_domain: { region: { name: region }, zone: { name: zone } } });

let cluster: Cluster | undefined;
const http = client(() => cluster!.marathon!.url);

const test = suite('fault domains on a real cluster - @region and @zone');
test.before(async () => {
  cluster = await startCluster({
    prefix: 'marathon-domain',
    agents: [
      { resources: 'cpus:2;mem:1024;disk:100;ports:[31310-31319]', hostname: 'a1', domain: domain('eu', 'eu-1') },
      { resources: 'cpus:2;mem:1024;disk:100;ports:[31320-31329]', hostname: 'a2', domain: domain('eu', 'eu-2') },
      { resources: 'cpus:2;mem:1024;disk:100;ports:[31330-31339]', hostname: 'a3' },
    ],
  });
});
test.after(async () => {
  await cluster?.close();
});

interface Task {
  host: string;
  state: string;
  region?: string;
  zone?: string;
}

test('UNIQUE @zone: one task per zone, none on the agent without a domain; tasks show region and zone', async () => {
  const r = await http.post('/v2/apps', {
    id: '/spread',
    cmd: 'sleep 100',
    cpus: 0.1,
    mem: 16,
    instances: 3,
    portDefinitions: [],
    constraints: [['@zone', 'UNIQUE']],
  });
  assert.is(r.status, 201, r.text);
  const tasks = await waitFor(
    async () => {
      const app = (await http.get('/v2/apps/spread')).body.app as { tasks: Task[] };
      const running = app.tasks.filter((t) => t.state === 'TASK_RUNNING');
      return running.length === 2 ? running : undefined;
    },
    { timeoutMs: 30_000, message: 'two tasks running, one per zone' },
  );
  assert.equal(tasks.map((t) => [t.host, t.region, t.zone]).sort(), [
    ['a1', 'eu', 'eu-1'],
    ['a2', 'eu', 'eu-2'],
  ]);
  // The third instance waits: every offer is refused for the constraint (the domain-less agent included).
  const queued = await waitFor(
    async () => {
      const q = (await http.get('/v2/queue')).body.queue as Array<{
        count: number;
        processedOffersSummary: { rejectSummaryLastOffers: Array<{ reason: string; declined: number }> };
      }>;
      const entry = q[0];
      const refused = entry?.processedOffersSummary.rejectSummaryLastOffers.find(
        (x) => x.reason === 'UnfulfilledConstraint',
      );
      return entry !== undefined && refused !== undefined && refused.declined > 0 ? entry : undefined;
    },
    { timeoutMs: 20_000, message: 'the waiting instance to show constraint refusals' },
  );
  assert.is(queued.count, 1);
  const app = (await http.get('/v2/apps/spread')).body.app as { tasks: Task[] };
  assert.not.ok(
    app.tasks.some((t) => t.host === 'a3'),
    'a task landed on the agent without a domain',
  );
});

test('IS @region places only in that region; UNLIKE @region also takes the agent without a domain', async () => {
  const us = await http.post('/v2/apps', {
    id: '/us-only',
    cmd: 'sleep 100',
    cpus: 0.1,
    mem: 16,
    instances: 1,
    portDefinitions: [],
    constraints: [['@region', 'IS', 'us']],
  });
  assert.is(us.status, 201);
  const other = await http.post('/v2/apps', {
    id: '/not-eu',
    cmd: 'sleep 100',
    cpus: 0.1,
    mem: 16,
    instances: 1,
    portDefinitions: [],
    constraints: [['@region', 'UNLIKE', 'eu']],
  });
  assert.is(other.status, 201);
  const t = await waitFor(
    async () => {
      const app = (await http.get('/v2/apps/not-eu')).body.app as { tasks: Task[] };
      return app.tasks.find((x) => x.state === 'TASK_RUNNING');
    },
    { timeoutMs: 30_000, message: '/not-eu running' },
  );
  assert.is(t.host, 'a3');
  assert.is(t.region, undefined);
  const usApp = (await http.get('/v2/apps/us-only')).body.app as { tasks: Task[] };
  assert.is(usApp.tasks.length, 0);
});

test.run();
