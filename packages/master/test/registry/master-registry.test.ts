/**
 * The master and its registry: a leader whose registry write conflicts (another
 * master wrote since) gives up leadership instead of continuing on stale state
 * (real ZooKeeper); in standalone mode the registry lives in the work dir, so
 * a restarted master still refuses an agent marked gone.
 */
import { silentLogger } from '@agora/common';
import { createVersionedStore } from '@agora/coordination';
import { removeTempDir, startZooKeeper, tempDir } from '@agora/testkit';
import { CLOSE_REFUSED } from '@agora/transport';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createMaster, type MasterAbort } from '../../src/index.js';
import { decodeRegistry, encodeRegistry, setMaster } from '../../src/registry/index.js';
import {
  agentInfo,
  cleanup,
  connectAgentChannel,
  registerAgent,
  startMaster,
  type TestMaster,
  waitFor,
} from '../support/harness.js';

const test = suite('master registry');

test('a registry write that conflicts makes the leader give up leadership', async () => {
  const zk = await startZooKeeper();
  const url = zk.url('/agora-conflict');
  const master = createMaster(
    { port: 0, host: '127.0.0.1', zk: url, zkSessionTimeoutMs: 4000 },
    { logger: silentLogger() },
  );
  const aborts: MasterAbort[] = [];
  master.onDidLoseLeadership((a) => aborts.push(a));
  let agent: Awaited<ReturnType<typeof connectAgentChannel>> | undefined;
  try {
    await master.start();
    await waitFor(() => (master.isLeader ? true : undefined), { message: 'leading', timeoutMs: 15_000 });
    // Another writer (as a newer leader would) changes the registry behind this master's back.
    const store = createVersionedStore(url, 'registry', { logger: silentLogger() });
    try {
      const { data, version } = await store.fetch();
      const registry = decodeRegistry(data!);
      setMaster({ id: 'someone-else', ip: 0, port: 1 })(registry);
      await store.store(encodeRegistry(registry), version);
    } finally {
      await store.close();
    }
    // The next write (admitting a new agent) conflicts.
    const t: Pick<TestMaster, 'wsUrl'> = { wsUrl: (p) => `ws://127.0.0.1:${master.port}/agora/v1/${p}` };
    agent = await connectAgentChannel(t as TestMaster);
    agent.send({ register: { agent_info: agentInfo() } });
    await waitFor(() => (aborts.length > 0 ? true : undefined), { message: 'leadership given up' });
    assert.is(aborts[0]!.code, 'AGORA_ERR_NOT_LEADER');
    assert.match(aborts[0]!.reason, /registry/);
    assert.not.ok(master.isLeader);
    await agent.waitClosed();
    assert.is(agent.all((m) => m.registered !== null).length, 0, 'the agent was never told it is registered');
  } finally {
    agent?.close();
    await master.close();
    await zk.stop();
  }
});

test('standalone: the registry in the work dir survives a restart; a gone agent stays refused', async () => {
  const dir = await tempDir('agora-master-registry');
  let t: TestMaster | undefined;
  let again: Awaited<ReturnType<typeof connectAgentChannel>> | undefined;
  try {
    t = await startMaster({ workDir: dir });
    const agent = await registerAgent(t);
    const res = await fetch(`${t.master.url}/api/v1`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: 'MARK_AGENT_GONE', mark_agent_gone: { agent_id: { value: agent.agentId } } }),
    });
    assert.is(res.status, 200);
    agent.close();
    await t.close();

    t = await startMaster({ workDir: dir });
    again = await connectAgentChannel(t);
    again.send({ reregister: { agent_info: agentInfo({}, agent.agentId), tasks: [], frameworks: [] } });
    const refused = await again.next((m) => m.refused !== null, 'Refused');
    assert.is(refused.refused!.code, 'AGORA_ERR_AGENT_REFUSED');
    assert.is((await again.waitClosed()).code, CLOSE_REFUSED);
  } finally {
    again?.close();
    await cleanup(t);
    await removeTempDir(dir);
  }
});

test.run();
