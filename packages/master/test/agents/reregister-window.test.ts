/**
 * After a master failover the registry tells the new leader which agents to
 * expect. Agents that do not re-register within `agentReregisterTimeoutMs`
 * become unreachable; meanwhile the allocator stays paused until 80 % of the
 * expected agents are back (or the window ends). The registry here is the
 * standalone work-dir file, so "failover" is a master restart on the same dir.
 */
import { removeTempDir, tempDir } from '@agora/testkit';
import { suite } from 'uvu';
import type { MasterAbort } from '../../src/index.js';
import { decodeRegistry, FileRegistryStorage } from '../../src/registry/index.js';
import * as assert from 'uvu/assert';
import {
  agentInfo,
  cleanup,
  connectAgentChannel,
  isOffers,
  registerAgent,
  type SchedulerPeer,
  schedulerBarrier,
  startMaster,
  subscribeScheduler,
  type TestMaster,
  waitFor,
} from '../support/harness.js';

const test = suite('agent re-register window after a failover');
const WINDOW_MS = 60_000;

/** Admit `n` agents with a first master on `dir`, then stop it; returns their ids. */
async function admitAgents(dir: string, n: number): Promise<string[]> {
  const first = await startMaster({ workDir: dir });
  const ids: string[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const a = await registerAgent(first, { hostname: `agent-${i}.test` });
      ids.push(a.agentId);
      a.close();
    }
  } finally {
    await first.close();
  }
  return ids;
}

async function reregister(t: TestMaster, id: string) {
  const peer = await connectAgentChannel(t);
  peer.send({ reregister: { agent_info: agentInfo({}, id), tasks: [], frameworks: [] } });
  await peer.next((m) => m.reregistered !== null, `Reregistered ${id}`);
  return peer;
}

test('agents that do not re-register in time become unreachable; allocation waits for them meanwhile', async () => {
  const dir = await tempDir('agora-window');
  let t: TestMaster | undefined;
  let s: SchedulerPeer | undefined;
  const peers: Array<{ close(): void }> = [];
  try {
    const ids = await admitAgents(dir, 5);
    t = await startMaster({ workDir: dir, agentReregisterTimeoutMs: WINDOW_MS });
    s = await subscribeScheduler(t);
    // 3 of 5 (60 %) come back: still paused.
    for (const id of ids.slice(0, 3)) peers.push(await reregister(t, id));
    await schedulerBarrier(s, ids[0]!);
    assert.equal(s.all(isOffers), [], 'no offers while fewer than 80 % of the agents re-registered');
    t.clock.advance(WINDOW_MS);
    const tm = t;
    await waitFor(async () => (await tm.getJson('/state'))['unreachable_slaves'] === 2, {
      message: 'the two missing agents marked unreachable',
    });
    await s.next(isOffers, 'offers once the window ended');
    const state = await t.getJson('/state');
    assert.is((state['slaves'] as unknown[]).length, 3);
    // A late agent may still come back: it is re-admitted.
    peers.push(await reregister(t, ids[3]!));
    await waitFor(async () => (await tm.getJson('/state'))['unreachable_slaves'] === 1, { message: 're-admitted' });
  } finally {
    for (const p of peers) p.close();
    await cleanup(t, s);
    await removeTempDir(dir);
  }
});

test('allocation resumes as soon as 80 % of the expected agents re-registered', async () => {
  const dir = await tempDir('agora-window');
  let t: TestMaster | undefined;
  let s: SchedulerPeer | undefined;
  const peers: Array<{ close(): void }> = [];
  try {
    const ids = await admitAgents(dir, 5);
    t = await startMaster({ workDir: dir, agentReregisterTimeoutMs: WINDOW_MS });
    s = await subscribeScheduler(t);
    for (const id of ids.slice(0, 4)) peers.push(await reregister(t, id));
    await s.next(isOffers, 'offers after 4 of 5 agents re-registered');
    assert.is((await t.getJson('/state'))['unreachable_slaves'], 0, 'the window has not ended');
  } finally {
    for (const p of peers) p.close();
    await cleanup(t, s);
    await removeTempDir(dir);
  }
});

test('old unreachable entries are pruned from the registry every 15 minutes (kept at most 2 weeks)', async () => {
  const dir = await tempDir('agora-window');
  let t: TestMaster | undefined;
  try {
    await admitAgents(dir, 1);
    // Hour-long periodic work, so that advancing two weeks fires few timers.
    const hour = 3_600_000;
    t = await startMaster({
      workDir: dir,
      agentReregisterTimeoutMs: WINDOW_MS,
      agentPingTimeoutMs: hour,
      allocationIntervalMs: hour,
    });
    t.clock.advance(WINDOW_MS);
    const tm = t;
    await waitFor(async () => (await tm.getJson('/state'))['unreachable_slaves'] === 1, { message: 'unreachable' });
    t.clock.advance(14 * 24 * 3600 * 1000); // two weeks: still kept (at most 2 weeks old)
    assert.is((await t.getJson('/state'))['unreachable_slaves'], 1);
    t.clock.advance(15 * 60 * 1000); // the next prune finds it older than two weeks
    await waitFor(async () => (await tm.getJson('/state'))['unreachable_slaves'] === 0, { message: 'pruned' });
  } finally {
    await cleanup(t);
    await removeTempDir(dir);
  }
});

test('over recoveryAgentRemovalLimit missing agents, the master gives up leadership and marks none unreachable', async () => {
  const dir = await tempDir('agora-window');
  let t: TestMaster | undefined;
  const peers: Array<{ close(): void }> = [];
  try {
    const ids = await admitAgents(dir, 5);
    t = await startMaster({ workDir: dir, agentReregisterTimeoutMs: WINDOW_MS, recoveryAgentRemovalLimit: 0.5 });
    const aborts: MasterAbort[] = [];
    t.master.onDidLoseLeadership((a) => aborts.push(a));
    peers.push(await reregister(t, ids[0]!)); // 4 of 5 (80 %) stay missing
    t.clock.advance(WINDOW_MS);
    await waitFor(() => (aborts.length > 0 ? true : undefined), { message: 'leadership given up' });
    assert.match(aborts[0]!.reason, /4 of 5 agents/);
    assert.not.ok(t.master.isLeader);
    const stored = await new FileRegistryStorage(dir).fetch();
    assert.is(decodeRegistry(stored.data!).unreachable.length, 0, 'no agent was marked unreachable');
  } finally {
    for (const p of peers) p.close();
    await cleanup(t);
    await removeTempDir(dir);
  }
});

test.run();
