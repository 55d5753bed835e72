/**
 * HA with real processes: two `agora marathon --zk … --redis …` processes
 * elect one leader in ZooKeeper; the standby proxies every request to it
 * (X-Marathon-Leader on the answer); `kill -9` of the leader in the middle of
 * a rolling restart: the standby takes over with the same framework id,
 * resumes the deployment from Redis and finishes it, and the cluster ends
 * with exactly the app's tasks (nothing launched twice, nothing orphaned).
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Master } from '@agora/master';
import {
  freePort,
  type RedisServer,
  ServerProcess,
  startRedis,
  startZooKeeper,
  waitFor,
  type ZooKeeperServer,
} from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type Cluster, startCluster } from '../support/cluster.js';

const ROOT = join(import.meta.dirname, '../../../..');
const MAIN = join(ROOT, 'packages/cli/src/main.ts');

let cluster: Cluster | undefined;
let work = '';
let zk: ZooKeeperServer;
let redis: RedisServer;
let master: Master;
const marathons: Array<{ proc: ServerProcess; port: number; log: string }> = [];

function spawnMarathon(port: number, name: string): { proc: ServerProcess; port: number; log: string } {
  const log = join(work, `${name}.log`);
  const proc = new ServerProcess({
    command: process.execPath,
    args: [
      '--conditions=development',
      '--import',
      'tsx',
      MAIN,
      'marathon',
      '--master',
      `127.0.0.1:${master.port}`,
      '--http_port',
      String(port),
      '--zk',
      zk.url('/agora'),
      '--redis',
      redis.url,
    ],
    cwd: ROOT,
    logFile: log,
    env: { ...process.env, AGORA_LOG_LEVEL: 'info' },
  });
  const m = { proc, port, log };
  marathons.push(m);
  return m;
}

async function call(port: number, method: string, path: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text === '' ? undefined : JSON.parse(text) };
}

interface MasterState {
  frameworks: Array<{ id: string; name: string; tasks: Array<{ id: string; state: string }> }>;
}
const masterState = async (): Promise<MasterState> =>
  (await (await fetch(`${master.url}/state`)).json()) as MasterState;

const test = suite('marathon HA: leader election, proxying, failover mid-deployment');

test.before(async () => {
  cluster = await startCluster({
    prefix: 'agora-marathon-ha-',
    agents: [{ resources: 'cpus:4;mem:4096;disk:1000;ports:[31200-31299]' }],
    marathon: false,
  });
  ({ work, master } = cluster);
  zk = await startZooKeeper();
  redis = await startRedis({ persistence: true });
});

test.after(async () => {
  for (const m of marathons) await m.proc.stop('SIGKILL');
  await cluster?.close();
  await redis?.stop();
  await zk?.stop();
});

const server = (tag: string): string =>
  `exec '${process.execPath}' -e "require('http').createServer((q,s)=>s.end('ok')).listen(Number(process.env.PORT0),'127.0.0.1')" # ${tag}`;

/** On failure, show the end of each Marathon's log (the processes' own story). */
async function withLogs(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    for (const m of marathons) {
      const text = await readFile(m.log, 'utf8').catch(() => '');
      process.stderr.write(`--- ${m.log} (last 4000 chars)\n${text.slice(-4000)}\n`);
    }
    throw err;
  }
}

