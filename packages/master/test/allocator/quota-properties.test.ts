/**
 * Properties of the allocator with hierarchical roles, reservations and quota,
 * over random snapshots (fast-check).
 */
import { parseResources, Resources } from '@agora/common';
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type AllocationSnapshot,
  type AllocatorAgent,
  type AllocatorFramework,
  allocate,
  isWithin,
  type RefuseFilter,
  type RoleQuota,
} from '../../src/allocator/index.js';
import { seeded } from './helpers.js';

const NOW = 5_000_000;
const ROLES = ['*', 'eng', 'eng/web', 'eng/db', 'ops'];
const FW_ROLES = ['eng', 'eng/web', 'eng/db', 'ops', 'other'];
const role = fc.constantFrom(...ROLES);
const suffix = (r: string) => (r === '*' ? '' : `(${r})`);

const part = fc.oneof(
  fc
    .tuple(fc.constantFrom('cpus', 'mem'), fc.integer({ min: 1, max: 8 }), role)
    .map(([n, v, r]) => `${n}${suffix(r)}:${n === 'mem' ? v * 64 : v}`),
  fc
    .tuple(fc.uniqueArray(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 5 }), role)
    .map(([ports, r]) => `ports${suffix(r)}:[${ports.map((p) => `${p}-${p}`).join(',')}]`),
);
const resources = fc.array(part, { maxLength: 6 }).map((parts) => {
  let r = Resources.empty();
  for (const p of parts) r = r.add(parseResources(p).subtractSaturating(r));
  return r;
});

const quantities = fc
  .record({ cpus: fc.integer({ min: 0, max: 20 }), mem: fc.integer({ min: 0, max: 20 }) })
  .map((q) => ({
    cpus: q.cpus,
    mem: q.mem * 64,
  }));
const quotaArb: fc.Arbitrary<Record<string, RoleQuota>> = fc.dictionary(
  fc.constantFrom('eng', 'eng/web', 'ops'),
  fc.record({ guarantee: quantities, limit: quantities }, { requiredKeys: [] }),
  { maxKeys: 3 },
);

const snapshotArb: fc.Arbitrary<AllocationSnapshot> = fc
  .tuple(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 6 }))
  .chain(([na, nf]) => {
    const agentIds = Array.from({ length: na }, (_, i) => `agent-${i}`);
    const fwIds = Array.from({ length: nf }, (_, i) => `fw-${i}`);
    const agentArb = (id: string): fc.Arbitrary<AllocatorAgent> =>
      fc
        .record({ total: resources, used: resources, active: fc.oneof(fc.constant(true), fc.boolean()) })
        .map(({ total, used, active }) => ({
          id,
          hostname: id,
          total,
          allocated: total.subtract(total.subtractSaturating(used)),
          active,
        }));
    const frameworkArb = (id: string): fc.Arbitrary<AllocatorFramework> =>
      fc
        .record({
          roles: fc.subarray(FW_ROLES, { minLength: 1, maxLength: 3 }),
          active: fc.oneof(fc.constant(true), fc.boolean()),
          suppressedRoles: fc.subarray(FW_ROLES, { maxLength: 1 }),
          allocated: resources,
        })
        .map((f) => ({ id, ...f }));
    const filter: fc.Arbitrary<RefuseFilter> = fc.record(
      {
        frameworkId: fc.constantFrom(...fwIds),
        agentId: fc.constantFrom(...agentIds),
        role: fc.constantFrom(...FW_ROLES),
        expiresAt: fc.integer({ min: NOW - 3000, max: NOW + 3000 }),
      },
      { requiredKeys: ['frameworkId', 'agentId', 'expiresAt'] },
    );
    return fc.record({
      agents: fc.tuple(...agentIds.map(agentArb)),
      frameworks: fc.tuple(...fwIds.map(frameworkArb)),
      filters: fc.array(filter, { maxLength: 8 }),
      weights: fc.dictionary(fc.constantFrom(...FW_ROLES, 'eng'), fc.double({ min: 0.1, max: 5, noNaN: true }), {
        maxKeys: 3,
      }),
      quota: quotaArb,
    });
  });

/**
 * A quota role's consumption as Mesos defines it: unreserved resources allocated within it plus every
 * reservation for it or its descendants.
 */
function consumption(snap: AllocationSnapshot, q: string, name: string): number {
  let c = 0;
  for (const f of snap.frameworks) {
    const first = f.roles[0] ?? '*';
    if (isWithin(first, q)) c += f.allocated.unreserved().scalar(name);
  }
  for (const a of snap.agents) {
    for (const r of a.total.roles()) if (r !== '*' && isWithin(r, q)) c += a.total.reservedFor(r).scalar(name);
  }
  return c;
}

