/**
 * One allocation cycle: hierarchical weighted DRF with quota and reservations
 * (Mesos' HierarchicalAllocatorProcess::__allocate, 1.9+ semantics).
 *
 * Agents are visited in id order, shuffled with `random` when given.
 * - Stage 1 (only when some role has a quota guarantee): for each agent, each
 *   role with an unsatisfied guarantee (in role-sorter order) is offered what it
 *   may use — its reservations plus unreserved resources up to its shortfall
 *   (and its limits); unreserved resources it has no guarantee for only from
 *   spare headroom.
 * - Stage 2 (fair sharing): for each agent, roles in hierarchical DRF order; in a
 *   role, the first framework in DRF order that is not filtered for (agent, role)
 *   gets everything free it may use: unreserved resources plus those reserved for
 *   the role or an ancestor — cut to the role's quota limits and to the headroom
 *   held back for other roles' unsatisfied guarantees.
 * Sorters are updated at once, so the next agent sees the new shares. Pure: no
 * I/O; time and randomness are inputs.
 */
import { Resources, scalarResource } from '@agora/common';
import { Quantities } from './quantities.js';
import { type CapReason, QuotaState } from './quota-state.js';
import { HierarchicalDrfSorter } from './role-sorter.js';
import { allocatableTo } from './roles.js';
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
   * of one role. @default a HierarchicalDrfSorter for the roles, a DrfSorter for the frameworks
   */
  createSorter?: (role?: string) => Sorter;
  /** Whether to list refusals (a decline-heavy cluster has many). @default true */
  recordRefusals?: boolean;
  /** @default MIN_ALLOCATABLE */
  minAllocatable?: { cpus: number; mem: number };
  /**
   * Offer agents that have gpus only to frameworks with the GPU_RESOURCES capability (`gpuAware`), so that
   * scarce GPU machines are not filled by tasks that do not need them (Mesos' --filter_gpu_resources).
   * @default true
   */
  filterGpuResources?: boolean;
  /**
   * Resources left out of DRF shares (Mesos' --fair_sharing_excluded_resource_names): holding scarce gpus does
   * not push a framework or role behind the others for cpus and mem. @default ['gpus']
   */
  fairSharingExcludedResourceNames?: readonly string[];
}

/** The default of AllocateOptions.fairSharingExcludedResourceNames. */
export const FAIR_SHARING_EXCLUDED_RESOURCE_NAMES: readonly string[] = ['gpus'];

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
  const sums = new Quantities();
  for (const a of agents) sums.addResources(a.total, 1);
  return sums.toResources();
}

