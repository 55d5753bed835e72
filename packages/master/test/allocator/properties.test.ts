import { makeReservation, parseResources, Resources } from '@agora/common';
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type AllocationSnapshot,
  type AllocatorAgent,
  type AllocatorFramework,
  allocate,
  isAllocatable,
  type RefuseFilter,
} from '../../src/allocator/index.js';
import { seeded } from './helpers.js';

const NOW = 5_000_000;
const ROLES = ['*', 'r1', 'r2'];
const role = fc.constantFrom(...ROLES);
const suffix = (r: string) => (r === '*' ? '' : `(${r})`);

const portsText = fc
  .tuple(fc.uniqueArray(fc.integer({ min: 0, max: 60 }), { maxLength: 12 }), role)
  .map(([ports, r]) => (ports.length === 0 ? '' : `ports${suffix(r)}:[${ports.map((p) => `${p}-${p}`).join(',')}]`));
const scalarText = fc
  .tuple(fc.constantFrom('cpus', 'mem', 'disk'), fc.integer({ min: 0, max: 8000 }), role)
  .map(([name, millis, r]) => `${name}${suffix(r)}:${name === 'mem' ? millis / 10 : millis / 1000}`);
/** Resources text; duplicates of a port across parts are dropped by building through add(). */
const resources = fc.array(fc.oneof(scalarText, scalarText, portsText), { maxLength: 6 }).map((parts) => {
  let r = Resources.empty();
  for (const p of parts) {
    const next = parseResources(p);
    r = r.add(next.subtractSaturating(r));
  }
  return r;
});

const agentArb = (id: string): fc.Arbitrary<AllocatorAgent> =>
  fc
    .record({
      total: resources,
      allocated: resources,
      active: fc.oneof(fc.constant(true), fc.constant(true), fc.boolean()),
    })
    .map(({ total, allocated, active }) => ({ id, hostname: id, total, allocated, active }));

const frameworkArb = (id: string): fc.Arbitrary<AllocatorFramework> =>
  fc
    .record({
      roles: fc.subarray(ROLES),
      active: fc.boolean(),
      suppressedRoles: fc.subarray(ROLES, { maxLength: 2 }),
      allocated: resources,
    })
    .map((f) => ({ id, ...f }));

const snapshotArb: fc.Arbitrary<AllocationSnapshot> = fc
  .tuple(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 6 }))
  .chain(([na, nf]) => {
    const agentIds = Array.from({ length: na }, (_, i) => `agent-${i}`);
    const fwIds = Array.from({ length: nf }, (_, i) => `fw-${i}`);
    const filter: fc.Arbitrary<RefuseFilter> =
      na === 0 || nf === 0
        ? fc.constant({ frameworkId: 'fw-x', agentId: 'agent-x', expiresAt: NOW })
        : fc.record({
            frameworkId: fc.constantFrom(...fwIds),
            agentId: fc.constantFrom(...agentIds),
            expiresAt: fc.integer({ min: NOW - 3000, max: NOW + 3000 }),
          });
    return fc.record({
      agents: fc.tuple(...agentIds.map(agentArb)),
      frameworks: fc.tuple(...fwIds.map(frameworkArb)),
      filters: fc.array(filter, { maxLength: 10 }),
      weights: fc.dictionary(role, fc.double({ min: 0.1, max: 5, noNaN: true }), { maxKeys: 3 }),
    });
  });

const props = suite('allocator properties');

props('no resource is offered twice and offers never exceed what an agent has free', () => {
  let totalOffers = 0;
  fc.assert(
    fc.property(snapshotArb, fc.integer(), (snap, seed) => {
      const { offers } = allocate(snap, NOW, seeded(seed));
      totalOffers += offers.length;
      for (const agent of snap.agents) {
        // Subtracting each offer in turn throws if an offer overlaps another or exceeds what is free.
        let free = agent.total.subtractSaturating(agent.allocated);
        for (const o of offers.filter((x) => x.agentId === agent.id)) free = free.subtract(o.resources);
      }
    }),
    { numRuns: 300 },
  );
  assert.ok(totalOffers > 300, `the generated snapshots make offers (${totalOffers})`);
});

props('offers go only where the rules allow', () => {
  fc.assert(
    fc.property(snapshotArb, (snap) => {
      const result = allocate(snap, NOW);
      const seen = new Set<string>();
      for (const o of result.offers) {
        const f = snap.frameworks.find((x) => x.id === o.frameworkId)!;
        const a = snap.agents.find((x) => x.id === o.agentId)!;
        assert.ok(f.active && a.active);
        assert.ok((f.roles.length === 0 ? ['*'] : f.roles).includes(o.role));
        assert.not.ok(f.suppressedRoles.includes(o.role));
        assert.not.ok(snap.filters.some((x) => x.frameworkId === f.id && x.agentId === a.id && x.expiresAt > NOW));
        assert.ok(isAllocatable(o.resources));
        for (const r of o.resources.roles()) assert.ok(r === '*' || r === o.role, `role ${r} offered to ${o.role}`);
        const key = `${o.frameworkId}/${o.agentId}/${o.role}`;
        assert.not.ok(seen.has(key), 'one offer per framework, agent and role');
        seen.add(key);
      }
      assert.equal(
        result.expiredFilters,
        snap.filters.filter((x) => x.expiresAt <= NOW),
      );
      for (const r of result.refusals) assert.type(r.reason, 'string');
    }),
    { numRuns: 300 },
  );
});

