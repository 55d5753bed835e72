/**
 * Hand-computed allocations with hierarchical roles, weights, quota and
 * reservations. Expected shares are written beside each setup.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ALL,
  type AllocationResult,
  type AllocationSnapshot,
  allocate,
  RefusalReason,
} from '../../src/allocator/index.js';
import { agent, framework } from './helpers.js';

const NOW = 1_000_000;

function show(result: AllocationResult): string[] {
  return result.offers.map((o) => `${o.agentId}->${o.frameworkId}(${o.role}) ${o.resources}`);
}

const drf = suite('hierarchical weighted DRF: hand-computed');

drf('weights change which role gets the agents', () => {
  // Cluster total cpus:100;mem:1000 (a0 fully used, a1 and a2 free).
  // web:   cpus 50/100 = 0.50, mem 100/1000 = 0.10 → dominant 0.50; weight 2 → 0.25
  // batch: cpus 10/100 = 0.10, mem 400/1000 = 0.40 → dominant 0.40; weight 1 → 0.40
  const base: AllocationSnapshot = {
    agents: [
      agent('a0', 'cpus:80;mem:800', 'cpus:80;mem:800'),
      agent('a1', 'cpus:10;mem:100'),
      agent('a2', 'cpus:10;mem:100'),
    ],
    frameworks: [
      framework('fw-web', { roles: ['web'], allocated: 'cpus:50;mem:100' }),
      framework('fw-batch', { roles: ['batch'], allocated: 'cpus:10;mem:400' }),
    ],
    filters: [],
  };
  // Without weights: batch 0.40 < web 0.50 → a1 to batch (→ cpus 20/100, mem 500/1000 = 0.50);
  // tie 0.50 = 0.50 broken by name (batch < web) → a2 to batch.
  assert.equal(show(allocate(base, NOW)), [
    'a1->fw-batch(batch) cpus:10;mem:100',
    'a2->fw-batch(batch) cpus:10;mem:100',
  ]);
  // With web weight 2: web 0.25 < 0.40 → a1 to web (→ 60/100 / 2 = 0.30) → a2 to web (→ 0.35).
  assert.equal(show(allocate({ ...base, weights: { web: 2 } }, NOW)), [
    'a1->fw-web(web) cpus:10;mem:100',
    'a2->fw-web(web) cpus:10;mem:100',
  ]);
});

drf('a parent role’s share includes its children’s', () => {
  // Total cpus:100;mem:1000. eng/web 0.20 + eng/db 0.20 → eng 0.40; ops 0.30.
  const base: AllocationSnapshot = {
    agents: [
      agent('a0', 'cpus:96;mem:960', 'cpus:96;mem:960'),
      agent('a1', 'cpus:2;mem:20'),
      agent('a2', 'cpus:2;mem:20'),
    ],
    frameworks: [
      framework('fw-web', { roles: ['eng/web'], allocated: 'cpus:20' }),
      framework('fw-db', { roles: ['eng/db'], allocated: 'cpus:20' }),
      framework('fw-ops', { roles: ['ops'], allocated: 'cpus:30' }),
    ],
    filters: [],
  };
  // ops 0.30 < eng 0.40 → a1 to ops (0.32) → a2 to ops (0.34), though eng/web alone (0.20) is lowest.
  assert.equal(show(allocate(base, NOW)), ['a1->fw-ops(ops) cpus:2;mem:20', 'a2->fw-ops(ops) cpus:2;mem:20']);
  // eng weight 2: eng 0.40/2 = 0.20 < ops 0.30. In eng, tie 0.20 = 0.20 → eng/db (by name) gets a1
  // (eng → 42/100/2 = 0.21; eng/db 0.22); then eng/web 0.20 < eng/db 0.22 → a2 to eng/web.
  assert.equal(show(allocate({ ...base, weights: { eng: 2 } }, NOW)), [
    'a1->fw-db(eng/db) cpus:2;mem:20',
    'a2->fw-web(eng/web) cpus:2;mem:20',
  ]);
});

const quota = suite('quota: hand-computed');

quota('guarantees are met first (stage 1), the rest is shared fairly', () => {
  // Four agents of cpus:4;mem:400 (total cpus 16, mem 1600), nothing allocated.
  const agents = ['a1', 'a2', 'a3', 'a4'].map((id) => agent(id, 'cpus:4;mem:400'));
  const frameworks = [framework('fw-dev', { roles: ['dev'] }), framework('fw-prod', { roles: ['prod'] })];
  // Without quota: shares 0 = 0, dev first by name; alternate.
  assert.equal(
    allocate({ agents, frameworks, filters: [] }, NOW).offers.map((o) => `${o.agentId}->${o.role}`),
    ['a1->dev', 'a2->prod', 'a3->dev', 'a4->prod'],
  );
  // prod guarantee cpus:12;mem:1200 (0.75 of the cluster): stage 1 gives prod a1, a2, a3 (12 cpus);
  // stage 2 gives a4 to dev (share 0 < 0.75).
  const result = allocate(
    { agents, frameworks, filters: [], quota: { prod: { guarantee: { cpus: 12, mem: 1200 } } } },
    NOW,
  );
  assert.equal(
    result.offers.map((o) => `${o.agentId}->${o.role}`),
    ['a1->prod', 'a2->prod', 'a3->prod', 'a4->dev'],
  );
});

quota('a parent’s guarantee is met in stage 1 through its children’s frameworks', () => {
  const agents = ['a1', 'a2', 'a3', 'a4'].map((id) => agent(id, 'cpus:4;mem:400'));
  // eng guaranteed cpus:8;mem:800; its only framework is in eng/web. Stage 1: a1, a2 → eng/web (eng consumed 8/800).
  // Stage 2: dev (share 0) < eng (0.5) → a3 to dev (→ 0.25) → a4 to dev (0.25 < 0.5).
  const result = allocate(
    {
      agents,
      frameworks: [framework('fw-web', { roles: ['eng/web'] }), framework('fw-dev', { roles: ['dev'] })],
      filters: [],
      quota: { eng: { guarantee: { cpus: 8, mem: 800 } } },
    },
    NOW,
  );
  assert.equal(
    result.offers.map((o) => `${o.agentId}->${o.role}`),
    ['a1->eng/web', 'a2->eng/web', 'a3->dev', 'a4->dev'],
  );
});

quota('headroom for an unsatisfied guarantee is kept back from other roles', () => {
  const agents = ['a1', 'a2', 'a3', 'a4'].map((id) => agent(id, 'cpus:4;mem:400'));
  const frameworks = [framework('fw-dev', { roles: ['dev'] }), framework('fw-prod', { roles: ['prod'] })];
  // prod guarantee cpus:8;mem:800, but fw-prod declined a1..a3 (filters): stage 1 gives it a4 only
  // (consumed 4/400, short 4/400). Available headroom a1..a3 = cpus 12, mem 1200; required 4/400.
  // dev may take 8/800: a1 (whole), a2 (whole); a3 is held back (QUOTA_HEADROOM).
  const filters = ['a1', 'a2', 'a3'].map((agentId) => ({ frameworkId: 'fw-prod', agentId, expiresAt: NOW + 5000 }));
  const result = allocate({ agents, frameworks, filters, quota: { prod: { guarantee: { cpus: 8, mem: 800 } } } }, NOW);
  assert.equal(show(result), [
    'a4->fw-prod(prod) cpus:4;mem:400',
    'a1->fw-dev(dev) cpus:4;mem:400',
    'a2->fw-dev(dev) cpus:4;mem:400',
  ]);
  assert.ok(
    result.refusals.some(
      (r) =>
        r.agentId === 'a3' && r.role === 'dev' && r.reason === RefusalReason.QUOTA_HEADROOM && r.frameworkId === ALL,
    ),
  );
  assert.ok(result.refusals.some((r) => r.agentId === 'a3' && r.frameworkId === 'fw-prod' && r.reason === 'FILTERED'));
});

quota('a limit is never exceeded; names without a limit are not cut', () => {
  const agents = ['a1', 'a2', 'a3', 'a4'].map((id) => agent(id, 'cpus:4;mem:400'));
  // dev limit cpus:6;mem:1000: a1 → 4/400 (consumed 4/400), a2 → cpus cut to 2 (6/800),
  // a3 → cpus 0, mem cut to 200 (6/1000), a4 → nothing left under the limit (QUOTA_LIMIT).
  const result = allocate(
    {
      agents,
      frameworks: [framework('fw-dev', { roles: ['dev'] })],
      filters: [],
      quota: { dev: { limit: { cpus: 6, mem: 1000 } } },
    },
    NOW,
  );
  assert.equal(show(result), [
    'a1->fw-dev(dev) cpus:4;mem:400',
    'a2->fw-dev(dev) cpus:2;mem:400',
    'a3->fw-dev(dev) mem:200',
  ]);
  assert.ok(result.refusals.some((r) => r.agentId === 'a4' && r.role === 'dev' && r.reason === 'QUOTA_LIMIT'));
});

quota('a parent’s limit bounds its children together; existing allocation counts', () => {
  const agents = ['a1', 'a2', 'a3'].map((id) => agent(id, 'cpus:4;mem:400'));
  // eng limit cpus:10. eng/web already holds cpus:4 (consumed 4). a1 → eng/db whole (8),
  // a2 → eng/web cpus cut to 2 (10), a3 → eng roles get no cpus but mem (unlimited).
  const result = allocate(
    {
      agents,
      frameworks: [
        framework('fw-web', { roles: ['eng/web'], allocated: 'cpus:4' }),
        framework('fw-db', { roles: ['eng/db'] }),
      ],
      filters: [],
      quota: { eng: { limit: { cpus: 10 } } },
    },
    NOW,
  );
  const cpusByRole = new Map<string, number>();
  for (const o of result.offers) cpusByRole.set(o.role, (cpusByRole.get(o.role) ?? 0) + o.resources.scalar('cpus'));
  assert.is((cpusByRole.get('eng/web') ?? 0) + (cpusByRole.get('eng/db') ?? 0), 6);
  assert.is(result.offers[0]!.role, 'eng/db');
});

quota('reservations count as consumed and are always offered to their role', () => {
  // web reserved cpus:2;mem:200 on a1; limit cpus:2: the reservation is offered, no unreserved cpus beyond it.
  const result = allocate(
    {
      agents: [agent('a1', 'cpus:4;mem:400;cpus(web):2;mem(web):200')],
      frameworks: [framework('fw-web', { roles: ['web'] })],
      filters: [],
      quota: { web: { limit: { cpus: 2 } } },
    },
    NOW,
  );
  assert.equal(show(result), ['a1->fw-web(web) cpus(web):2;mem:400;mem(web):200']);
});

const reservations = suite('reservations and roles');

reservations('a reservation for a role is offered to it and its descendants, never to others', () => {
  const result = allocate(
    {
      agents: [agent('a1', 'cpus(eng):2;mem(eng):128;cpus(ops):3;mem(ops):64;cpus(eng/web/x):1;mem(eng/web/x):64')],
      frameworks: [
        framework('fw-web', { roles: ['eng/web'] }),
        framework('fw-ops', { roles: ['ops'] }),
        framework('fw-other', { roles: ['other'] }),
      ],
      filters: [],
    },
    NOW,
  );
  assert.equal(show(result).sort(), [
    'a1->fw-ops(ops) cpus(ops):3;mem(ops):64',
    'a1->fw-web(eng/web) cpus(eng):2;mem(eng):128',
  ]);
});

reservations('a refuse filter is per (framework, role, agent)', () => {
  const result = allocate(
    {
      agents: [agent('a1', 'cpus:1;mem:64;cpus(r1):1;mem(r1):64;cpus(r2):1;mem(r2):64')],
      frameworks: [framework('fw', { roles: ['r1', 'r2'] })],
      filters: [{ frameworkId: 'fw', agentId: 'a1', role: 'r1', expiresAt: NOW + 1 }],
    },
    NOW,
  );
  assert.equal(show(result), ['a1->fw(r2) cpus:1;cpus(r2):1;mem:64;mem(r2):64']);
  assert.ok(result.refusals.some((r) => r.frameworkId === 'fw' && r.role === 'r1' && r.reason === 'FILTERED'));
});

reservations('a multi-role framework gets one offer part per role; suppressing a role stops only that part', () => {
  const agents = [agent('a1', 'cpus(r1):1;mem(r1):64;cpus(r2):1;mem(r2):64')];
  const both = allocate({ agents, frameworks: [framework('fw', { roles: ['r1', 'r2'] })], filters: [] }, NOW);
  assert.equal(show(both).sort(), ['a1->fw(r1) cpus(r1):1;mem(r1):64', 'a1->fw(r2) cpus(r2):1;mem(r2):64']);
  const one = allocate(
    { agents, frameworks: [framework('fw', { roles: ['r1', 'r2'], suppressedRoles: ['r1'] })], filters: [] },
    NOW,
  );
  assert.equal(show(one), ['a1->fw(r2) cpus(r2):1;mem(r2):64']);
  assert.ok(one.refusals.some((r) => r.reason === 'SUPPRESSED' && r.role === 'r1'));
});

drf.run();
quota.run();
reservations.run();
