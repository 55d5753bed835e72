/**
 * The allocator's metrics, with Mesos' names (docs/monitoring.md, "Allocator"):
 *
 * - `allocator/mesos/allocation_runs` — cycles run since this master started (counter);
 * - `allocator/mesos/allocation_run_ms` — how long a cycle took (timer: the last value, and `/count`, `/min`,
 *   `/max`, `/p50`, `/p90`, `/p95`, `/p99`, `/p999`, `/p9999` over the last 1,000 cycles);
 * - `allocator/mesos/allocation_run_latency_ms` — how long a cycle waited between being asked for (an event:
 *   agent added, resources recovered, revive, …) and running (timer; 0 for the periodic cycle);
 * - `allocator/mesos/event_queue_dispatches` (and the older `allocator/event_queue_dispatches`) — cycles asked for
 *   and not run yet (0 or 1: requests are merged);
 * - `allocator/mesos/resources/<res>/total|offered_or_allocated` — scalar totals of active agents, and what of
 *   them is offered or allocated;
 * - `allocator/mesos/roles/<role>/shares/dominant` — the role's dominant share (its and its descendants'
 *   offered and allocated resources over the cluster total, the largest ratio over scalar resources that count
 *   in fair sharing — not gpus by default; unweighted);
 * - `allocator/mesos/offer_filters/roles/<role>/active` — refuse filters in force for the role (a filter made
 *   for all of a framework's roles counts for each);
 * - `allocator/mesos/quota/roles/<role>/resources/<res>/guarantee|offered_or_allocated` — for each role with a
 *   quota guarantee, per guaranteed resource: the guarantee, and what the role (with its descendants) is offered
 *   or allocated of it.
 *
 * AllocationStats is fed by the allocation cycle; allocatorMetrics is pure (numbers in, numbers out).
 */
import { Resources } from '@agora/common';
import { isWithin, type RefuseFilter, type RoleQuota } from '../allocator/index.js';

/** Samples kept per timer. */
export const TIMER_WINDOW = 1000;

export class AllocationStats {
  runs = 0;
  readonly runMs: number[] = [];
  readonly latencyMs: number[] = [];

  recordRun(runMs: number, latencyMs: number): void {
    this.runs++;
    push(this.runMs, runMs);
    push(this.latencyMs, latencyMs);
  }
}

function push(samples: number[], value: number): void {
  samples.push(value);
  if (samples.length > TIMER_WINDOW) samples.shift();
}

/** A Mesos timer: `<name>` (last value), `<name>/count`, `/min`, `/max` and percentiles. */
export function timerMetrics(name: string, samples: readonly number[]): Record<string, number> {
  if (samples.length === 0) return {};
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
  return {
    [name]: samples[samples.length - 1]!,
    [`${name}/count`]: samples.length,
    [`${name}/min`]: sorted[0]!,
    [`${name}/max`]: sorted[sorted.length - 1]!,
    [`${name}/p50`]: at(0.5),
    [`${name}/p90`]: at(0.9),
    [`${name}/p95`]: at(0.95),
    [`${name}/p99`]: at(0.99),
    [`${name}/p999`]: at(0.999),
    [`${name}/p9999`]: at(0.9999),
  };
}

export interface AllocatorMetricsInput {
  stats: AllocationStats;
  /** A requested cycle has not run yet. */
  pending: boolean;
  /** Total resources of the active agents. */
  total: Resources;
  /** Offered and allocated resources per framework and allocation role. */
  allocation: ReadonlyMap<string, ReadonlyMap<string, Resources>>;
  /** Roles of each framework (for filters made for all of them). */
  frameworkRoles: ReadonlyMap<string, readonly string[]>;
  filters: readonly RefuseFilter[];
  now: number;
  quota: Readonly<Record<string, RoleQuota>>;
  /** Resources left out of DRF shares (they do not count in `shares/dominant` either). @default none */
  excludedFromShares?: readonly string[];
}

const P = 'allocator/mesos';

export function allocatorMetrics(input: AllocatorMetricsInput): Record<string, number> {
  const m: Record<string, number> = {};
  m[`${P}/allocation_runs`] = input.stats.runs;
  Object.assign(m, timerMetrics(`${P}/allocation_run_ms`, input.stats.runMs));
  Object.assign(m, timerMetrics(`${P}/allocation_run_latency_ms`, input.stats.latencyMs));
  m[`${P}/event_queue_dispatches`] = input.pending ? 1 : 0;
  m['allocator/event_queue_dispatches'] = input.pending ? 1 : 0;

  // Allocation per role (own), and over everything.
  const byRole = new Map<string, Resources>();
  let allocated = Resources.empty();
  for (const roles of input.allocation.values()) {
    for (const [role, r] of roles) {
      byRole.set(role, (byRole.get(role) ?? Resources.empty()).add(r));
      allocated = allocated.add(r);
    }
  }
  const totals = input.total.scalars();
  const excluded = input.excludedFromShares ?? [];
  for (const [name, value] of totals) {
    m[`${P}/resources/${name}/total`] = value;
    m[`${P}/resources/${name}/offered_or_allocated`] = allocated.scalar(name);
  }

  // Roles: those with frameworks or allocations, and their ancestors.
  const roles = new Set<string>();
  const addWithAncestors = (role: string) => {
    const parts = role.split('/');
    for (let i = 1; i <= parts.length; i++) roles.add(parts.slice(0, i).join('/'));
  };
  for (const list of input.frameworkRoles.values()) for (const r of list) addWithAncestors(r);
  for (const r of byRole.keys()) addWithAncestors(r);
  const subtree = (role: string) => {
    let sum = Resources.empty();
    for (const [r, res] of byRole) if (isWithin(r, role)) sum = sum.add(res);
    return sum;
  };
  for (const role of roles) {
    const alloc = subtree(role);
    let share = 0;
    for (const [name, total] of totals) {
      if (total > 0 && !excluded.includes(name)) share = Math.max(share, alloc.scalar(name) / total);
    }
    m[`${P}/roles/${role}/shares/dominant`] = share;
  }

  const active = new Map<string, number>();
  for (const f of input.filters) {
    if (f.expiresAt <= input.now) continue;
    const filterRoles = f.role !== undefined ? [f.role] : (input.frameworkRoles.get(f.frameworkId) ?? []);
    for (const r of filterRoles) active.set(r, (active.get(r) ?? 0) + 1);
  }
  for (const role of new Set([...roles, ...active.keys()])) {
    m[`${P}/offer_filters/roles/${role}/active`] = active.get(role) ?? 0;
  }

  for (const [role, q] of Object.entries(input.quota)) {
    if (q.guarantee === undefined) continue;
    const alloc = subtree(role);
    for (const [name, amount] of Object.entries(q.guarantee)) {
      m[`${P}/quota/roles/${role}/resources/${name}/guarantee`] = amount;
      m[`${P}/quota/roles/${role}/resources/${name}/offered_or_allocated`] = alloc.scalar(name);
    }
  }
  return m;
}
