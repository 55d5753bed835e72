import { parseResources, Resources } from '@agora/common';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ALL,
  type AllocationSnapshot,
  type AllocatorAgent,
  type AllocatorFramework,
  allocate,
  RandomSorter,
  RefusalReason,
  type RefuseFilter,
} from '../../src/allocator/index.js';
import { agent, framework, seeded } from './helpers.js';

const NOW = 1_000_000;

function snap(
  agents: AllocatorAgent[],
  frameworks: AllocatorFramework[],
  filters: RefuseFilter[] = [],
  weights?: Record<string, number>,
): AllocationSnapshot {
  return weights === undefined ? { agents, frameworks, filters } : { agents, frameworks, filters, weights };
}

const basics = suite('allocate: who gets what');

basics('all free resources of an agent go to the framework with the lowest share', () => {
  const result = allocate(
    snap(
      [agent('a1', 'cpus:4;mem:1024;ports:[31000-31009]', 'cpus:1;ports:[31000-31000]')],
      [framework('fw-big', { allocated: 'cpus:10' }), framework('fw-small', { allocated: 'cpus:1' })],
    ),
    NOW,
  );
  assert.is(result.offers.length, 1);
  const [offer] = result.offers;
  assert.is(offer!.frameworkId, 'fw-small');
  assert.is(offer!.agentId, 'a1');
  assert.is(offer!.role, '*');
  assert.is(offer!.resources.toString(), 'cpus:3;mem:1024;ports:[31001-31009]');
});

basics('shares are updated within the cycle, ties go by framework id', () => {
  const agents = ['a1', 'a2', 'a3', 'a4'].map((id) => agent(id, 'cpus:1;mem:128'));
  const result = allocate(snap(agents, [framework('fw-b'), framework('fw-a')]), NOW);
  assert.equal(
    result.offers.map((o) => `${o.agentId}->${o.frameworkId}`),
    ['a1->fw-a', 'a2->fw-b', 'a3->fw-a', 'a4->fw-b'],
  );
});

basics('agents are visited by id without random and shuffled with it', () => {
  const agents = Array.from({ length: 20 }, (_, i) => agent(`a${String(i).padStart(2, '0')}`, 'cpus:1'));
  const plain = allocate(snap(agents.slice().reverse(), [framework('f')]), NOW);
  assert.equal(
    plain.offers.map((o) => o.agentId),
    agents.map((a) => a.id),
  );
  const shuffled = allocate(snap(agents, [framework('f')]), NOW, seeded(42));
  const ids = shuffled.offers.map((o) => o.agentId);
  assert.not.equal(
    ids,
    agents.map((a) => a.id),
  );
  assert.equal(
    ids.slice().sort(),
    agents.map((a) => a.id),
  );
  assert.equal(
    allocate(snap(agents, [framework('f')]), NOW, seeded(42)).offers.map((o) => o.agentId),
    ids,
  );
});

basics('reserved resources go only to frameworks of that role', () => {
  const result = allocate(
    snap(
      [agent('a1', 'cpus:1;mem:64;cpus(web):2;mem(web):32')],
      [framework('any'), framework('web', { roles: ['web'] })],
    ),
    NOW,
  );
  const byFw = Object.fromEntries(result.offers.map((o) => [o.frameworkId, `${o.role}:${o.resources}`]));
  assert.equal(byFw, { any: '*:cpus:1;mem:64', web: 'web:cpus(web):2;mem(web):32' });
});

basics('a framework in a role gets unreserved resources and those reserved for its role', () => {
  const result = allocate(
    snap([agent('a1', 'cpus:1;cpus(web):2;cpus(db):4')], [framework('web', { roles: ['web'] })]),
    NOW,
  );
  assert.is(result.offers.length, 1);
  assert.is(result.offers[0]!.resources.toString(), 'cpus:1;cpus(web):2');
});

basics('a framework with several roles gets one offer per role', () => {
  const result = allocate(snap([agent('a1', 'cpus(a):1;cpus(b):1')], [framework('f', { roles: ['a', 'b'] })]), NOW);
  assert.equal(result.offers.map((o) => `${o.role}:${o.resources}`).sort(), ['a:cpus(a):1', 'b:cpus(b):1']);
});

basics('nothing is offered when there are no frameworks or no agents', () => {
  assert.equal(allocate(snap([agent('a1', 'cpus:1')], []), NOW).offers, []);
  assert.equal(allocate(snap([], [framework('f')]), NOW).offers, []);
});

basics.run();

const refusals = suite('allocate: refusals and filters');