props('the same snapshot, time and seed give the same decisions', () => {
  fc.assert(
    fc.property(snapshotArb, fc.integer(), (snap, seed) => {
      const show = (s: ReturnType<typeof allocate>) =>
        s.offers.map((o) => `${o.frameworkId}@${o.agentId}/${o.role}=${o.resources}`).join(' ');
      assert.is(show(allocate(snap, NOW, seeded(seed))), show(allocate(snap, NOW, seeded(seed))));
      assert.is(show(allocate(snap, NOW)), show(allocate(snap, NOW)));
    }),
    { numRuns: 100 },
  );
});

props('labelled reservations are allocated as their unlabelled quantities (DRF and quota ignore the labels)', () => {
  const id = makeReservation('ops', [{ key: 'marathon_task_id', value: 'i-1' }]);
  let labelledOffers = 0;
  fc.assert(
    fc.property(snapshotArb, fc.integer(), (snap, seed) => {
      // The free reserved part of every agent becomes one labelled reservation (same quantities).
      const labelled: AllocationSnapshot = {
        ...snap,
        agents: snap.agents.map((a) => {
          const free = a.total.subtractSaturating(a.allocated);
          const reserved = free.subtractSaturating(free.unreserved());
          return { ...a, total: a.total.subtractSaturating(reserved).add(reserved.withReservation(id)) };
        }),
      };
      const show = (s: ReturnType<typeof allocate>, strip: boolean) =>
        s.offers
          .map(
            (o) =>
              `${o.frameworkId}@${o.agentId}/${o.role}=${strip ? o.resources.withReservation(undefined) : o.resources}`,
          )
          .join(' ');
      const plain = allocate(snap, NOW, seeded(seed));
      const got = allocate(labelled, NOW, seeded(seed));
      assert.is(show(got, true), show(plain, false));
      labelledOffers += got.offers.filter((o) => !o.resources.withoutReservationIdentity().equals(o.resources)).length;
    }),
    { numRuns: 200 },
  );
  assert.ok(labelledOffers > 20, `labelled reservations were offered (${labelledOffers})`);
});

props('every active, unsuppressed framework eventually gets an offer when others decline', () => {
  const setup = fc.record({
    agents: fc.integer({ min: 1, max: 6 }),
    frameworks: fc.array(
      fc.record({ roles: fc.subarray(['*', 'r1'], { minLength: 1 }), cpus: fc.integer({ min: 0, max: 50 }) }),
      { minLength: 1, maxLength: 8 },
    ),
    seed: fc.integer(),
  });
  fc.assert(
    fc.property(setup, ({ agents: na, frameworks: specs, seed }) => {
      const agents: AllocatorAgent[] = Array.from({ length: na }, (_, i) => ({
        id: `a${i}`,
        hostname: `a${i}`,
        total: parseResources('cpus:4;mem:1024;cpus(r1):1'),
        allocated: Resources.empty(),
        active: true,
      }));
      const frameworks: AllocatorFramework[] = specs.map((s, i) => ({
        id: `f${i}`,
        roles: s.roles,
        active: true,
        suppressedRoles: [],
        allocated: parseResources(`cpus:${s.cpus}`),
      }));
      const random = seeded(seed);
      const offered = new Set<string>();
      let filters: RefuseFilter[] = [];
      // Each cycle every offer is declined with a long filter; after at most one
      // cycle per framework, every framework has had its turn.
      for (let c = 0; c <= frameworks.length; c++) {
        const now = NOW + c * 1000;
        const result = allocate({ agents, frameworks, filters }, now, random);
        for (const o of result.offers) {
          offered.add(o.frameworkId);
          filters = [...filters, { frameworkId: o.frameworkId, agentId: o.agentId, expiresAt: now + 3_600_000 }];
        }
      }
      assert.equal([...offered].sort(), frameworks.map((f) => f.id).sort());
    }),
    { numRuns: 200 },
  );
});

props('with equal frameworks and equal agents, offer counts differ by at most one', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 8 }), fc.integer(), (na, nf, seed) => {
      const agents: AllocatorAgent[] = Array.from({ length: na }, (_, i) => ({
        id: `a${i}`,
        hostname: `a${i}`,
        total: parseResources('cpus:2;mem:512'),
        allocated: Resources.empty(),
        active: true,
      }));
      const frameworks: AllocatorFramework[] = Array.from({ length: nf }, (_, i) => ({
        id: `f${i}`,
        roles: ['*'],
        active: true,
        suppressedRoles: [],
        allocated: Resources.empty(),
      }));
      const { offers } = allocate({ agents, frameworks, filters: [] }, NOW, seeded(seed));
      const counts = frameworks.map((f) => offers.filter((o) => o.frameworkId === f.id).length);
      assert.is(offers.length, na);
      assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, counts.join(','));
    }),
  );
});

props.run();
