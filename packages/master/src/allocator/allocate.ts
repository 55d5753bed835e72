/**
 * One allocation cycle: hierarchical DRF over roles, then frameworks within
 * a role (Mesos' HierarchicalAllocatorProcess::__allocate without quota).
 *
 * For each agent (shuffled with `random`, else in id order), its free
 * resources (total − allocated) go to roles in sorter order; within a role,
 * to the first framework in sorter order that is not filtered for the agent.
 * That framework gets everything free that the role may use (unreserved plus
 * reserved for the role), and the sorters are updated at once, so the next
 * agent sees the new shares. Pure: no I/O; time and randomness are inputs.
 */
import { Resources, scalarResource } from '@agora/common';
import { DrfSorter, type Sorter } from './sorter.js';
import {
  ALL,
  type AllocationResult,
  type AllocationSnapshot,
  type AllocatorAgent,
  type AllocatorFramework,
  type OfferDecision,
  type Refusal,
  RefusalReason,
  type RefuseFilter,
} from './types.js';

/** The least an offer must hold: cpus or mem at least this much (Mesos MIN_CPUS / MIN_MEM). */
export const MIN_ALLOCATABLE = { cpus: 0.01, mem: 32 } as const;

export interface AllocateOptions {
  /**
   * Makes the sorter for the roles (`role` undefined) and for the frameworks
   * of one role. @default a DrfSorter for both
   */
  createSorter?: (role?: string) => Sorter;
  /** Whether to list refusals (a decline-heavy cluster has many). @default true */
  recordRefusals?: boolean;
  /** @default MIN_ALLOCATABLE */
  minAllocatable?: { cpus: number; mem: number };
}

/** Whether `r` is big enough to offer: cpus >= min.cpus or mem >= min.mem. */
export function isAllocatable(r: Resources, min: { cpus: number; mem: number } = MIN_ALLOCATABLE): boolean {
  if (r.isEmpty()) return false;
  return r.scalar('cpus') >= min.cpus || r.scalar('mem') >= min.mem;
}

function rolesOf(f: AllocatorFramework): string[] {
  return f.roles.length > 0 ? f.roles : [ALL];
}

/** What the framework holds in `role` (see AllocatorFramework.allocatedByRole). */
function allocationInRole(f: AllocatorFramework, role: string, roles: readonly string[]): Resources {
  if (f.allocatedByRole !== undefined) return f.allocatedByRole[role] ?? Resources.empty();
  return role === roles[0] ? f.allocated : Resources.empty();
}

function clusterTotal(agents: readonly AllocatorAgent[]): Resources {
  const sums = new Map<string, number>();
  for (const a of agents) for (const [name, v] of a.total.scalars()) sums.set(name, (sums.get(name) ?? 0) + v);
  let total = Resources.empty();
  for (const [name, v] of sums) total = total.add(scalarResource(name, v));
  return total;
}

/** Agents sorted by id, then shuffled with `random` when given (Fisher–Yates). */
function agentOrder(agents: readonly AllocatorAgent[], random: (() => number) | undefined): AllocatorAgent[] {
  const order = agents.slice().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (random !== undefined) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.min(i, Math.floor(random() * (i + 1)));
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
  }
  return order;
}

/** Active filters by framework then agent (latest expiry), and the expired ones. */
function splitFilters(
  filters: readonly RefuseFilter[],
  now: number,
): { active: Map<string, Map<string, number>>; expired: RefuseFilter[] } {
  const active = new Map<string, Map<string, number>>();
  const expired: RefuseFilter[] = [];
  for (const f of filters) {
    if (f.expiresAt <= now) {
      expired.push(f);
      continue;
    }
    let byAgent = active.get(f.frameworkId);
    if (byAgent === undefined) {
      byAgent = new Map();
      active.set(f.frameworkId, byAgent);
    }
    byAgent.set(f.agentId, Math.max(byAgent.get(f.agentId) ?? 0, f.expiresAt));
  }
  return { active, expired };
}

