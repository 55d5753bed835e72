/**
 * One multi-step deployment executed on a real cluster: a group POST with
 * `/g/web` depending on `/g/db` is one deployment whose steps run in order —
 * web gets no task while db's step (readiness-gated) is current — and it
 * finishes (deployment gone) once both apps run.
 */
import { waitFor } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { client } from '../api/harness.js';
import { type Cluster, startCluster } from '../support/cluster.js';

let cluster: Cluster | undefined;
const http = client(() => cluster!.marathon!.url);

/** Serves PORT0; `/ready` answers 200 only 1.5 s after start. */
const server = (): string => {
  const js = [
    'const t0=Date.now();',
    "require('http').createServer((q,s)=>{",
    "if(q.url==='/ready'){s.statusCode=Date.now()-t0>1500?200:503;return s.end('r')}",
    "s.end('ok')}).listen(Number(process.env.PORT0),'127.0.0.1')",
  ].join('');
  return `exec '${process.execPath}' -e "${js}"`;
};

const test = suite('group deployments on a real cluster - one plan, steps in order');
test.before(async () => {
  cluster = await startCluster({
    prefix: 'marathon-group-deploy',
    agents: [{ resources: 'cpus:2;mem:2048;disk:100;ports:[31340-31359]' }],
  });
});
test.after(async () => {
  await cluster?.close();
});

test('web waits for the step of db it depends on; the one deployment then finishes', async () => {
  const r = await http.post('/v2/groups', {
    id: '/g',
    apps: [
      {
        id: '/g/db',
        cmd: server(),
        cpus: 0.05,
        mem: 32,
        instances: 2,
        portDefinitions: [{ port: 0, name: 'http' }],
        readinessChecks: [{ name: 'ready', path: '/ready', portName: 'http', intervalSeconds: 2, timeoutSeconds: 1 }],
      },
      { id: '/g/web', cmd: 'sleep 100', cpus: 0.05, mem: 16, portDefinitions: [], dependencies: ['/g/db'] },
    ],
  });
  assert.is(r.status, 201, r.text);
  const id = r.headers.get('marathon-deployment-id');
  let sawDbStep = false;
  await waitFor(
    async () => {
      const d = ((await http.get('/v2/deployments')).body as Array<Record<string, unknown>>).find(
        (x) => x['id'] === id,
      );
      const web = (await http.get('/v2/apps/g/web')).body.app as { tasksStaged: number; tasksRunning: number };
      if (d !== undefined) {
        const current = (d['currentActions'] as Array<{ app: string }>).map((a) => a.app);
        if (current.includes('/g/db')) {
          sawDbStep = true;
          assert.is(web.tasksStaged + web.tasksRunning, 0, 'web launched during the step of its dependency');
        }
      }
      return d === undefined && web.tasksRunning === 1;
    },
    { timeoutMs: 40_000, intervalMs: 50, message: 'the group deployment to finish with web running' },
  );
  assert.ok(sawDbStep, 'the deployment was seen in the db step');
  const db = (await http.get('/v2/apps/g/db')).body.app as { tasksRunning: number };
  assert.is(db.tasksRunning, 2);
});

test.run();
