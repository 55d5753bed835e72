/**
 * Usage per task on the master: an agent's UsageReport (sent over its real WebSocket connection) is kept per
 * task and shown as `statistics` (Mesos' ResourceStatistics JSON names) in the task JSON of /state and /tasks;
 * the next report replaces it; a report naming a task of another agent or an unknown task changes nothing; the
 * statistics are dropped when the task ends.
 */
import { type AgentToMaster, type agora, TaskState } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type AgentPeer,
  agentBarrier,
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

const test = suite('task usage in /state');

type Json = Record<string, unknown>;

function usage(
  frameworkId: string,
  taskId: string,
  statistics: agora.v1.ResourceStatistics.$Properties,
): AgentToMaster {
  return {
    usage: { tasks: [{ framework_id: { value: frameworkId }, task_id: { value: taskId }, statistics }] },
  };
}

async function taskOf(t: TestMaster, taskId: string): Promise<Json | undefined> {
  const state = (await t.getJson('/state')) as { frameworks: Array<{ tasks: Json[]; completed_tasks: Json[] }> };
  for (const f of state.frameworks) {
    const found = [...f.tasks, ...f.completed_tasks].find((x) => x['id'] === taskId);
    if (found !== undefined) return found;
  }
  return undefined;
}

test('the latest report is shown as statistics until the task ends', async () => {
  let t: TestMaster | undefined;
  let s: SchedulerPeer | undefined;
  let a: AgentPeer | undefined;
  let b: AgentPeer | undefined;
  try {
    t = await startMaster();
    s = await subscribeScheduler(t);
    a = await registerAgent(t, { hostname: 'a.test' });
    const offer = await nextOffer(s);
    const agentA = a;
    const agentId = offer.agent_id.value;
    assert.is(agentId, a.agentId);
    s.send(launchCall(s, [offer.id.value], [taskInfo('t1', agentId, [scalar('cpus', 1), scalar('mem', 64)])]));
    await a.next((m) => m.run_task !== null, 'RunTask');
    b = await registerAgent(t, { hostname: 'b.test' });

    const stats = {
      timestamp: 1_700_000_000.5,
      cpus_user_time_secs: 1.25,
      cpus_system_time_secs: 0.5,
      cpus_limit: 1.1,
      mem_rss_bytes: 12_345_678,
      mem_limit_bytes: 67_108_864,
      processes: 3,
    };
    a.send(usage(s.frameworkId, 't1', stats));
    const shown = await waitFor(async () => (await taskOf(t!, 't1'))?.['statistics'], {
      message: 'statistics in /state',
      intervalMs: 20,
    });
    assert.equal(shown, stats);
    const tasks = (await t.getJson('/tasks?task_id=t1')) as { tasks: Json[] };
    assert.equal(tasks.tasks[0]?.['statistics'], stats);

    // Another agent cannot report for t1; an unknown task is ignored.
    b.send(usage(s.frameworkId, 't1', { timestamp: 1, mem_rss_bytes: 1 }));
    b.send(usage(s.frameworkId, 'nope', { timestamp: 1 }));
    await agentBarrier(t, b);
    assert.equal((await taskOf(t, 't1'))?.['statistics'], stats);

    // The next report replaces the previous one.
    const next = { timestamp: 1_700_000_010, cpus_user_time_secs: 2.5, mem_rss_bytes: 22_000_000 };
    a.send(usage(s.frameworkId, 't1', next));
    await waitFor(
      async () =>
        ((await taskOf(t!, 't1'))?.['statistics'] as Json | undefined)?.['timestamp'] === next.timestamp || undefined,
      {
        message: 'the second report',
        intervalMs: 20,
      },
    );
    assert.equal((await taskOf(t, 't1'))?.['statistics'], next);

    // The task ends: no statistics any more (and a late report does not bring them back).
    agentA.send({
      status_update: {
        framework_id: { value: s.frameworkId },
        status: {
          task_id: { value: 't1' },
          state: TaskState.TASK_FINISHED,
          agent_id: { value: agentId },
          timestamp: 1_700_000_020,
          uuid: new Uint8Array([1, 2, 3, 4]),
        },
      },
    });
    await waitFor(async () => (await taskOf(t!, 't1'))?.['state'] === 'TASK_FINISHED' || undefined, {
      message: 'TASK_FINISHED in /state',
      intervalMs: 20,
    });
    agentA.send(usage(s.frameworkId, 't1', next));
    await agentBarrier(t, agentA);
    const ended = await taskOf(t, 't1');
    assert.is(ended?.['statistics'], undefined);
  } finally {
    await cleanup(t, s, a, b);
  }
});

test.run();