refusals('a refuse filter keeps the agent from that framework until it expires', () => {
  const agents = [agent('a1', 'cpus:1'), agent('a2', 'cpus:1')];
  const filter: RefuseFilter = { frameworkId: 'f1', agentId: 'a1', expiresAt: NOW + 5000 };
  const result = allocate(snap(agents, [framework('f1'), framework('f2', { allocated: 'cpus:100' })], [filter]), NOW);
  assert.equal(
    result.offers.map((o) => `${o.agentId}->${o.frameworkId}`),
    ['a1->f2', 'a2->f1'],
  );
  assert.equal(result.expiredFilters, []);
  assert.equal(result.refusals, [{ frameworkId: 'f1', agentId: 'a1', reason: RefusalReason.FILTERED, role: '*' }]);

  const later = allocate(
    snap(agents, [framework('f1'), framework('f2', { allocated: 'cpus:100' })], [filter]),
    NOW + 5000,
  );
  assert.equal(later.expiredFilters, [filter]);
  assert.equal(
    later.offers.map((o) => `${o.agentId}->${o.frameworkId}`),
    ['a1->f1', 'a2->f1'],
  );
});

refusals('a filtered agent stays unoffered when no other framework may take it', () => {
  const result = allocate(
    snap([agent('a1', 'cpus:1')], [framework('f1')], [{ frameworkId: 'f1', agentId: 'a1', expiresAt: NOW + 1 }]),
    NOW,
  );
  assert.equal(result.offers, []);
  assert.equal(
    result.refusals.map((r) => r.reason),
    [RefusalReason.FILTERED],
  );
});

refusals('suppressed roles and inactive frameworks get nothing, with reasons', () => {
  const result = allocate(
    snap(
      [agent('a1', 'cpus:1;cpus(b):1'), agent('a2', 'cpus:1')],
      [
        framework('sleepy', { active: false }),
        framework('quiet', { suppressedRoles: ['*'] }),
        framework('half', { roles: ['a', 'b'], suppressedRoles: ['a'], allocated: 'cpus:50' }),
      ],
    ),
    NOW,
  );
  assert.equal(
    result.offers.map((o) => `${o.agentId}->${o.frameworkId}/${o.role}:${o.resources}`),
    ['a1->half/b:cpus:1;cpus(b):1', 'a2->half/b:cpus:1'],
  );
  const reasons = result.refusals.map((r) => `${r.frameworkId}@${r.agentId}:${r.reason}${r.role ? `/${r.role}` : ''}`);
  assert.ok(reasons.includes('sleepy@*:INACTIVE'), reasons.join(' '));
  assert.ok(reasons.includes('quiet@*:SUPPRESSED'), reasons.join(' '));
  assert.ok(reasons.includes('half@*:SUPPRESSED/a'), reasons.join(' '));
});

refusals('an inactive framework still counts toward its role share', () => {
  const result = allocate(
    snap(
      [agent('a1', 'cpus:1'), agent('a2', 'cpus(r1):1;cpus(r2):1')],
      [
        framework('r1-idle', { roles: ['r1'], active: false, allocated: 'cpus:10' }),
        framework('r1-live', { roles: ['r1'] }),
        framework('r2-live', { roles: ['r2'] }),
      ],
    ),
    NOW,
  );
  // a1's unreserved cpu goes to role r2 (share 0) before r1 (share from the idle framework).
  assert.is(result.offers.find((o) => o.agentId === 'a1')!.frameworkId, 'r2-live');
});

refusals('agents that are inactive, full or below the minimum are skipped with reasons', () => {
  const result = allocate(
    snap(
      [
        agent('off', 'cpus:4', '', false),
        agent('full', 'cpus:4;mem:64', 'cpus:4;mem:64'),
        agent('crumbs', 'cpus:4;mem:64;disk:100', 'cpus:3.995;mem:40'),
        agent('memonly', 'cpus:4;mem:64', 'cpus:4;mem:32'),
        agent('cpuonly', 'cpus:0.01'),
      ],
      [framework('f')],
    ),
    NOW,
  );
  assert.equal(
    result.offers.map((o) => `${o.agentId}:${o.resources}`),
    ['cpuonly:cpus:0.01', 'memonly:mem:32'],
  );
  const reasons = Object.fromEntries(result.refusals.map((r) => [r.agentId, r.reason]));
  assert.equal(reasons, {
    off: RefusalReason.AGENT_INACTIVE,
    full: RefusalReason.NOTHING_FREE,
    crumbs: RefusalReason.BELOW_MIN_ALLOCATABLE,
  });
  for (const r of result.refusals) assert.is(r.frameworkId, ALL);
});

refusals('allocated beyond the total (inconsistent input) never yields negative offers', () => {
  const result = allocate(snap([agent('a1', 'cpus:2;mem:64', 'cpus:5;ports:[1-2]')], [framework('f')]), NOW);
  assert.equal(
    result.offers.map((o) => o.resources.toString()),
    ['mem:64'],
  );
});

refusals('recordRefusals: false lists none', () => {
  const result = allocate(
    snap([agent('a1', 'cpus:1', '', false)], [framework('f', { active: false })]),
    NOW,
    undefined,
    {
      recordRefusals: false,
    },
  );
  assert.equal(result.refusals, []);
});

refusals.run();

const weights = suite('allocate: role weights');

