/**
 * `unreachableStrategy` on a real cluster: a real master with short agent
 * ping timeouts, a real agent whose link to the master goes through a TCP
 * proxy that is cut (blackhole: no byte either way, so the master marks the
 * agent unreachable), a second agent, and Marathon on the file store. The
 * task goes Unreachable and still counts; it is replaced only once
 * `inactiveAfterSeconds` passed (across a Marathon restart), expunged after
 * `expungeAfterSeconds`, and killed when its agent comes back; a task whose
 * agent comes back before the inactive deadline is simply running again.
 */
import { join } from 'node:path';
import { type Agent, createAgent } from '@agora/agent';
import { silentLogger } from '@agora/common';
import { createMaster, type Master } from '@agora/master';
import { killProcessesUnder, removeTempDir, startTcpProxy, type TcpProxy, tempDir, waitFor } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { MarathonEvent } from '../../src/events/types.js';
import { createMarathon, type Marathon } from '../../src/marathon.js';
import { client } from '../api/harness.js';

interface TaskJson {
  id: string;
  state: string;
  slaveId: string;
  stagedAt: string;
}

interface Setup {
  work: string;
  master: Master;
  proxy: TcpProxy;
  agents: Agent[];
  marathon: Marathon;
  events: MarathonEvent[];
  http: ReturnType<typeof client>;
  startMarathon(): Promise<Marathon>;
  startSecondAgent(): Promise<void>;
  close(): Promise<void>;
}

async function setup(prefix: string): Promise<Setup> {
  const work = await tempDir(prefix);
  const master = createMaster(
    { port: 0, host: '127.0.0.1', agentPingTimeoutMs: 200, maxAgentPingTimeouts: 3, allocationIntervalMs: 100 },
    { logger: silentLogger() },
  );
  await master.start();
  const proxy = await startTcpProxy(master.port);
  const agents: Agent[] = [];
  const agent = (name: string, masterAddress: string): Agent =>
    createAgent(
      {
        master: masterAddress,
        port: 0,
        workDir: join(work, name),
        resources: 'cpus:2;mem:512;disk:100;ports:[31450-31459]',
        reconnectInitialMs: 100,
        reconnectMaxMs: 300,
      },
      { logger: silentLogger() },
    );
  const events: MarathonEvent[] = [];
  const s: Setup = {
    work,
    master,
    proxy,
    agents,
    marathon: undefined as unknown as Marathon,
    events,
    http: client(() => s.marathon.url),
    async startMarathon() {
      const m = createMarathon(
        { master: `127.0.0.1:${master.port}`, port: 0, stateDir: join(work, 'marathon'), declineRefuseSeconds: 1 },
        { logger: silentLogger() },
      );
      m.events.bus.onDidPublish((e) => events.push(e.event));
      s.marathon = m;
      await m.start();
      return m;
    },
    async startSecondAgent() {
      const b = agent('agent-b', `127.0.0.1:${master.port}`);
      agents.push(b);
      await b.start();
    },
    async close() {
      await s.marathon?.close();
      for (const a of agents) await a.close({ killTasks: true });
      await proxy.close();
      await master.close();
      killProcessesUnder(work);
      await removeTempDir(work);
    },
  };
  try {
    const a = agent('agent-a', proxy.address); // the one whose network is cut
    agents.push(a);
    await a.start();
    await s.startMarathon();
  } catch (err) {
    await s.close().catch(() => {});
    throw err;
  }
  return s;
}

async function tasksOf(s: Setup, id: string): Promise<TaskJson[]> {
  const r = await s.http.get(`/v2/apps${id}/tasks`);
  assert.is(r.status, 200, r.text);
  return r.body.tasks as TaskJson[];
}

function waitTasks(s: Setup, id: string, ok: (tasks: TaskJson[]) => boolean, what: string): Promise<TaskJson[]> {
  return waitFor(
    async () => {
      const tasks = await tasksOf(s, id);
      return ok(tasks) ? tasks : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 50, message: what },
  );
}

function instanceEvents(s: Setup, taskId: string): Array<{ condition: string; at: number }> {
  const instance = taskId.slice(0, taskId.lastIndexOf('._app.'));
  return s.events.flatMap((e) =>
    e.eventType === 'instance_changed_event' && e.instanceId === instance
      ? [{ condition: e.condition, at: Date.parse(e.timestamp) }]
      : [],
  );
}

/** Deploy a one-instance app on agent A alone, then start agent B: the task runs on A. */
async function deployOnAgentA(s: Setup, id: string, strategy: unknown): Promise<TaskJson> {
  const r = await s.http.post('/v2/apps', {
    id,
    cmd: 'sleep 1000',
    cpus: 0.1,
    mem: 16,
    instances: 1,
    portDefinitions: [],
    unreachableStrategy: strategy,
  });
  assert.is(r.status, 201, r.text);
  const [t] = await waitTasks(s, id, (ts) => ts.length === 1 && ts[0]!.state === 'TASK_RUNNING', 'running on A');
  await s.startSecondAgent();
  return t!;
}

const test = suite('marathon - unreachableStrategy with a cut agent');

