/**
 * Reliable status updates across a master failover, all real: ZooKeeper, two
 * in-process masters, a real agent process and a real task. The leader is
 * stopped while the framework has not acknowledged TASK_STARTING; the standby
 * recovers the registry (it knows the agent), the agent re-registers with the
 * task, the framework re-subscribes, and the agent's retry of the same update
 * (same uuid) reaches it through the new leader; its ACKNOWLEDGE flows to the
 * agent, which then sends TASK_RUNNING.
 */
import { silentLogger } from '@agora/common';
import { createVersionedStore } from '@agora/coordination';
import { agora, TaskState } from '@agora/proto';
import { removeTempDir, startZooKeeper, tempDir } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createMaster, type Master } from '../../src/index.js';
import { decodeRegistry } from '../../src/registry/index.js';
import { startAgentProcess } from '../support/agent-process.js';
import { FakeClock } from '@agora/common';
import {
  CallType,
  EventType,
  launchCall,
  nextOffer,
  scalar,
  type SchedulerPeer,
  subscribeScheduler,
  type TestMaster,
  taskInfo,
  waitFor,
} from '../support/harness.js';

const test = suite('status updates across a master failover');
const PARTITION_AWARE = agora.v1.FrameworkInfo.Capability.Type.PARTITION_AWARE;

function asTestMaster(master: Master): TestMaster {
  return {
    master,
    clock: new FakeClock(), // unused: these masters run on the real clock
    wsUrl: (path) => `ws://127.0.0.1:${master.port}/agora/v1/${path}`,
    async getJson(path) {
      return (await (await fetch(`${master.url}${path}`)).json()) as Record<string, unknown>;
    },
    close: () => master.close(),
  };
}

function acknowledge(s: SchedulerPeer, status: agora.v1.TaskStatus) {
  s.send({
    type: CallType.ACKNOWLEDGE,
    framework_id: { value: s.frameworkId },
    acknowledge: { agent_id: status.agent_id!, task_id: status.task_id, uuid: status.uuid! },
  });
}

test('an unacknowledged update is retried through the new leader until acknowledged', async () => {
  const zk = await startZooKeeper();
  const dir = await tempDir('agora-failover-updates');
  const url = zk.url('/agora-failover');
  const options = { port: 0, host: '127.0.0.1', zk: url, zkSessionTimeoutMs: 4000, allocationIntervalMs: 200 };
  const a = createMaster(options, { logger: silentLogger() });
  const b = createMaster(options, { logger: silentLogger() });
  const peers: SchedulerPeer[] = [];
  let agent: Awaited<ReturnType<typeof startAgentProcess>> | undefined;
  try {
    await a.start();
    await waitFor(() => (a.isLeader ? true : undefined), { message: 'the first master leads', timeoutMs: 15_000 });
    await b.start();
    assert.not.ok(b.isLeader);
    agent = await startAgentProcess(url, dir, 'cpus:2;mem:512;disk:100;ports:[42100-42110]');

    const s1 = await subscribeScheduler(asTestMaster(a), { capabilities: [PARTITION_AWARE] });
    peers.push(s1);
    const offer = await nextOffer(s1, 'an offer from the real agent');
    const agentId = offer.agent_id.value;
    s1.send(launchCall(s1, [offer.id.value], [taskInfo('kept', agentId, [scalar('cpus', 0.1), scalar('mem', 32)])]));
    const starting = await s1.next((e) => e.update?.status.state === TaskState.TASK_STARTING, 'TASK_STARTING', 30_000);
    const uuid = [...starting.update!.status.uuid!];
    assert.ok(uuid.length > 0, 'a reliable update carries a uuid');
    // Not acknowledged: the agent keeps it (and holds TASK_RUNNING behind it).

    await a.close(); // the leader goes away abruptly
    await waitFor(() => (b.isLeader ? true : undefined), { message: 'the standby leads', timeoutMs: 20_000 });

    // The new leader recovered the registry: it knows the agent and wrote itself as the leader.
    const store = createVersionedStore(url, 'registry', { logger: silentLogger() });
    try {
      const { data } = await store.fetch();
      const registry = decodeRegistry(data!);
      assert.is(registry.master?.id, b.info.id);
      assert.ok(
        registry.agents.some((x) => x.info.id?.value === agentId),
        'the agent is admitted in the registry',
      );
    } finally {
      await store.close();
    }

    const s2 = await subscribeScheduler(asTestMaster(b), {
      id: s1.frameworkId,
      capabilities: [PARTITION_AWARE],
    });
    peers.push(s2);
    const retried = await s2.next(
      (e) =>
        e.type === EventType.UPDATE &&
        e.update?.status.task_id.value === 'kept' &&
        (e.update.status.uuid?.length ?? 0) > 0,
      'the retried update through the new leader',
      30_000,
    );
    assert.is(retried.update!.status.state, TaskState.TASK_STARTING);
    assert.equal([...retried.update!.status.uuid!], uuid, 'the same update (same uuid)');
    acknowledge(s2, retried.update!.status);
    const running = await s2.next((e) => e.update?.status.state === TaskState.TASK_RUNNING, 'TASK_RUNNING', 30_000);
    acknowledge(s2, running.update!.status);
    const state = await asTestMaster(b).getJson('/state');
    const slaves = state['slaves'] as Array<Record<string, unknown>>;
    assert.is(slaves[0]?.['id'], agentId, 'the agent re-registered under its id');
  } finally {
    for (const p of peers) p.close();
    await agent?.stop();
    await a.close();
    await b.close();
    await zk.stop();
    await removeTempDir(dir);
  }
});

test.run();