/** Run one allocation cycle over `snapshot` at time `now` (ms epoch). */
export function allocate(
  snapshot: AllocationSnapshot,
  now: number,
  random?: () => number,
  options: AllocateOptions = {},
): AllocationResult {
  const createSorter = options.createSorter ?? (() => new DrfSorter());
  const record = options.recordRefusals ?? true;
  const min = options.minAllocatable ?? MIN_ALLOCATABLE;
  const refusals: Refusal[] = [];
  const refuse = (r: Refusal): void => {
    if (record) refusals.push(r);
  };

  const { active: filters, expired } = splitFilters(snapshot.filters, now);
  const total = clusterTotal(snapshot.agents);

  // Role sorter: every framework's allocation counts toward its roles' shares,
  // active or not (as in Mesos); framework sorters hold only those that may get offers.
  const roleSorter = createSorter();
  roleSorter.addTotal(total);
  const frameworkSorters = new Map<string, Sorter>();
  const frameworks = snapshot.frameworks.slice().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const f of frameworks) {
    const roles = rolesOf(f);
    if (!f.active) refuse({ frameworkId: f.id, agentId: ALL, reason: RefusalReason.INACTIVE });
    else if (roles.every((r) => f.suppressedRoles.includes(r))) {
      refuse({ frameworkId: f.id, agentId: ALL, reason: RefusalReason.SUPPRESSED });
    }
    for (const role of roles) {
      const alloc = allocationInRole(f, role, roles);
      roleSorter.allocated(role, alloc);
      if (!f.active) continue;
      if (f.suppressedRoles.includes(role)) {
        if (!roles.every((r) => f.suppressedRoles.includes(r))) {
          refuse({ frameworkId: f.id, agentId: ALL, reason: RefusalReason.SUPPRESSED, role });
        }
        continue;
      }
      let fs = frameworkSorters.get(role);
      if (fs === undefined) {
        fs = createSorter(role);
        fs.addTotal(total);
        frameworkSorters.set(role, fs);
      }
      fs.allocated(f.id, alloc);
    }
  }
  for (const role of roleSorter.sort()) roleSorter.updateWeight(role, snapshot.weights?.[role] ?? 1);

  const offers: OfferDecision[] = [];
  if (frameworkSorters.size === 0) return { offers, expiredFilters: expired, refusals };

  for (const agent of agentOrder(snapshot.agents, random)) {
    if (!agent.active) {
      refuse({ frameworkId: ALL, agentId: agent.id, reason: RefusalReason.AGENT_INACTIVE });
      continue;
    }
    let free = agent.total.subtractSaturating(agent.allocated);
    if (free.isEmpty()) {
      refuse({ frameworkId: ALL, agentId: agent.id, reason: RefusalReason.NOTHING_FREE });
      continue;
    }
    if (!isAllocatable(free, min)) {
      refuse({ frameworkId: ALL, agentId: agent.id, reason: RefusalReason.BELOW_MIN_ALLOCATABLE });
      continue;
    }
    // Copy: offering below reorders the role sorter.
    const roles = roleSorter.sort().slice();
    for (const role of roles) {
      const fs = frameworkSorters.get(role);
      if (fs === undefined) continue;
      const available = free.allocatableTo(role);
      if (available.isEmpty()) continue;
      if (!isAllocatable(available, min)) {
        refuse({ frameworkId: ALL, agentId: agent.id, reason: RefusalReason.BELOW_MIN_ALLOCATABLE, role });
        continue;
      }
      for (const frameworkId of fs.sort()) {
        const until = filters.get(frameworkId)?.get(agent.id);
        if (until !== undefined) {
          refuse({ frameworkId, agentId: agent.id, reason: RefusalReason.FILTERED, role });
          continue;
        }
        offers.push({ frameworkId, agentId: agent.id, role, resources: available });
        // The sorters change here, so stop iterating fs.sort() at once.
        fs.allocated(frameworkId, available);
        roleSorter.allocated(role, available);
        free = available === free ? Resources.empty() : free.subtractSaturating(available);
        break;
      }
      if (!isAllocatable(free, min)) break;
    }
  }
  return { offers, expiredFilters: expired, refusals };
}
