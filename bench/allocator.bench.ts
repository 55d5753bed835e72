/**
 * Allocator benchmark: one allocation cycle over N agents × F frameworks,
 * set up like Mesos' HierarchicalAllocator DeclineOffers benchmark: every
 * agent has `cpus:24;mem:4096;disk:4096;ports:[31000-32000]`, of which
 * `cpus:16;mem:2014;disk:1024` and 16 fragmented ports are allocated to one
 * framework, frameworks assigned round-robin. Every agent thus has something
 * free, and every cycle makes one offer per agent.
 *
 * Measured in the same run, on the same snapshot:
 *  - allocate():     the real cycle (hierarchical DRF, incremental re-sorting).
 *  - baseline free:  the floor — only computing each agent's free resources
 *                    (total − allocated) and checking it is allocatable; any
 *                    allocator must do at least this.
 *  - baseline naive: a naive DRF cycle that recomputes every framework's share
 *                    and fully re-sorts the frameworks for every agent (no
 *                    filters, so not run for the scenario with filters).
 * The filtered scenario adds declined offers: each framework has a refuse
 * filter on every other agent (500,000 filters). The last two spread the
 * 1,000 frameworks over 10 roles, the very last with quota on 3 of them
 * (QUOTA below): Mesos' reference figure is 1.06 s for 10,000 × 1,000.
 *
 * Run: npm run bench   (node --conditions=development --import tsx bench/allocator.bench.ts)
 */
import { availableParallelism, cpus } from 'node:os';
import { parseResources, type Resources } from '@agora/common';
import {
  type AllocationSnapshot,
  type AllocatorAgent,
  type AllocatorFramework,
  allocate,
  isAllocatable,
  type OfferDecision,
} from '@agora/master';

const AGENT_TOTAL = 'cpus:24;mem:4096;disk:4096;ports:[31000-32000]';

function allocation(): Resources {
  // 16 single-port ranges, fragmenting the agent's port range (as Mesos' benchmark does).
  const ports = Array.from({ length: 16 }, (_, i) => `${31000 + i * 2}-${31000 + i * 2}`).join(',');
  return parseResources(`cpus:16;mem:2014;disk:1024;ports:[${ports}]`);
}

/**
 * Quota for the scenario with quota (10 roles, each with 1/10 of the frameworks, so each already holds
 * cpus 16,000 and mem 2,014,000 at 10,000 agents): role-0 is guaranteed more than it holds (stage 1 runs
 * and headroom is kept for it), role-1 is limited just above what it holds, role-2 has both.
 */
const QUOTA: NonNullable<AllocationSnapshot['quota']> = {
  'role-0': { guarantee: { cpus: 24_000, mem: 3_000_000 } },
  'role-1': { limit: { cpus: 20_000 } },
  'role-2': { guarantee: { cpus: 18_000 }, limit: { cpus: 22_000, mem: 3_000_000 } },
};

function snapshot(
  agentCount: number,
  frameworkCount: number,
  filtered: boolean,
  roleCount = 1,
  withQuota = false,
): AllocationSnapshot {
  const total = parseResources(AGENT_TOTAL);
  const used = allocation();
  const perFramework = new Array<number>(frameworkCount).fill(0);
  const agents: AllocatorAgent[] = [];
  for (let i = 0; i < agentCount; i++) {
    agents.push({ id: `agent-${i}`, hostname: `host-${i}`, total, allocated: used, active: true });
    perFramework[i % frameworkCount]!++;
  }
  const frameworks: AllocatorFramework[] = perFramework.map((n, i) => {
    let allocated = parseResources('');
    const scaled = parseResources(`cpus:${16 * n};mem:${2014 * n};disk:${1024 * n}`);
    allocated = allocated.add(scaled);
    const roles = roleCount === 1 ? ['*'] : [`role-${i % roleCount}`];
    return { id: `framework-${i}`, roles, active: true, suppressedRoles: [], allocated };
  });
  // Declined offers: each framework has a refuse filter on every other agent.
  const filters = filtered
    ? frameworks.flatMap((f, fi) =>
        agents
          .filter((_, ai) => (ai + fi) % 2 === 0)
          .map((a) => ({ frameworkId: f.id, agentId: a.id, expiresAt: 5000 })),
      )
    : [];
  return withQuota ? { agents, frameworks, filters, quota: QUOTA } : { agents, frameworks, filters };
}