const props = suite('allocator properties with roles, reservations and quota');

props('no resource is offered twice; offers never exceed an agent’s free resources', () => {
  let made = 0;
  fc.assert(
    fc.property(snapshotArb, fc.integer(), (snap, seed) => {
      const { offers } = allocate(snap, NOW, seeded(seed));
      made += offers.length;
      for (const agent of snap.agents) {
        let free = agent.total.subtractSaturating(agent.allocated);
        for (const o of offers.filter((x) => x.agentId === agent.id)) free = free.subtract(o.resources);
      }
    }),
    { numRuns: 300 },
  );
  assert.ok(made > 200, `snapshots make offers (${made})`);
});

props('reservations go only to their role or its descendants; filters, suppression and activity hold', () => {
  fc.assert(
    fc.property(snapshotArb, (snap) => {
      const result = allocate(snap, NOW);
      for (const o of result.offers) {
        const f = snap.frameworks.find((x) => x.id === o.frameworkId)!;
        const a = snap.agents.find((x) => x.id === o.agentId)!;
        assert.ok(f.active && a.active);
        assert.ok(f.roles.includes(o.role));
        assert.not.ok(f.suppressedRoles.includes(o.role));
        assert.not.ok(
          snap.filters.some(
            (x) =>
              x.frameworkId === f.id &&
              x.agentId === a.id &&
              (x.role === undefined || x.role === o.role) &&
              x.expiresAt > NOW,
          ),
        );
        for (const r of o.resources.roles()) assert.ok(r === '*' || isWithin(o.role, r), `${r} offered to ${o.role}`);
      }
    }),
    { numRuns: 300 },
  );
});

props('a quota limit is never exceeded by what a cycle offers', () => {
  fc.assert(
    fc.property(snapshotArb, fc.integer(), (snap, seed) => {
      const { offers } = allocate(snap, NOW, seeded(seed));
      for (const [q, quota] of Object.entries(snap.quota ?? {})) {
        for (const [name, limit] of Object.entries(quota.limit ?? {})) {
          // Growth of consumption: the unreserved resources offered within q.
          let growth = 0;
          for (const o of offers) if (isWithin(o.role, q)) growth += o.resources.unreserved().scalar(name);
          if (growth === 0) continue;
          const before = consumption(snap, q, name);
          assert.ok(before + growth <= limit + 1e-9, `${q} ${name}: ${before} + ${growth} > limit ${limit}`);
        }
      }
    }),
    { numRuns: 400 },
  );
});

props('a quota guarantee is met when the cluster has the resources free', () => {
  const setup = fc.record({
    agents: fc.integer({ min: 1, max: 10 }),
    cpusPerAgent: fc.integer({ min: 1, max: 8 }),
    guaranteeCpus: fc.integer({ min: 1, max: 40 }),
    others: fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 5 }),
    seed: fc.integer(),
  });
  fc.assert(
    fc.property(setup, ({ agents: na, cpusPerAgent, guaranteeCpus, others, seed }) => {
      const agents: AllocatorAgent[] = Array.from({ length: na }, (_, i) => ({
        id: `a${i}`,
        hostname: `a${i}`,
        total: parseResources(`cpus:${cpusPerAgent};mem:${cpusPerAgent * 256}`),
        allocated: Resources.empty(),
        active: true,
      }));
      const frameworks: AllocatorFramework[] = [
        { id: 'prod', roles: ['prod'], active: true, suppressedRoles: [], allocated: Resources.empty() },
        // Other roles with any existing allocation (elsewhere) and a lower share.
        ...others.map((cpus, i) => ({
          id: `other-${i}`,
          roles: [`r${i}`],
          active: true,
          suppressedRoles: [],
          allocated: cpus === 0 ? Resources.empty() : parseResources(`cpus:${cpus / 10}`),
        })),
      ];
      const cluster = na * cpusPerAgent;
      const { offers } = allocate(
        { agents, frameworks, filters: [], quota: { prod: { guarantee: { cpus: guaranteeCpus } } } },
        NOW,
        seeded(seed),
      );
      const got = offers.filter((o) => o.role === 'prod').reduce((s, o) => s + o.resources.scalar('cpus'), 0);
      assert.ok(got >= Math.min(guaranteeCpus, cluster), `prod got ${got} of ${guaranteeCpus} (cluster ${cluster})`);
      // Others got at most what is left beyond the guarantee.
      const rest = offers.filter((o) => o.role !== 'prod').reduce((s, o) => s + o.resources.scalar('cpus'), 0);
      assert.ok(rest <= Math.max(0, cluster - guaranteeCpus) + 1e-9);
    }),
    { numRuns: 300 },
  );
});

props.run();