test('unreachable: counted until inactiveAfterSeconds (even across a restart), replaced, expunged, killed on return', async () => {
  const s = await setup('agora-unreachable-');
  try {
    const app = '/unreachable/replaced';
    const t = await deployOnAgentA(s, app, { inactiveAfterSeconds: 2, expungeAfterSeconds: 4 });

    s.proxy.partition('blackhole');
    const during = await waitTasks(s, app, (ts) => ts[0]?.state === 'TASK_UNREACHABLE', 'the task Unreachable');
    assert.equal(
      during.map((x) => x.id),
      [t.id],
      'still counted: no replacement',
    );
    const unreachableAt = instanceEvents(s, t.id).find((e) => e.condition === 'Unreachable')?.at;
    assert.ok(unreachableAt !== undefined, 'instance_changed_event Unreachable');

    // A failover while it is unreachable: the deadlines come from the stored time.
    await s.marathon.close();
    await s.startMarathon();
    assert.equal(
      (await tasksOf(s, app)).map((x) => [x.id, x.state]),
      [[t.id, 'TASK_UNREACHABLE']],
    );

    const replaced = await waitTasks(
      s,
      app,
      (ts) => ts.some((x) => x.id !== t.id && x.state === 'TASK_RUNNING'),
      'a replacement running',
    );
    const replacement = replaced.find((x) => x.id !== t.id)!;
    assert.ok(
      Date.parse(replacement.stagedAt) - unreachableAt >= 1500,
      `replacement staged ${Date.parse(replacement.stagedAt) - unreachableAt} ms after Unreachable`,
    );
    assert.is.not(replacement.slaveId, t.slaveId);

    const expunged = await waitTasks(s, app, (ts) => !ts.some((x) => x.id === t.id), 'the unreachable task expunged');
    assert.equal(
      expunged.map((x) => [x.id, x.state]),
      [[replacement.id, 'TASK_RUNNING']],
    );
    const conditions = instanceEvents(s, t.id);
    const inactive = conditions.find((e) => e.condition === 'UnreachableInactive');
    assert.ok(inactive !== undefined, `UnreachableInactive published: ${JSON.stringify(conditions)}`);
    assert.ok(inactive.at - unreachableAt >= 1500, 'inactive after inactiveAfterSeconds');
    assert.ok(inactive.at <= Date.parse(replacement.stagedAt), 'replaced only once inactive');
    const last = conditions.at(-1)!;
    assert.is(last.condition, 'UnreachableInactive', 'the expunge is an instance_changed_event');
    assert.ok(last.at - unreachableAt >= 3500, `expunged ${last.at - unreachableAt} ms after Unreachable`);

    // The agent comes back with the expunged task still running: Marathon does not know it and kills it.
    s.proxy.heal();
    await waitFor(
      () =>
        s.events.some(
          (e) => e.eventType === 'unknown_instance_terminated_event' && t.id.startsWith(`${e.instanceId}._app.`),
        )
          ? true
          : undefined,
      { timeoutMs: 20_000, intervalMs: 50, message: 'the returning expunged task killed' },
    );
    assert.equal(
      (await tasksOf(s, app)).map((x) => x.id),
      [replacement.id],
    );
  } finally {
    await s.close();
  }
});

test('an agent back before inactiveAfterSeconds: the task is running again and never replaced', async () => {
  const s = await setup('agora-unreachable-back-');
  try {
    const app = '/unreachable/back';
    const t = await deployOnAgentA(s, app, { inactiveAfterSeconds: 6, expungeAfterSeconds: 12 });

    s.proxy.partition('blackhole');
    await waitTasks(s, app, (ts) => ts.length === 1 && ts[0]!.state === 'TASK_UNREACHABLE', 'the task Unreachable');
    const unreachableAt = instanceEvents(s, t.id).find((e) => e.condition === 'Unreachable')!.at;
    s.proxy.heal();
    await waitTasks(s, app, (ts) => ts.length === 1 && ts[0]!.state === 'TASK_RUNNING', 'the task running again');
    assert.ok(Date.now() - unreachableAt < 6000, 'back before the inactive deadline (else the test proves nothing)');

    // Past the inactive deadline: still the one task, never inactive, never replaced.
    await waitFor(() => (Date.now() - unreachableAt > 7500 ? true : undefined), { timeoutMs: 10_000 });
    assert.equal(
      (await tasksOf(s, app)).map((x) => [x.id, x.state]),
      [[t.id, 'TASK_RUNNING']],
    );
    const conditions = instanceEvents(s, t.id).map((e) => e.condition);
    assert.is(conditions.at(-1), 'Running', JSON.stringify(conditions));
    assert.not.ok(instanceEvents(s, t.id).some((e) => e.condition === 'UnreachableInactive'));
    const launched = s.events.filter(
      (e) => e.eventType === 'status_update_event' && e.appId === app && e.taskId !== t.id,
    );
    assert.equal(launched, [], 'no other task was ever launched');
  } finally {
    await s.close();
  }
});

test('scaled to 0 while unreachable: the task is expunged, the deployment ends, and it is killed when it returns', async () => {
  const s = await setup('agora-unreachable-scale-');
  try {
    const app = '/unreachable/scaled';
    const t = await deployOnAgentA(s, app, { inactiveAfterSeconds: 60, expungeAfterSeconds: 120 });

    s.proxy.partition('blackhole');
    await waitTasks(s, app, (ts) => ts[0]?.state === 'TASK_UNREACHABLE', 'the task Unreachable');
    const r = await s.http.put(`/v2/apps${app}`, { instances: 0 });
    assert.is(r.status, 200, r.text);
    await waitFor(
      async () => {
        const a = await s.http.get(`/v2/apps${app}`);
        return a.body.app.tasks.length === 0 && a.body.app.deployments.length === 0 ? true : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 50, message: 'the unreachable task expunged and the scale deployment done' },
    );

    s.proxy.heal();
    await waitFor(
      () =>
        s.events.some(
          (e) => e.eventType === 'unknown_instance_terminated_event' && t.id.startsWith(`${e.instanceId}._app.`),
        )
          ? true
          : undefined,
      { timeoutMs: 20_000, intervalMs: 50, message: 'the returning task killed' },
    );
  } finally {
    await s.close();
  }
});

test.run();
