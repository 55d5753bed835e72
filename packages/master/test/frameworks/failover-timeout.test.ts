/**
 * Framework lifecycle: a disconnected framework keeps its tasks until its
 * failover_timeout expires (FakeClock), then it is torn down (tasks killed on
 * their agents, framework among the completed ones); re-subscribing within the
 * timeout restores offers and updates. The operator's /teardown ends a
 * framework at once.
 */
import { FakeClock, silentLogger, uuidBytes } from '@agora/common';
import { TaskState } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createMaster } from '../../src/index.js';
import { longTimeout } from '../../src/routing/framework-lifecycle.js';
import {
  type AgentPeer,
  agentBarrier,
  cleanup,
  connectScheduler,
  CallType,
  EventType,
  launchCall,
  nextOffer,
  registerAgent,
  scalar,
  type SchedulerPeer,
  startMaster,
  subscribeScheduler,
  taskInfo,
  type TestMaster,
  waitFor,
  waitForFramework,
} from '../support/harness.js';

const test = suite('framework failover timeout and teardown');

interface Setup {
  t: TestMaster;
  s: SchedulerPeer;
  agent: AgentPeer;
}

async function withTask(failoverTimeoutSeconds: number): Promise<Setup> {
  const t = await startMaster();
  const s = await subscribeScheduler(t, { failoverTimeoutSeconds });
  const agent = await registerAgent(t);
  const offer = await nextOffer(s);
  s.send(launchCall(s, [offer.id.value], [taskInfo('t1', agent.agentId, [scalar('cpus', 1), scalar('mem', 64)])], 0));
  await agent.next((m) => m.run_task !== null, 'RunTask');
  return { t, s, agent };
}

async function completed(t: TestMaster): Promise<Array<Record<string, unknown>>> {
  return (await t.getJson('/state'))['completed_frameworks'] as Array<Record<string, unknown>>;
}

test('tasks keep running until failover_timeout expires; then the framework is torn down and its tasks killed', async () => {
  const r = await withTask(10);
  try {
    const id = r.s.frameworkId;
    r.s.close();
    await waitForFramework(r.t, id, (f) => f['connected'] === false);
    r.t.clock.advance(9_999); // timers run synchronously in advance(): /state shows their effect at once
    assert.equal(await completed(r.t), [], 'not yet');
    const fw = await waitForFramework(r.t, id, () => true);
    assert.is((fw['tasks'] as unknown[]).length, 1, 'its task is kept');

    r.t.clock.advance(1);
    const shutdown = await r.agent.next((m) => m.shutdown_framework !== null, 'ShutdownFramework');
    assert.is(shutdown.shutdown_framework!.framework_id.value, id);
    const tm = r.t;
    const done = await waitFor(async () => (await completed(tm)).find((f) => f['id'] === id), {
      message: 'framework completed',
    });
    const tasks = done['completed_tasks'] as Array<Record<string, unknown>>;
    assert.is(tasks[0]?.['state'], 'TASK_KILLED');
    assert.is(((await tm.getJson('/state'))['frameworks'] as unknown[]).length, 0);

    // It cannot come back under that id.
    const late = await connectScheduler(r.t);
    try {
      late.send({
        type: CallType.SUBSCRIBE,
        subscribe: { framework_info: { user: 'tester', name: 'late', id: { value: id } } },
      });
      const error = await late.next((e) => e.type === EventType.ERROR, 'ERROR');
      assert.match(error.error!.message, /torn down/);
    } finally {
      late.close();
    }
  } finally {
    await cleanup(r.t, r.s, r.agent);
  }
});

test('re-subscribing within failover_timeout keeps the framework, its tasks, offers and updates', async () => {
  const r = await withTask(10);
  let again: SchedulerPeer | undefined;
  try {
    const id = r.s.frameworkId;
    r.s.close();
    await waitForFramework(r.t, id, (f) => f['connected'] === false);
    r.t.clock.advance(5_000);
    again = await subscribeScheduler(r.t, { id, failoverTimeoutSeconds: 10 });
    assert.is(again.frameworkId, id);
    await nextOffer(again, 'offers are restored');
    const uuid = uuidBytes();
    r.agent.send({
      status_update: {
        framework_id: { value: id },
        status: { task_id: { value: 't1' }, state: TaskState.TASK_RUNNING, uuid, agent_id: { value: r.agent.agentId } },
      },
    });
    const update = await again.next((e) => e.type === EventType.UPDATE, 'updates are forwarded');
    assert.is(update.update!.status.state, TaskState.TASK_RUNNING);
    r.t.clock.advance(60_000);
    assert.equal(await completed(r.t), [], 'the cancelled timer never fires');
    await agentBarrier(r.t, r.agent);
    assert.is(r.agent.all((m) => m.shutdown_framework !== null).length, 0);
  } finally {
    await cleanup(r.t, r.s, r.agent, again);
  }
});

