/**
 * What a newcomer does after `npm install && npm start`: `agora local` runs a
 * master, three agents and marathon in one process; POSTing the README's app
 * brings 3 real HTTP servers up on their assigned ports, visible in marathon
 * and the master's /state; DELETE stops them; Ctrl-C leaves no task behind.
 */
import { removeTempDir, tempDir, waitFor } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  findProcesses,
  killProcessesUnder,
  httpJson,
  isAlive,
  startDaemon,
  waitForHttp,
  waitForRunningApp,
} from '../support/processes.js';

const test = suite('e2e: agora local runs the README tour');

test('deploy, inspect, delete and stop with no process left behind', async () => {
  const work = await tempDir('agora-e2e-local');
  const local = startDaemon('local', [
    'local',
    '--work_dir',
    work,
    '--master_port',
    '0',
    '--agent_port',
    '0',
    '--marathon_port',
    '0',
    // Not the default 31000+: other test files run agents with task ports there at the same time. Below Linux's
    // ephemeral range (32768+), where any port-0 socket of another test could take a task's port.
    '--task_ports_from',
    '27000',
  ]);
  try {
    await local.waitForOutput(/Press Ctrl-C/, 60_000);
    const master = (await local.waitForOutput(/master\s+(http:\/\/\S+)/))[1] as string;
    const marathon = (await local.waitForOutput(/marathon\s+(http:\/\/\S+)/))[1] as string;

    const app = {
      id: '/web',
      cmd: 'python3 -m http.server $PORT0 --bind 127.0.0.1',
      cpus: 0.1,
      mem: 64,
      instances: 3,
      portDefinitions: [{ port: 0 }],
    };
    const created = await httpJson('POST', `${marathon}/v2/apps`, app);
    assert.is(created.status, 201, JSON.stringify(created.json));
    assert.ok(created.headers.get('location')?.endsWith('/web'), 'Location names the app');

    const info = await waitForRunningApp(marathon, '/web', 3);
    const ports = info.tasks.map((t) => t.ports[0] as number);
    assert.is(new Set(ports).size, 3, 'three distinct host ports');
    for (const port of ports) assert.is(await waitForHttp(port), 200, `task on port ${port} answers HTTP`);
    const state = await httpJson('GET', `${master}/state`);
    const fw = (
      state.json as { frameworks: Array<{ name: string; tasks: Array<{ id: string; state: string }> }> }
    ).frameworks.find((f) => f.name === 'marathon');
    assert.equal(
      fw?.tasks
        .filter((t) => t.state === 'TASK_RUNNING')
        .map((t) => t.id)
        .sort(),
      info.tasks.map((t) => t.id).sort(),
      "the master's /state shows the same running tasks",
    );
    const pids = ports.flatMap((p) => findProcesses('http.server', String(p)));
    assert.is(pids.length, 3);

    const deleted = await httpJson('DELETE', `${marathon}/v2/apps/web`);
    assert.is(deleted.status, 200);
    await waitFor(() => pids.every((pid) => !isAlive(pid)), {
      timeoutMs: 30_000,
      intervalMs: 250,
      message: 'task processes still running after DELETE',
    });

    // Ctrl-C with a task running: it must not outlive the cluster.
    const again = await httpJson('POST', `${marathon}/v2/apps`, { ...app, id: '/again', instances: 1 });
    assert.is(again.status, 201);
    const one = await waitForRunningApp(marathon, '/again', 1);
    const lastPids = findProcesses('http.server', String(one.tasks[0]?.ports[0]));
    assert.is(lastPids.length, 1);
    local.kill('SIGINT');
    const code = await local.exited();
    assert.is(code, 0, local.output());
    for (const pid of lastPids) assert.not.ok(isAlive(pid), 'no task process is left behind');
  } finally {
    local.kill('SIGKILL');
    await local.exited();
    killProcessesUnder(work);
    await removeTempDir(work);
  }
});

test.run();
