/**
 * A real network cut-off: a real agent process (the CLI) runs a real task;
 * SIGSTOP freezes it, so it answers no pings. The master marks it unreachable
 * (TASK_UNREACHABLE to the partition-aware framework), and after SIGCONT the
 * agent reconnects, re-registers with the task still running, and the task is
 * RUNNING on the master again.
 */
import { FakeClock, silentLogger } from '@agora/common';
import { agora, TaskState } from '@agora/proto';
import { removeTempDir, tempDir } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createMaster } from '../../src/index.js';
import { startAgentProcess } from '../support/agent-process.js';
import {
  CallType,
  EventType,
  launchCall,
  nextOffer,
  scalar,
  subscribeScheduler,
  type TestMaster,
  taskInfo,
  waitFor,
} from '../support/harness.js';

const test = suite('a paused agent process');
const PARTITION_AWARE = agora.v1.FrameworkInfo.Capability.Type.PARTITION_AWARE;

test('SIGSTOP makes the agent unreachable; after SIGCONT it re-registers and its task is running again', async () => {
  const dir = await tempDir('agora-paused');
  const master = createMaster(
    { port: 0, host: '127.0.0.1', agentPingTimeoutMs: 200, maxAgentPingTimeouts: 3, allocationIntervalMs: 200 },
    { logger: silentLogger() },
  );
  await master.start();
  const t: TestMaster = {
    master,
    clock: new FakeClock(), // unused: this master runs on the real clock
    wsUrl: (path) => `ws://127.0.0.1:${master.port}/agora/v1/${path}`,
    async getJson(path) {
      const res = await fetch(`${master.url}${path}`);
      return (await res.json()) as Record<string, unknown>;
    },
    close: () => master.close(),
  };
  const agent = await startAgentProcess(`127.0.0.1:${master.port}`, dir, 'cpus:2;mem:512;disk:100;ports:[42000-42010]');
  const s = await subscribeScheduler(t, { capabilities: [PARTITION_AWARE] });
  // Acknowledge every reliable update, as a scheduler must (the agent forwards a task's next update only then).
  s.channel.onDidReceive((e) => {
    const status = e.update?.status;
    if (status?.uuid && status.uuid.length > 0 && status.agent_id) {
      s.send({
        type: CallType.ACKNOWLEDGE,
        framework_id: { value: s.frameworkId },
        acknowledge: { agent_id: status.agent_id, task_id: status.task_id, uuid: status.uuid },
      });
    }
  });
  try {
    // The agent process starts (tsx) and registers first: allow for a loaded machine.
    const offer = await nextOffer(s, 'an offer from the real agent', 30_000);
    const agentId = offer.agent_id.value;
    s.send(launchCall(s, [offer.id.value], [taskInfo('sleeper', agentId, [scalar('cpus', 0.1), scalar('mem', 32)])]));
    await s
      .next((e) => e.update?.status.state === TaskState.TASK_RUNNING, 'TASK_RUNNING', 30_000)
      .catch((err) => {
        throw new Error(
          `${(err as Error).message}; agent said: ${agent.output().slice(-3000)}; events: ${JSON.stringify(s.received.map((e) => e.update?.status ?? e.type))}`,
        );
      });

    agent.child.kill('SIGSTOP');
    const unreachable = await s.next(
      (e) => e.type === EventType.UPDATE && e.update?.status.state === TaskState.TASK_UNREACHABLE,
      'TASK_UNREACHABLE',
      10_000,
    );
    assert.is(unreachable.update!.status.task_id.value, 'sleeper');
    const during = await t.getJson('/state');
    assert.is(during['unreachable_slaves'], 1);
    assert.equal(during['slaves'], []);

    agent.child.kill('SIGCONT');
    const back = await waitFor(
      async () => {
        const state = await t.getJson('/state');
        const slaves = state['slaves'] as Array<Record<string, unknown>>;
        const fw = (state['frameworks'] as Array<Record<string, unknown>>)[0];
        const task = (fw?.['tasks'] as Array<Record<string, unknown>> | undefined)?.[0];
        return slaves.length === 1 && task?.['state'] === 'TASK_RUNNING' ? { state, slave: slaves[0]! } : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 100, message: 'the agent back with its running task' },
    );
    assert.is(back.slave['id'], agentId, 'same agent id');
    assert.is(back.state['unreachable_slaves'], 0);
  } finally {
    s.close();
    await agent.stop();
    await master.close();
    await removeTempDir(dir);
  }
});

test.run();