test("failover_timeout 0 (Mesos' default) tears a framework down as soon as its connection breaks", async () => {
  const r = await withTask(0);
  try {
    const id = r.s.frameworkId;
    r.s.close();
    await waitFor(
      () => {
        r.t.clock.advance(0);
        return r.agent.all((m) => m.shutdown_framework !== null).length === 1 ? true : undefined;
      },
      { message: 'ShutdownFramework' },
    );
    const tm = r.t;
    await waitFor(async () => (await completed(tm)).some((f) => f['id'] === id), { message: 'completed' });
  } finally {
    await cleanup(r.t, r.s, r.agent);
  }
});

async function postTeardown(t: TestMaster, body: string): Promise<Response> {
  return fetch(`${t.master.url}/teardown`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body,
  });
}

test('operator /teardown (form frameworkId=) tears a framework down; bad requests are 400', async () => {
  const r = await withTask(3600);
  try {
    assert.is((await postTeardown(r.t, '')).status, 400);
    assert.is((await postTeardown(r.t, 'frameworkId=nope')).status, 400);
    assert.is(r.agent.all((m) => m.shutdown_framework !== null).length, 0);
    const res = await postTeardown(r.t, `frameworkId=${encodeURIComponent(r.s.frameworkId)}`);
    assert.is(res.status, 200);
    await r.agent.next((m) => m.shutdown_framework !== null, 'ShutdownFramework');
    const closed = await r.s.waitClosed();
    assert.is(closed.code, 1000);
    assert.ok((await completed(r.t)).some((f) => f['id'] === r.s.frameworkId));
  } finally {
    await cleanup(r.t, r.s, r.agent);
  }
});

test('operator /api/v1 TEARDOWN does the same', async () => {
  const r = await withTask(3600);
  try {
    const res = await fetch(`${r.t.master.url}/api/v1`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: 'TEARDOWN', teardown: { framework_id: { value: r.s.frameworkId } } }),
    });
    assert.is(res.status, 200);
    await r.agent.next((m) => m.shutdown_framework !== null, 'ShutdownFramework');
  } finally {
    await cleanup(r.t, r.s, r.agent);
  }
});

test('timeouts longer than 24.8 days (a Node timer limit) wait their whole length', () => {
  const clock = new FakeClock();
  let fired = 0;
  longTimeout(clock, () => fired++, 604_800_000 * 4); // 4 weeks
  clock.advance(2 ** 31 - 1);
  assert.is(fired, 0);
  clock.advance(604_800_000 * 4 - (2 ** 31 - 1) - 1);
  assert.is(fired, 0);
  clock.advance(1);
  assert.is(fired, 1);
  const cancelled = longTimeout(clock, () => fired++, 2 ** 32);
  clock.advance(2 ** 31);
  cancelled.dispose();
  clock.advance(2 ** 32);
  assert.is(fired, 1);
});

test("on the real clock a week's failover_timeout (Marathon's default) does not fire at once", async () => {
  const master = createMaster({ port: 0, host: '127.0.0.1' }, { logger: silentLogger() });
  await master.start();
  const t: TestMaster = {
    master,
    clock: new FakeClock(), // unused: this master runs on the real clock
    wsUrl: (path) => `ws://127.0.0.1:${master.port}/agora/v1/${path}`,
    getJson: async (path) => (await (await fetch(`${master.url}${path}`)).json()) as Record<string, unknown>,
    close: () => master.close(),
  };
  let again: SchedulerPeer | undefined;
  const s = await subscribeScheduler(t, { failoverTimeoutSeconds: 604_800 });
  try {
    s.close();
    await waitForFramework(t, s.frameworkId, (f) => f['connected'] === false);
    // An overflowing Node timer fires after 1 ms; give it far longer than that.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(await completed(t), []);
    again = await subscribeScheduler(t, { id: s.frameworkId, failoverTimeoutSeconds: 604_800 });
    assert.is(again.frameworkId, s.frameworkId);
  } finally {
    again?.close();
    await master.close();
  }
});

test.run();
