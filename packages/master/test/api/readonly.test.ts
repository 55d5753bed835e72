/**
 * Mesos' read-only endpoints: /state-summary, /frameworks, /slaves, /tasks
 * (filters and paging), /flags, /version, /metrics/snapshot and the
 * Prometheus /metrics, on a real master with a framework, an agent and tasks.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type AgentPeer,
  cleanup,
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
} from '../support/harness.js';

const test = suite('read-only endpoints');

type Json = Record<string, unknown>;

async function withTasks(): Promise<{ t: TestMaster; s: SchedulerPeer; a: AgentPeer }> {
  const t = await startMaster();
  const s = await subscribeScheduler(t);
  const a = await registerAgent(t);
  const offer = await nextOffer(s);
  s.send(
    launchCall(
      s,
      [offer.id.value],
      ['t1', 't2', 't3'].map((id) => taskInfo(id, a.agentId, [scalar('cpus', 1), scalar('mem', 64)])),
      3600,
    ),
  );
  await waitFor(
    async () => {
      const state = await t.getJson('/state');
      return ((state['frameworks'] as Json[])[0]?.['tasks'] as unknown[] | undefined)?.length === 3 ? true : undefined;
    },
    { message: 'three tasks' },
  );
  return { t, s, a };
}

async function get(t: TestMaster, path: string): Promise<Response> {
  return fetch(`${t.master.url}${path}`);
}

test('state-summary, frameworks, slaves and flags', async () => {
  const { t, s, a } = await withTasks();
  try {
    const summary = await t.getJson('/state-summary');
    const slave = (summary['slaves'] as Json[])[0]!;
    assert.is(slave['id'], a.agentId);
    assert.is(slave['TASK_STAGING'], 3);
    assert.equal(slave['framework_ids'], [s.frameworkId]);
    const fw = (summary['frameworks'] as Json[])[0]!;
    assert.is(fw['TASK_STAGING'], 3);
    assert.equal(fw['slave_ids'], [a.agentId]);
    assert.not.ok('tasks' in fw, 'a summary lists no tasks');

    const frameworks = await t.getJson(`/frameworks?framework_id=${s.frameworkId}`);
    assert.is((frameworks['frameworks'] as Json[]).length, 1);
    assert.is(((await t.getJson('/master/frameworks?framework_id=nope'))['frameworks'] as Json[]).length, 0);
    assert.is(((await t.getJson(`/slaves?slave_id=${a.agentId}`))['slaves'] as Json[]).length, 1);
    assert.is(((await t.getJson('/slaves?slave_id=nope'))['slaves'] as Json[]).length, 0);
    const flags = (await t.getJson('/flags'))['flags'] as Record<string, string>;
    assert.is(flags['max_agent_ping_timeouts'], '1000');
    const version = await t.getJson('/version');
    assert.is(version['version'], '0.1.0');
  } finally {
    await cleanup(t, s, a);
  }
});

test('/tasks filters and pages; bad paging parameters are 400', async () => {
  const { t, s, a } = await withTasks();
  try {
    const all = (await t.getJson('/tasks'))['tasks'] as Json[];
    assert.is(all.length, 3);
    const page = (await t.getJson('/tasks?limit=2&offset=1'))['tasks'] as Json[];
    assert.equal(
      page.map((x) => x['id']),
      all.slice(1, 3).map((x) => x['id']),
    );
    assert.is(((await t.getJson('/tasks?task_id=t2'))['tasks'] as Json[])[0]!['id'], 't2');
    assert.is(((await t.getJson('/tasks?framework_id=nope'))['tasks'] as Json[]).length, 0);
    for (const bad of ['limit=-1', 'offset=x', 'order=up']) assert.is((await get(t, `/tasks?${bad}`)).status, 400, bad);
  } finally {
    await cleanup(t, s, a);
  }
});

test('/metrics/snapshot uses Mesos names; /metrics is Prometheus text', async () => {
  const { t, s, a } = await withTasks();
  try {
    const m = (await t.getJson('/metrics/snapshot')) as Record<string, number>;
    assert.is(m['master/elected'], 1);
    assert.is(m['master/slaves_active'], 1);
    assert.is(m['master/frameworks_active'], 1);
    assert.is(m['master/cpus_total'], 4);
    assert.is(m['master/cpus_used'], 3);
    assert.is(m['master/cpus_percent'], 0.75);
    assert.is(m['master/mem_total'], 4096);
    assert.is(m['master/tasks_staging'], 3);
    assert.is(m['master/tasks_running'], 0);
    assert.is(m['master/slaves_unreachable'], 0);
    assert.ok((m['registrar/stores'] ?? 0) >= 2, 'recovery and the agent admission were stored');
    const res = await get(t, '/metrics');
    assert.is(res.status, 200);
    const text = await res.text();
    assert.match(text, /^# TYPE mesos_master_cpus_total gauge$/m);
    assert.match(text, /^mesos_master_cpus_total 4$/m);
    assert.match(text, /^mesos_master_tasks_staging 3$/m);
  } finally {
    await cleanup(t, s, a);
  }
});

test.run();