test('kill -9 of the leader mid-deployment: the standby takes over and finishes it; no task twice', () =>
  withLogs(async () => {
    const a = spawnMarathon(await freePort(), 'marathon-a');
    const b = spawnMarathon(await freePort(), 'marathon-b');
    // Whoever leads, both answer, and the answer names the leader.
    const leaderUrl = await waitFor(
      async () => {
        if (a.proc.hasExited || b.proc.hasExited) throw new Error('a marathon process exited');
        // Both processes must be up: one may still be starting when the other already leads.
        const rb = await call(b.port, 'GET', '/v2/info').catch(() => undefined);
        const ra = await call(a.port, 'GET', '/v2/info').catch(() => undefined);
        if (rb?.status !== 200 || ra?.status !== 200) return undefined;
        return rb.headers.get('X-Marathon-Leader') ?? undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, message: 'a leader to answer through marathons a and b' },
    );
    const viaA = await call(a.port, 'GET', '/v2/info');
    assert.is(viaA.headers.get('X-Marathon-Leader'), leaderUrl);
    const leader = leaderUrl.endsWith(`:${a.port}`) ? a : b;
    const standby = leader === a ? b : a;

    const created = await call(standby.port, 'POST', '/v2/apps', {
      id: '/ha/web',
      cmd: server('v1'),
      cpus: 0.05,
      mem: 64,
      instances: 3,
      portDefinitions: [{ port: 0 }],
      healthChecks: [{ protocol: 'TCP', portIndex: 0, gracePeriodSeconds: 30, intervalSeconds: 2, timeoutSeconds: 1 }],
      upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 0.34 },
    });
    assert.is(created.status, 201, created.text);
    const appTasks = async (port: number) =>
      (await call(port, 'GET', '/v2/apps/ha/web?embed=apps.tasks')).body.app as {
        tasks: Array<{ id: string; state: string; version: string; healthCheckResults: Array<{ alive: boolean }> }>;
        deployments: unknown[];
      };
    await waitFor(
      async () => {
        const app = await appTasks(standby.port);
        return (
          app.tasks.length === 3 &&
          app.deployments.length === 0 &&
          app.tasks.every((t) => t.healthCheckResults[0]?.alive)
        );
      },
      { timeoutMs: 40_000, intervalMs: 200, message: 'v1 running and healthy' },
    );
    const frameworkId = (await call(leader.port, 'GET', '/v2/info')).body.frameworkId as string;

    // An HTTP event subscriber, registered through the standby (proxied to the leader): it must survive the takeover.
    const received: Array<{ eventType?: string }> = [];
    const collector = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString();
      });
      req.on('end', () => {
        try {
          received.push(JSON.parse(body) as { eventType?: string });
        } catch {
          // not JSON: not ours to judge here
        }
        res.end();
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', () => resolve()));
    collector.unref();
    const callbackUrl = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/events`;
    const subscribed = await call(
      standby.port,
      'POST',
      `/v2/eventSubscriptions?callbackUrl=${encodeURIComponent(callbackUrl)}`,
    );
    assert.is(subscribed.status, 200, subscribed.text);

    const update = await call(standby.port, 'PUT', '/v2/apps/ha/web', { cmd: server('v2') });
    assert.is(update.status, 200, update.text);
    const v2: string = update.body.version;
    // Mid-deployment: at least one new task runs, old ones remain.
    await waitFor(
      async () => {
        const app = await appTasks(leader.port);
        const fresh = app.tasks.filter((t) => t.version === v2 && t.state === 'TASK_RUNNING').length;
        return fresh >= 1 && app.tasks.some((t) => t.version !== v2);
      },
      { timeoutMs: 30_000, intervalMs: 50, message: 'the rolling restart to be under way' },
    );
    leader.proc.child.kill('SIGKILL');
    await leader.proc.exited;

    // The standby leads after the ZooKeeper session of the dead leader expires.
    await waitFor(
      async () => {
        const r = await call(standby.port, 'GET', '/v2/deployments').catch(() => undefined);
        return r?.status === 200 && r.headers.get('X-Marathon-Leader')?.endsWith(`:${standby.port}`) === true;
      },
      { timeoutMs: 40_000, intervalMs: 200, message: 'the standby to take over' },
    );
    const info = await call(standby.port, 'GET', '/v2/info');
    assert.is(info.body.frameworkId, frameworkId, 'same framework id after the takeover');
    const done = await waitFor(
      async () => {
        const app = await appTasks(standby.port);
        const deployments = (await call(standby.port, 'GET', '/v2/deployments')).body as unknown[];
        const ok =
          deployments.length === 0 &&
          app.tasks.length === 3 &&
          app.tasks.every((t) => t.version === v2 && t.state === 'TASK_RUNNING' && t.healthCheckResults[0]?.alive);
        return ok ? app : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200, message: 'the deployment to finish under the new leader' },
    );
    const subscriptions = await call(standby.port, 'GET', '/v2/eventSubscriptions');
    assert.ok(
      (subscriptions.body.callbackUrls as string[]).includes(callbackUrl),
      'the event subscription survived the takeover',
    );
    await waitFor(() => received.some((e) => e.eventType === 'deployment_success'), {
      timeoutMs: 20_000,
      intervalMs: 100,
      message: "the subscriber to receive the new leader's deployment_success",
    });
    collector.close();
    const state = await masterState();
    assert.is(state.frameworks.filter((f) => f.name === 'marathon').length, 1, 'one framework on the master');
    const live = state.frameworks
      .flatMap((f) => f.tasks)
      .filter(
        (t) =>
          t.id.startsWith('ha_web.') && !['TASK_KILLED', 'TASK_FINISHED', 'TASK_FAILED', 'TASK_LOST'].includes(t.state),
      );
    assert.equal(
      live.map((t) => t.id).sort(),
      done.tasks.map((t) => t.id).sort(),
      'the cluster runs exactly the tasks Marathon knows',
    );
    const log = await readFile(standby.log, 'utf8');
    assert.match(log, /elected leader/);
    assert.match(log, /deployments resumed/);

    // DELETE /v2/leader: the leader steps down (its process exits), a new standby takes over, no task is relaunched.
    const c = spawnMarathon(await freePort(), 'marathon-c');
    await waitFor(async () => (await call(c.port, 'GET', '/v2/leader').catch(() => undefined))?.status === 200, {
      timeoutMs: 30_000,
      intervalMs: 200,
      message: 'marathon c to proxy to the leader',
    });
    const proxied = await call(c.port, 'GET', '/v2/leader');
    assert.is(proxied.body.leader, `127.0.0.1:${standby.port}`);
    assert.is((await call(standby.port, 'DELETE', '/v2/leader')).body.message, 'Leadership abdicated');
    assert.is(await standby.proc.exited, 3, 'the abdicated Marathon exits');
    await waitFor(
      async () =>
        (await call(c.port, 'GET', '/v2/info').catch(() => undefined))?.headers
          .get('X-Marathon-Leader')
          ?.endsWith(`:${c.port}`) === true,
      { timeoutMs: 30_000, intervalMs: 200, message: 'marathon c to lead' },
    );
    const afterAbdication = await waitFor(
      async () => {
        const app = await appTasks(c.port);
        return app.tasks.length === 3 && app.tasks.every((t) => t.state === 'TASK_RUNNING') ? app : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, message: 'the app under marathon c' },
    );
    assert.equal(afterAbdication.tasks.map((t) => t.id).sort(), done.tasks.map((t) => t.id).sort());
  }));

test.run();
