/**
 * End to end, all real: ZooKeeper, Redis, two masters, two agents and
 * marathon as separate processes; an app of 3 real HTTP servers; `kill -9` of
 * the leading master; the standby takes over, agents and marathon re-register,
 * the same 3 processes keep running and no task is replaced or lost; DELETE
 * stops them.
 */
import { freePort, removeTempDir, startRedis, startZooKeeper, tempDir, waitFor } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type Daemon,
  findProcesses,
  killProcessesUnder,
  httpJson,
  isAlive,
  type MarathonApp,
  startDaemon,
  waitForHttp,
  waitForRunningApp,
} from '../support/processes.js';

const test = suite('e2e: master failover keeps tasks running');

test('kill -9 of the leading master loses no task', async () => {
  const zk = await startZooKeeper();
  const redis = await startRedis();
  const work = await tempDir('agora-e2e-failover');
  const daemons: Daemon[] = [];
  try {
    const zkUrl = zk.url('/agora');
    const masterPorts = [await freePort(), await freePort()];
    for (const [i, port] of masterPorts.entries()) {
      const d = startDaemon(`master${i + 1}`, [
        'master',
        '--zk',
        zkUrl,
        '--port',
        String(port),
        '--work_dir',
        `${work}/m${i + 1}`,
      ]);
      daemons.push(d);
      await d.waitForOutput(/master listening/);
    }
    const masters = daemons.slice();
    for (const i of [0, 1]) {
      const port = await freePort();
      // Below Linux's ephemeral range (32768+), where any port-0 socket of another test could hold a task port.
      const lo = 24000 + i * 100;
      const d = startDaemon(`agent${i + 1}`, [
        'agent',
        '--master',
        zkUrl,
        '--port',
        String(port),
        '--work_dir',
        `${work}/a${i + 1}`,
        '--resources',
        `cpus:2;mem:2048;disk:1000;ports:[${lo}-${lo + 99}]`,
        '--attributes',
        `rack:r${i + 1}`,
      ]);
      daemons.push(d);
      await d.waitForOutput(/agent listening/);
    }
    const marathonPort = await freePort();
    const marathon = startDaemon('marathon', [
      'marathon',
      '--master',
      zkUrl,
      '--redis',
      redis.url,
      '--http_port',
      String(marathonPort),
    ]);
    daemons.push(marathon);
    await marathon.waitForOutput(/marathon listening/);
    const api = `http://127.0.0.1:${marathonPort}`;

    const app = {
      id: '/web',
      cmd: 'python3 -m http.server $PORT0 --bind 127.0.0.1',
      cpus: 0.1,
      mem: 64,
      instances: 3,
      portDefinitions: [{ port: 0 }],
    };
    const created = await httpJson('POST', `${api}/v2/apps`, app);
    assert.is(created.status, 201, JSON.stringify(created.json));

    const running = await waitForRunningApp(api, '/web', 3);
    const taskIds = running.tasks.map((t) => t.id).sort();
    const ports = running.tasks.map((t) => t.ports[0] as number);
    for (const port of ports) assert.is(await waitForHttp(port), 200, `task on port ${port} answers HTTP`);
    const pids = ports.flatMap((p) => findProcesses('http.server', String(p)));
    assert.is(pids.length, 3, 'three task processes');

    // Who leads? Ask either master; both redirect to the leader.
    const redirect = await httpJson('GET', `http://127.0.0.1:${masterPorts[1]}/master/redirect`);
    assert.is(redirect.status, 307);
    const leaderPort = Number(/:(\d+)$/.exec(redirect.headers.get('location') ?? '')?.[1]);
    const leaderIndex = masterPorts.indexOf(leaderPort);
    assert.ok(leaderIndex >= 0, `leader port ${leaderPort} is one of ours`);
    const standbyPort = masterPorts[1 - leaderIndex] as number;

    masters[leaderIndex]?.kill('SIGKILL');
    await masters[leaderIndex]?.exited();

    // The standby leads, both agents re-register with the running tasks and marathon re-subscribes.
    const state = await waitFor(
      async () => {
        const r = await httpJson('GET', `http://127.0.0.1:${standbyPort}/state`).catch(() => undefined);
        if (r?.status !== 200) return undefined;
        const s = r.json as {
          activated_slaves: number;
          frameworks: Array<{ name: string; active: boolean; tasks: Array<{ id: string; state: string }> }>;
        };
        const fw = s.frameworks.find((f) => f.name === 'marathon');
        const runningTasks = fw?.tasks.filter((t) => t.state === 'TASK_RUNNING') ?? [];
        return s.activated_slaves === 2 && fw?.active && runningTasks.length === 3 ? s : undefined;
      },
      {
        timeoutMs: 90_000,
        intervalMs: 500,
        message: 'the new leader never saw both agents, marathon and 3 running tasks',
      },
    );
    const fwTasks = state.frameworks
      .find((f) => f.name === 'marathon')
      ?.tasks.map((t) => t.id)
      .sort();
    assert.equal(fwTasks, taskIds, 'the new leader knows the same tasks');

    for (const pid of pids) assert.ok(isAlive(pid), `task process ${pid} survived the failover`);
    const after = await httpJson('GET', `${api}/v2/apps/web`);
    const afterInfo = (after.json as { app: MarathonApp }).app;
    assert.is(afterInfo.tasksRunning, 3);
    assert.equal(afterInfo.tasks.map((t) => t.id).sort(), taskIds, 'marathon replaced no task');
    assert.is(afterInfo.lastTaskFailure, undefined, 'no task failed or was lost');

    const deleted = await httpJson('DELETE', `${api}/v2/apps/web`);
    assert.is(deleted.status, 200);
    await waitFor(() => pids.every((pid) => !isAlive(pid)), {
      timeoutMs: 30_000,
      intervalMs: 250,
      message: 'task processes still running after DELETE',
    });
    const gone = await httpJson('GET', `${api}/v2/apps/web`);
    assert.is(gone.status, 404);
  } finally {
    for (const d of daemons.reverse()) d.kill('SIGKILL');
    await Promise.all(daemons.map((d) => d.exited()));
    killProcessesUnder(work);
    await redis.stop();
    await zk.stop();
    await removeTempDir(work);
  }
});

test.run();
