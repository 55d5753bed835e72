/**
 * --agent_removal_rate_limit (Mesos): agents that fail health checks are removed (marked unreachable) at most
 * N per duration; the others wait their turn, and one that re-registers while waiting is not removed. Without
 * a limit every timed-out agent is removed at once.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseRemovalRateLimit } from '../../src/agents/removal-rate-limiter.js';
import {
  type AgentPeer,
  agentBarrier,
  agentInfo,
  cleanup,
  connectAgentChannel,
  PING_MS,
  registerAgent,
  startMaster,
  type TestMaster,
  waitFor,
} from '../support/harness.js';

const test = suite('agent removal rate limit');
const MAX_PINGS = 2;
const PER_MS = 1000;

type Json = Record<string, unknown>;

async function unreachableCount(t: TestMaster): Promise<number> {
  return (await t.getJson('/state'))['unreachable_slaves'] as number;
}

async function silence(t: TestMaster, agents: AgentPeer[]): Promise<void> {
  for (const a of agents) a.close();
  await waitFor(
    async () => {
      const slaves = (await t.getJson('/state'))['slaves'] as Json[];
      return slaves.every((s) => s['connected'] === false) || undefined;
    },
    { message: 'agents disconnected' },
  );
  for (let i = 0; i <= MAX_PINGS; i++) t.clock.advance(PING_MS);
}

test('parses <removals>/<duration>', () => {
  const ms = (d: string) => ({ '10mins': 600_000, '1secs': 1000 })[d] ?? Number.NaN;
  assert.equal(parseRemovalRateLimit('1/10mins', ms), { permits: 1, perMs: 600_000 });
  assert.equal(parseRemovalRateLimit('5/1secs', ms), { permits: 5, perMs: 1000 });
  assert.throws(() => parseRemovalRateLimit('0/1secs', ms), /positive/);
  assert.throws(() => parseRemovalRateLimit('1/soon', ms), /duration/);
  assert.throws(() => parseRemovalRateLimit('10mins', ms), /number>\/<duration/);
});

test('without a limit, every timed-out agent is removed at once', async () => {
  let t: TestMaster | undefined;
  const peers: AgentPeer[] = [];
  try {
    t = await startMaster({ maxAgentPingTimeouts: MAX_PINGS });
    for (const h of ['a', 'b', 'c']) peers.push(await registerAgent(t, { hostname: `${h}.test` }));
    await silence(t, peers);
    await waitFor(async () => (await unreachableCount(t!)) === 3 || undefined, { message: 'all three removed' });
  } finally {
    await cleanup(t, ...peers);
  }
});

test('1 per second: one removal at once, the next a second later; one that came back meanwhile stays', async () => {
  let t: TestMaster | undefined;
  const peers: AgentPeer[] = [];
  let back: Awaited<ReturnType<typeof connectAgentChannel>> | undefined;
  try {
    t = await startMaster({ maxAgentPingTimeouts: MAX_PINGS, agentRemovalRateLimit: { permits: 1, perMs: PER_MS } });
    for (const h of ['a', 'b', 'c']) peers.push(await registerAgent(t, { hostname: `${h}.test` }));
    const [a, b, c] = peers as [AgentPeer, AgentPeer, AgentPeer];
    await silence(t, peers);
    await waitFor(async () => (await unreachableCount(t!)) === 1 || undefined, { message: 'the first removal' });
    // The flags show the limit.
    assert.is(((await t.getJson('/flags'))['flags'] as Json)['agent_removal_rate_limit'], `1/${PER_MS}ms`);
    // Nothing more before the interval has passed.
    t.clock.advance(PER_MS / 2);
    await new Promise((r) => setTimeout(r, 50));
    assert.is(await unreachableCount(t), 1);
    const slaves = ((await t.getJson('/state'))['slaves'] as Json[]).map((s) => s['id']);
    assert.is(slaves.length, 2, 'two wait their turn');

    // One of the waiting agents comes back (re-registers) before its turn.
    const waitingIds = [a, b, c].map((p) => p.agentId).filter((id) => slaves.includes(id));
    const returning = waitingIds[1]!;
    back = await connectAgentChannel(t);
    back.send({
      reregister: { agent_info: agentInfo({ hostname: 'back.test' }, returning), tasks: [], frameworks: [] },
    });
    await back.next((m) => m.reregistered !== null, 'Reregistered');

    // Time passes in ping intervals (the returning agent answers every ping).
    const tick = async (ms: number) => {
      for (let i = 0; i < ms / PING_MS; i++) await agentBarrier(t!, back!);
    };
    await tick(PER_MS / 2);
    await waitFor(async () => (await unreachableCount(t!)) === 2 || undefined, { message: 'the second removal' });
    await tick(PER_MS * 2);
    assert.is(await unreachableCount(t), 2, 'the agent that came back was not removed');
    const left = ((await t.getJson('/state'))['slaves'] as Json[]).map((s) => s['id']);
    assert.equal(left, [returning]);
  } finally {
    back?.close();
    await cleanup(t, ...peers);
  }
});

test.run();