/** The floor: compute every agent's free resources and check it. */
function baselineFree(snap: AllocationSnapshot): number {
  let n = 0;
  for (const a of snap.agents) if (isAllocatable(a.total.subtractSaturating(a.allocated))) n++;
  return n;
}

/** A naive DRF cycle: recompute all shares and fully re-sort for every agent. */
function baselineNaive(snap: AllocationSnapshot): OfferDecision[] {
  const totals = new Map<string, number>();
  for (const a of snap.agents) for (const [k, v] of a.total.scalars()) totals.set(k, (totals.get(k) ?? 0) + v);
  const alloc = new Map(snap.frameworks.map((f) => [f.id, f.allocated]));
  const share = (r: Resources): number => {
    let s = 0;
    for (const [k, v] of r.scalars()) s = Math.max(s, v / (totals.get(k) ?? Number.POSITIVE_INFINITY));
    return s;
  };
  const offers: OfferDecision[] = [];
  for (const a of snap.agents.slice().sort((x, y) => (x.id < y.id ? -1 : 1))) {
    const free = a.total.subtractSaturating(a.allocated);
    if (!isAllocatable(free)) continue;
    const order = snap.frameworks
      .filter((f) => f.active)
      .map((f) => ({ id: f.id, s: share(alloc.get(f.id)!) }))
      .sort((x, y) => x.s - y.s || (x.id < y.id ? -1 : 1));
    const winner = order[0];
    if (winner === undefined) continue;
    offers.push({ frameworkId: winner.id, agentId: a.id, role: '*', resources: free });
    alloc.set(winner.id, alloc.get(winner.id)!.add(free));
  }
  return offers;
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median ms of `reps` runs after one warm-up run. */
function measure(reps: number, fn: () => unknown): number {
  fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

interface Row {
  agents: number;
  frameworks: number;
  roles: number;
  quota: boolean;
  filters: number;
  reps: number;
  allocateMs: number;
  freeMs: number;
  naiveMs: number | undefined;
  offers: number;
}

const SCENARIOS: Array<
  [agents: number, frameworks: number, reps: number, filtered: boolean, roles?: number, quota?: boolean]
> = [
  [1_000, 10, 30, false],
  [1_000, 100, 30, false],
  [10_000, 10, 10, false],
  [10_000, 100, 10, false],
  [10_000, 1_000, 5, false],
  [10_000, 100, 10, true],
  [10_000, 1_000, 5, false, 10, false],
  [10_000, 1_000, 5, false, 10, true],
];

const rows: Row[] = [];
const started = performance.now();
for (const [agents, frameworks, reps, filtered, roles = 1, quota = false] of SCENARIOS) {
  const snap = snapshot(agents, frameworks, filtered, roles, quota);
  let offers = 0;
  const allocateMs = measure(reps, () => {
    offers = allocate(snap, 0, undefined, { recordRefusals: true }).offers.length;
  });
  const freeMs = measure(reps, () => baselineFree(snap));
  const naiveMs =
    !filtered && roles === 1 ? measure(Math.max(3, Math.floor(reps / 3)), () => baselineNaive(snap)) : undefined;
  rows.push({
    agents,
    frameworks,
    roles,
    quota,
    filters: snap.filters.length,
    reps,
    allocateMs,
    freeMs,
    naiveMs,
    offers,
  });
}

const fmt = (x: number) => x.toFixed(1);
const lines = [
  `machine: ${cpus()[0]?.model ?? 'unknown'}, ${availableParallelism()} cores, node ${process.version}`,
  '',
  '| agents | frameworks | roles | quota | refuse filters | offers | allocate() ms | baseline free ms | allocate / free | naive full-resort ms | allocate / naive |',
  '|---:|---:|---:|:---|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map(
    (r) =>
      `| ${r.agents} | ${r.frameworks} | ${r.roles} | ${r.quota ? '3 roles' : '—'} | ${r.filters} | ${r.offers} | ${fmt(r.allocateMs)} | ${fmt(r.freeMs)} | ${(r.allocateMs / r.freeMs).toFixed(2)} | ${
        r.naiveMs === undefined ? '—' : fmt(r.naiveMs)
      } | ${r.naiveMs === undefined ? '—' : (r.allocateMs / r.naiveMs).toFixed(3)} |`,
  ),
  '',
  `medians of the repetitions after one warm-up; whole run ${((performance.now() - started) / 1000).toFixed(1)} s`,
];
process.stdout.write(lines.join('\n') + '\n');
