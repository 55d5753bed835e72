/**
 * Frameworks that do not checkpoint (FrameworkInfo.checkpoint = false, Mesos' default): when their agent's
 * connection breaks, their tasks there are TASK_LOST at once (REASON_AGENT_DISCONNECTED, from the master, no
 * uuid); tasks of checkpointing frameworks are left alone. When the agent re-registers with the lost tasks, the
 * master does not take them back and shuts the framework down on the agent (its tasks are killed).
 */
import { TaskState, TaskStatusReason, TaskStatusSource } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type AgentPeer,
  agentBarrier,
  agentInfo,
  cleanup,
  connectAgentChannel,
  EventType,
  launchCall,
  nextOffer,
  registerAgent,
  scalar,
  type SchedulerPeer,
  schedulerBarrier,
  startMaster,
  subscribeScheduler,
  taskInfo,
  type TestMaster,
  waitForFramework,
} from '../support/harness.js';

const test = suite('non-checkpointing frameworks on agent disconnect');

type Json = Record<string, unknown>;

test('TASK_LOST at once for non-checkpointing frameworks; killed when the agent comes back', async () => {
  let t: TestMaster | undefined;
  let keep: SchedulerPeer | undefined;
  let plain: SchedulerPeer | undefined;
  let agent: AgentPeer | undefined;
  let back: Awaited<ReturnType<typeof connectAgentChannel>> | undefined;
  try {
    t = await startMaster();
    keep = await subscribeScheduler(t, { name: 'keep', checkpoint: true });
    plain = await subscribeScheduler(t, { name: 'plain', checkpoint: false });
    agent = await registerAgent(t);
    for (const [s, id] of [
      [keep, 't-keep'],
      [plain, 't-plain'],
    ] as const) {
      const offer = await nextOffer(s, `an offer for ${id}`);
      s.send(
        launchCall(s, [offer.id.value], [taskInfo(id, agent.agentId, [scalar('cpus', 1), scalar('mem', 64)])], 3600),
      );
      await agent.next((m) => m.run_task?.task.task_id.value === id, `RunTask ${id}`);
    }
    const agentId = agent.agentId;

    agent.close();
    const lost = await plain.next((e) => e.type === EventType.UPDATE, 'TASK_LOST for the plain framework');
    const status = lost.update!.status;
    assert.is(status.task_id.value, 't-plain');
    assert.is(status.state, TaskState.TASK_LOST);
    assert.is(status.reason, TaskStatusReason.REASON_AGENT_DISCONNECTED);
    assert.is(status.source, TaskStatusSource.SOURCE_MASTER);
    assert.is(status.uuid === null || status.uuid.length === 0, true, 'master-made: no uuid');

    const plainState = await waitForFramework(t, plain.frameworkId, (f) =>
      ((f['completed_tasks'] as Json[]) ?? []).some((x) => x['id'] === 't-plain'),
    );
    assert.equal(
      ((plainState['completed_tasks'] as Json[]) ?? []).map((x) => x['state']),
      ['TASK_LOST'],
    );
    // The checkpointing framework heard nothing; its task is still known as launched.
    await schedulerBarrier(keep, agentId);
    assert.is(keep.all((e) => e.type === EventType.UPDATE && e.update!.status.task_id.value === 't-keep').length, 0);
    const keepState = await waitForFramework(t, keep.frameworkId, () => true);
    assert.equal(
      ((keepState['tasks'] as Json[]) ?? []).map((x) => [x['id'], x['state']]),
      [['t-keep', 'TASK_STAGING']],
    );

    // The agent comes back with both tasks: the checkpointing one is kept, the lost one's framework is shut down.
    back = await connectAgentChannel(t);
    const task = (id: string, frameworkId: string) => ({
      name: id,
      task_id: { value: id },
      framework_id: { value: frameworkId },
      agent_id: { value: agentId },
      state: TaskState.TASK_RUNNING,
      resources: [scalar('cpus', 1), scalar('mem', 64)],
    });
    back.send({
      reregister: {
        agent_info: agentInfo({}, agentId),
        tasks: [task('t-keep', keep.frameworkId), task('t-plain', plain.frameworkId)],
        frameworks: [
          { framework_info: { user: 'tester', name: 'keep', id: { value: keep.frameworkId }, checkpoint: true } },
          { framework_info: { user: 'tester', name: 'plain', id: { value: plain.frameworkId } } },
        ],
      },
    });
    await back.next((m) => m.reregistered !== null, 'Reregistered');
    const shutdown = await back.next((m) => m.shutdown_framework !== null, 'ShutdownFramework');
    assert.is(shutdown.shutdown_framework!.framework_id.value, plain.frameworkId);
    await agentBarrier(t, back);
    assert.is(back.all((m) => m.shutdown_framework !== null).length, 1, 'only the non-checkpointing framework');
    await schedulerBarrier(plain, agentId);
    assert.is(plain.all((e) => e.type === EventType.UPDATE && e.update!.status.task_id.value === 't-plain').length, 1);

    const state = (await t.getJson('/state')) as { frameworks: Json[] };
    const active = state.frameworks.flatMap((f) => (f['tasks'] as Json[]).map((x) => [x['id'], x['state']]));
    assert.equal(active, [['t-keep', 'TASK_STAGING']], 'the lost task is not taken back');
  } finally {
    back?.close();
    await cleanup(t, keep, plain, agent);
  }
});

test.run();