weights('a role with weight 2 gets twice the agents of a role with weight 1', () => {
  const agents = Array.from({ length: 30 }, (_, i) => agent(`a${String(i).padStart(2, '0')}`, 'cpus:1;mem:1024'));
  const result = allocate(
    snap(agents, [framework('f1', { roles: ['r1'] }), framework('f2', { roles: ['r2'] })], [], { r1: 2 }),
    NOW,
  );
  const count = (id: string) => result.offers.filter((o) => o.frameworkId === id).length;
  assert.is(count('f1'), 20);
  assert.is(count('f2'), 10);
});

weights('bad weights count as 1', () => {
  const agents = Array.from({ length: 4 }, (_, i) => agent(`a${i}`, 'cpus:1'));
  const result = allocate(
    snap(agents, [framework('f1', { roles: ['r1'] }), framework('f2', { roles: ['r2'] })], [], {
      r1: -3,
      r2: Number.NaN,
    }),
    NOW,
  );
  assert.is(result.offers.filter((o) => o.frameworkId === 'f1').length, 2);
});

weights('a RandomSorter can replace DRF', () => {
  const agents = Array.from({ length: 200 }, (_, i) => agent(`a${i}`, 'cpus:1'));
  const random = seeded(1);
  const result = allocate(
    snap(agents, [framework('f1', { allocated: 'cpus:1000' }), framework('f2')]),
    NOW,
    undefined,
    { createSorter: () => new RandomSorter(random) },
  );
  const f1 = result.offers.filter((o) => o.frameworkId === 'f1').length;
  // DRF would give f1 nothing (its share stays above f2's); random order gives it about half.
  assert.ok(f1 > 50 && f1 < 150, `f1 got ${f1}`);
});

weights.run();

const drf = suite('allocate: dominant resource fairness');

interface SimFramework {
  id: string;
  task: Resources;
  tasks: number;
  used: Resources;
}

/**
 * Runs cycles like a real cluster: a framework offered resources launches one
 * task if it fits (the rest goes back), else declines with a 5 s filter.
 */
function simulate(agentTotals: string[], frameworks: SimFramework[], cycles: number): Map<string, Resources> {
  const used = new Map<string, Resources>(agentTotals.map((_, i) => [`a${i}`, Resources.empty()]));
  let filters: RefuseFilter[] = [];
  for (let c = 0; c < cycles; c++) {
    const now = NOW + c * 1000;
    const result = allocate(
      {
        agents: agentTotals.map((t, i) => ({
          id: `a${i}`,
          hostname: `a${i}`,
          total: parseResources(t),
          allocated: used.get(`a${i}`)!,
          active: true,
        })),
        frameworks: frameworks.map((f) => framework(f.id, { allocated: f.used.toString() })),
        filters,
      },
      now,
    );
    const expired = new Set(result.expiredFilters);
    filters = filters.filter((f) => !expired.has(f));
    for (const offer of result.offers) {
      const f = frameworks.find((x) => x.id === offer.frameworkId)!;
      if (offer.resources.contains(f.task)) {
        f.tasks++;
        f.used = f.used.add(f.task);
        used.set(offer.agentId, used.get(offer.agentId)!.add(f.task));
      } else {
        filters.push({ frameworkId: f.id, agentId: offer.agentId, expiresAt: now + 5000 });
      }
    }
  }
  return used;
}

drf('the Mesos DRF example: 9 cpus / 18 GB, A <1 cpu, 4 GB>, B <3 cpus, 1 GB> → A 3 tasks, B 2 tasks', () => {
  const a = { id: 'A', task: parseResources('cpus:1;mem:4096'), tasks: 0, used: Resources.empty() };
  const b = { id: 'B', task: parseResources('cpus:3;mem:1024'), tasks: 0, used: Resources.empty() };
  simulate(['cpus:9;mem:18432'], [a, b], 20);
  assert.is(a.tasks, 3);
  assert.is(b.tasks, 2);
});

drf('over many small agents, the lower share is within one task of the higher unless its task fits nowhere', () => {
  const a = { id: 'A', task: parseResources('cpus:1;mem:4096'), tasks: 0, used: Resources.empty() };
  const b = { id: 'B', task: parseResources('cpus:3;mem:1024'), tasks: 0, used: Resources.empty() };
  const agents = Array.from({ length: 12 }, () => 'cpus:3;mem:6144');
  const used = simulate(agents, [a, b], 40);
  const totalCpus = 36;
  const totalMem = 12 * 6144;
  const share = (f: SimFramework) => Math.max(f.used.scalar('cpus') / totalCpus, f.used.scalar('mem') / totalMem);
  const maxTaskShare = Math.max(3 / totalCpus, 4096 / totalMem);
  assert.ok(a.tasks > 0 && b.tasks > 0);
  const [low, high] = share(a) <= share(b) ? [a, b] : [b, a];
  const fitsSomewhere = agents.some((t, i) =>
    parseResources(t)
      .subtract(used.get(`a${i}`)!)
      .contains(low.task),
  );
  assert.ok(share(high) - share(low) <= maxTaskShare + 1e-9 || !fitsSomewhere, `A ${share(a)} B ${share(b)}`);
  // With these sizes the packing is: 6 agents with one A task, 6 with one B task.
  assert.is(a.tasks, 6);
  assert.is(b.tasks, 6);
});

drf.run();