/** `r` without the scalars named. */
function withoutScalars(r: Resources, names: readonly string[]): Resources {
  const q = new Quantities();
  for (const [name, v] of r.scalars()) if (!names.includes(name)) q.addMillis(name, Math.round(v * 1000));
  return q.toResources();
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

/**
 * Active filters: framework → agent → latest expiry of filters for every role;
 * and `framework\0agent\0role` keys of filters for one role.
 */
interface FilterIndex {
  all: Map<string, Map<string, number>>;
  byRole: Set<string>;
}

function splitFilters(filters: readonly RefuseFilter[], now: number): { active: FilterIndex; expired: RefuseFilter[] } {
  const active: FilterIndex = { all: new Map(), byRole: new Set() };
  const expired: RefuseFilter[] = [];
  for (const f of filters) {
    if (f.expiresAt <= now) {
      expired.push(f);
      continue;
    }
    if (f.role !== undefined) {
      active.byRole.add(`${f.frameworkId}\u0000${f.agentId}\u0000${f.role}`);
      continue;
    }
    let byAgent = active.all.get(f.frameworkId);
    if (byAgent === undefined) {
      byAgent = new Map();
      active.all.set(f.frameworkId, byAgent);
    }
    byAgent.set(f.agentId, Math.max(byAgent.get(f.agentId) ?? 0, f.expiresAt));
  }
  return { active, expired };
}

/** The scalars of `r` removed (what is left: ranges and sets). */
function nonScalars(r: Resources): Resources {
  return r.subtractSaturating(Quantities.fromResources(r).toResources());
}

/**
 * `unreserved` with each scalar cut to its cap; returns the reason that cut
 * the most when something was cut.
 */
function capped(
  unreserved: Resources,
  cap: (name: string) => { millis: number; reason: CapReason | undefined },
): { resources: Resources; cutBy: CapReason | undefined } {
  let cutBy: CapReason | undefined;
  let scalars = Resources.empty();
  let changed = false;
  for (const [name, v] of unreserved.scalars()) {
    const have = Math.round(v * 1000);
    const c = cap(name);
    const give = Math.min(have, c.millis);
    if (give < have) {
      changed = true;
      cutBy ??= c.reason;
    }
    if (give > 0) scalars = scalars.add(scalarResource(name, give / 1000));
  }
  if (!changed) return { resources: unreserved, cutBy };
  return { resources: nonScalars(unreserved).add(scalars), cutBy };
}

/** Run one allocation cycle over `snapshot` at time `now` (ms epoch). */
export function allocate(
  snapshot: AllocationSnapshot,
  now: number,
  random?: () => number,
  options: AllocateOptions = {},
): AllocationResult {
  const record = options.recordRefusals ?? true;
  const min = options.minAllocatable ?? MIN_ALLOCATABLE;
  const refusals: Refusal[] = [];
  const refuse = (r: Refusal): void => {
    if (record) refusals.push(r);
  };

  const { active: filters, expired } = splitFilters(snapshot.filters, now);
  const isFiltered = (frameworkId: string, agentId: string, role: string): boolean => {
    if (filters.all.get(frameworkId)?.has(agentId) === true) return true;
    return filters.byRole.size > 0 && filters.byRole.has(`${frameworkId}\u0000${agentId}\u0000${role}`);
  };
  const total = clusterTotal(snapshot.agents);
  // DRF shares are measured against the total without the excluded resources (their share is then 0).
  const excluded = options.fairSharingExcludedResourceNames ?? FAIR_SHARING_EXCLUDED_RESOURCE_NAMES;
  const sharingTotal = excluded.length === 0 ? total : withoutScalars(total, excluded);
  const filterGpus = options.filterGpuResources ?? true;
  const gpuAware = new Set(snapshot.frameworks.filter((f) => f.gpuAware === true).map((f) => f.id));
  /** Whether the framework may not be offered the agent (it has gpus; the framework is not GPU-aware). */
  const gpuRefused = (frameworkId: string, agent: AllocatorAgent): boolean =>
    filterGpus && !gpuAware.has(frameworkId) && agent.total.scalar('gpus') > 0;

  // Role sorter: every framework's allocation counts toward its roles' shares,
  // active or not (as in Mesos); framework sorters hold only those that may get offers.
  const roleSorter = options.createSorter?.() ?? new HierarchicalDrfSorter();
  roleSorter.addTotal(sharingTotal);
  const createFrameworkSorter = options.createSorter ?? (() => new DrfSorter());
  const frameworkSorters = new Map<string, Sorter>();
  const quota = snapshot.quota === undefined ? undefined : new QuotaState(snapshot.quota);
  const withQuota = quota !== undefined && !quota.isEmpty ? quota : undefined;
  const frameworks = snapshot.frameworks.slice().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const f of frameworks) {
    const roles = rolesOf(f);
    const allSuppressed = roles.every((r) => f.suppressedRoles.includes(r));
    if (!f.active) refuse({ frameworkId: f.id, agentId: ALL, reason: RefusalReason.INACTIVE });
    else if (allSuppressed) refuse({ frameworkId: f.id, agentId: ALL, reason: RefusalReason.SUPPRESSED });
    for (const role of roles) {
      const alloc = allocationInRole(f, role, roles);
      roleSorter.allocated(role, alloc);
      withQuota?.consume(role, alloc.unreserved());
      if (!f.active) continue;
      if (f.suppressedRoles.includes(role)) {
        if (!allSuppressed) refuse({ frameworkId: f.id, agentId: ALL, reason: RefusalReason.SUPPRESSED, role });
        continue;
      }
      let fs = frameworkSorters.get(role);
      if (fs === undefined) {
        fs = createFrameworkSorter(role);
        fs.addTotal(sharingTotal);
        frameworkSorters.set(role, fs);
      }
      fs.allocated(f.id, alloc);
    }
  }
  if (roleSorter instanceof HierarchicalDrfSorter) {
    for (const [role, w] of Object.entries(snapshot.weights ?? {})) roleSorter.updateWeight(role, w);
  } else {
    for (const role of roleSorter.sort().slice()) roleSorter.updateWeight(role, snapshot.weights?.[role] ?? 1);
  }

  const order = agentOrder(snapshot.agents, random);
  // What is free on each agent, by its index in `order`.
  const free: Resources[] = new Array(order.length);
  for (let i = 0; i < order.length; i++) {
    const agent = order[i]!;
    const f = agent.total.subtractSaturating(agent.allocated);
    free[i] = f;
    if (withQuota === undefined) continue;
    // Reservations (allocated or not) count as consumed by their role; unreserved free scalars of active agents are headroom.
    for (const r of agent.total.roles()) if (r !== ALL) withQuota.consume(r, agent.total.reservedFor(r));
    if (agent.active) withQuota.addAvailable(f.unreserved());
  }
  withQuota?.refreshRequired();

  const offers: OfferDecision[] = [];
  if (frameworkSorters.size === 0) return { offers, expiredFilters: expired, refusals };
  // Stage 1 and stage 2 may both give to one (framework, agent, role): merge those into one decision.
  const decisionIndex = withQuota?.hasGuarantees ? new Map<string, number>() : undefined;
  const give = (frameworkId: string, at: number, role: string, resources: Resources, fs: Sorter): void => {
    const agentId = order[at]!.id;
    const key = decisionIndex === undefined ? '' : `${frameworkId}\u0000${agentId}\u0000${role}`;
    const index = decisionIndex?.get(key);
    if (index === undefined) {
      decisionIndex?.set(key, offers.length);
      offers.push({ frameworkId, agentId, role, resources });
    } else {
      const d = offers[index]!;
      offers[index] = { ...d, resources: d.resources.add(resources) };
    }
    fs.allocated(frameworkId, resources);
    roleSorter.allocated(role, resources);
    withQuota?.charge(role, resources);
    const left = free[at]!;
    free[at] = resources === left ? Resources.empty() : left.subtractSaturating(resources);
  };

  /** Give to the first framework of the role, in DRF order, that is neither filtered nor refused for gpus. */
  const giveToFirst = (at: number, role: string, resources: Resources, fs: Sorter): void => {
    const agent = order[at]!;
    for (const frameworkId of fs.sort()) {
      if (isFiltered(frameworkId, agent.id, role)) {
        refuse({ frameworkId, agentId: agent.id, reason: RefusalReason.FILTERED, role });
        continue;
      }
      if (gpuRefused(frameworkId, agent)) {
        refuse({ frameworkId, agentId: agent.id, reason: RefusalReason.GPU_NOT_SUPPORTED, role });
        continue;
      }
      give(frameworkId, at, role, resources, fs);
      return;
    }
  };

  /** Stage 1: quota guarantees first. */
  if (withQuota?.hasGuarantees) {
    for (let at = 0; at < order.length; at++) {
      const agent = order[at]!;
      if (!agent.active || !isAllocatable(free[at]!, min)) continue;
      for (const role of roleSorter.sort().slice()) {
        const fs = frameworkSorters.get(role);
        if (fs === undefined) continue;
        const short = withQuota.unsatisfied(role);
        if (short.isEmpty()) continue;
        const available = allocatableTo(free[at]!, role);
        const unreserved = available.unreserved();
        const reserved = available.subtractSaturating(unreserved);
        let towardGuarantee = false;
        const part = capped(unreserved, (name) => {
          const c = withQuota.cap(role, name);
          const s = short.getMillis(name);
          if (s === 0) return c; // not guaranteed: only from spare headroom, within limits
          const limit = withQuota.limitRoom(role, name);
          if (Math.min(s, limit) > 0) towardGuarantee = true;
          return s <= limit ? { millis: s, reason: 'headroom' } : { millis: limit, reason: 'limit' };
        });
        if (!towardGuarantee && reserved.isEmpty()) continue;
        const toAllocate = reserved.add(part.resources);
        if (!isAllocatable(toAllocate, min)) continue;
        giveToFirst(at, role, toAllocate, fs);
        if (!isAllocatable(free[at]!, min)) break;
      }
    }
  }

  /** Stage 2: fair sharing of the rest. */
  for (let at = 0; at < order.length; at++) {
    const agent = order[at]!;
    if (!agent.active) {
      refuse({ frameworkId: ALL, agentId: agent.id, reason: RefusalReason.AGENT_INACTIVE });
      continue;
    }
    if (free[at]!.isEmpty()) {
      refuse({ frameworkId: ALL, agentId: agent.id, reason: RefusalReason.NOTHING_FREE });
      continue;
    }
    if (!isAllocatable(free[at]!, min)) {
      refuse({ frameworkId: ALL, agentId: agent.id, reason: RefusalReason.BELOW_MIN_ALLOCATABLE });
      continue;
    }
    // Copy: offering below reorders the role sorter.
    for (const role of roleSorter.sort().slice()) {
      const fs = frameworkSorters.get(role);
      if (fs === undefined) continue;
      const available = allocatableTo(free[at]!, role);
      if (available.isEmpty()) continue;
      let toAllocate = available;
      let cutBy: CapReason | undefined;
      if (withQuota !== undefined) {
        const unreserved = available.unreserved();
        const part = capped(unreserved, (name) => withQuota.cap(role, name));
        if (part.resources !== unreserved) {
          toAllocate = available.subtractSaturating(unreserved).add(part.resources);
          cutBy = part.cutBy;
        }
      }
      if (!isAllocatable(toAllocate, min)) {
        const reason =
          cutBy === 'limit'
            ? RefusalReason.QUOTA_LIMIT
            : cutBy === 'headroom'
              ? RefusalReason.QUOTA_HEADROOM
              : RefusalReason.BELOW_MIN_ALLOCATABLE;
        refuse({ frameworkId: ALL, agentId: agent.id, reason, role });
        continue;
      }
      giveToFirst(at, role, toAllocate, fs);
      if (!isAllocatable(free[at]!, min)) break;
    }
  }
  return { offers, expiredFilters: expired, refusals };
}
