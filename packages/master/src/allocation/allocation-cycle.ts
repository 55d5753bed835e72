/**
 * The allocation cycle: every `intervalMs`, and soon after any change that may
 * free or add resources (agent added, framework subscribed, resources
 * recovered, revive), build a snapshot from the managers, ask the pure
 * allocator for offer decisions, make the offers and send them as OFFERS
 * events. Triggers are merged (Mesos' allocation candidates): at most one
 * cycle is pending at a time.
 */
import { type Clock, type Disposable, DisposableStore, type Logger, Resources } from '@agora/common';
import { agora, type Resource } from '@agora/proto';
import type { AgentManager, AgentRecord } from '../agents/agent-manager.js';
import {
  type AllocateOptions,
  type AllocationSnapshot,
  FAIR_SHARING_EXCLUDED_RESOURCE_NAMES,
  type AllocatorAgent,
  type AllocatorFramework,
  allocate,
  isWithin,
  type OfferDecision,
  type RoleQuota,
} from '../allocator/index.js';
import type { FrameworkManager } from '../frameworks/framework-manager.js';
import { AllocationStats, allocatorMetrics } from './allocation-metrics.js';
import type { OfferManager, OfferRecord } from '../offers/offer-manager.js';
import type { ReservationLedger } from '../reservations/ledger.js';
import { isEndedState, type TaskTracker } from '../tasks/task-tracker.js';

const GPU_RESOURCES = agora.v1.FrameworkInfo.Capability.Type.GPU_RESOURCES;

export interface AllocationCycleOptions {
  clock: Clock;
  logger: Logger;
  intervalMs: number;
  agents: AgentManager;
  frameworks: FrameworkManager;
  offers: OfferManager;
  tasks: TaskTracker;
  /** Randomness for the allocator (ties); Math.random by default. */
  random?: () => number;
  /** Dynamic reservations: offers describe reserved resources (STATIC / DYNAMIC, principal, labels). */
  reservations?: ReservationLedger;
  /** The maintenance window of an agent's machine, put in its offers (`Offer.unavailability`). */
  unavailabilityOf?: (agent: AgentRecord) => agora.v1.Unavailability.$Properties | undefined;
  /** The allocator's GPU options (see AllocateOptions); its defaults when absent. */
  allocateOptions?: Pick<AllocateOptions, 'filterGpuResources' | 'fairSharingExcludedResourceNames'>;
  /** Role weights and quota for the allocator (from the registry); none when absent. */
  roleConfig?: () => { weights: Readonly<Record<string, number>>; quota: Readonly<Record<string, RoleQuota>> };
}

/**
 * The role a task's resources count toward when it has no recorded role (TaskRecord.role: tasks recovered from
 * agents that did not report one): a role of the framework its resources are reserved for (or within), else the
 * framework's first role.
 */
export function taskRole(frameworkRoles: readonly string[], resources: Resources): string {
  const first = frameworkRoles[0] ?? '*';
  if (frameworkRoles.length <= 1) return first;
  for (const r of resources.roles()) {
    if (r === '*') continue;
    const match = frameworkRoles.find((fr) => isWithin(fr, r));
    if (match !== undefined) return match;
  }
  return first;
}

/**
 * What each framework holds per allocation role: its tasks (by the role they were launched with, else see taskRole)
 * and its offers (by allocation_info.role).
 */
export function allocationByRole(
  frameworks: FrameworkManager,
  offers: OfferManager,
  tasks: TaskTracker,
): Map<string, Map<string, Resources>> {
  const out = new Map<string, Map<string, Resources>>();
  const add = (frameworkId: string, role: string, r: Resources): void => {
    let byRole = out.get(frameworkId);
    if (byRole === undefined) {
      byRole = new Map();
      out.set(frameworkId, byRole);
    }
    byRole.set(role, (byRole.get(role) ?? Resources.empty()).add(r));
  };
  const rolesOf = new Map(frameworks.all().map((f) => [f.id, f.roles] as const));
  for (const t of tasks.all()) {
    if (isEndedState(t.state)) continue;
    add(t.frameworkId, t.role ?? taskRole(rolesOf.get(t.frameworkId) ?? ['*'], t.resources), t.resources);
  }
  for (const o of offers.all()) {
    // Every offer the cycle makes is allocated to one role: its resources need no re-parsing.
    if (o.role !== undefined) {
      add(o.frameworkId, o.role, o.resources);
      continue;
    }
    const byRole = new Map<string, Resource[]>();
    for (const r of o.offer.resources ?? []) {
      const role = r.allocation_info?.role ?? rolesOf.get(o.frameworkId)?.[0] ?? '*';
      const list = byRole.get(role);
      if (list === undefined) byRole.set(role, [r]);
      else list.push(r);
    }
    for (const [role, list] of byRole) add(o.frameworkId, role, Resources.fromProto(list));
  }
  return out;
}

export class AllocationCycle implements Disposable {
  private readonly store = new DisposableStore();
  private pending: NodeJS.Immediate | undefined;
  /** When the pending cycle was first asked for (performance.now()). */
  private requestedAt = 0;
  /** Runs and their durations (allocation-metrics.ts). */
  readonly stats = new AllocationStats();
  private running = false;
  private paused = false;

  constructor(private readonly options: AllocationCycleOptions) {}

  /**
   * Pause or resume allocation (after a failover, until enough agents re-registered). A paused cycle makes
   * no offers; resuming runs a cycle soon.
   */
  setPaused(paused: boolean): void {
    if (this.paused === paused) return;
    this.paused = paused;
    if (!paused) this.request();
  }

  isPaused(): boolean {
    return this.paused;
  }

  /** Start the periodic cycle. */
  start(): void {
    this.store.add(this.options.clock.setInterval(() => this.runNow(), this.options.intervalMs));
  }

  /** Ask for a cycle soon; several requests before it runs make one cycle. */
  request(): void {
    if (this.pending !== undefined || this.store.isDisposed) return;
    this.requestedAt = performance.now();
    this.pending = setImmediate(() => {
      this.pending = undefined;
      this.run(performance.now() - this.requestedAt);
    });
  }

  /** A requested cycle has not run yet. */
  isPending(): boolean {
    return this.pending !== undefined;
  }

  /** Run one cycle now; returns the offers made. */
  runNow(): OfferRecord[] {
    return this.run(0);
  }

  private run(latencyMs: number): OfferRecord[] {
    if (this.running || this.paused || this.store.isDisposed) return [];
    this.running = true;
    const started = performance.now();
    try {
      return this.cycle();
    } catch (err) {
      this.options.logger.error({ err }, 'allocation cycle failed');
      return [];
    } finally {
      this.running = false;
      this.stats.recordRun(performance.now() - started, latencyMs);
    }
  }

  /** The allocator's input, from the managers' current state. */
  snapshot(): AllocationSnapshot {
    const { agents, frameworks, offers, tasks } = this.options;
    const usedOnAgent = new Map<string, Resources>();
    const usedByFramework = new Map<string, Resources>();
    const add = (map: Map<string, Resources>, k: string, r: Resources) =>
      map.set(k, (map.get(k) ?? Resources.empty()).add(r));
    for (const t of tasks.all()) {
      if (isEndedState(t.state)) continue;
      add(usedOnAgent, t.agentId, t.resources);
      add(usedByFramework, t.frameworkId, t.resources);
    }
    for (const o of offers.all()) {
      add(usedOnAgent, o.agentId, o.resources);
      add(usedByFramework, o.frameworkId, o.resources);
    }
    const allocatorAgents: AllocatorAgent[] = agents.all().map((a) => {
      const used = usedOnAgent.get(a.id) ?? Resources.empty();
      // Never claim more than the agent has (e.g. tasks re-registered with resources the agent no longer lists).
      const allocated = a.total.subtract(a.total.subtractSaturating(used));
      return { id: a.id, hostname: a.hostname, total: a.total, allocated, active: a.active };
    });
    const byRole = allocationByRole(frameworks, offers, tasks);
    const allocatorFrameworks: AllocatorFramework[] = frameworks.all().map((f) => {
      const roles = byRole.get(f.id);
      return {
        id: f.id,
        roles: [...f.roles],
        active: f.active,
        suppressedRoles: [...f.suppressedRoles],
        allocated: usedByFramework.get(f.id) ?? Resources.empty(),
        ...(roles === undefined ? {} : { allocatedByRole: Object.fromEntries(roles) }),
        ...(f.capabilities.has(GPU_RESOURCES) ? { gpuAware: true } : {}),
      };
    });
    const config = this.options.roleConfig?.();
    return {
      agents: allocatorAgents,
      frameworks: allocatorFrameworks,
      filters: [...offers.filters()],
      ...(config === undefined ? {} : { weights: config.weights, quota: config.quota }),
    };
  }

  /** The allocator's metrics (Mesos' `allocator/mesos/*` names; see allocation-metrics.ts). */
  metrics(): Record<string, number> {
    const { agents, frameworks, offers, tasks, clock } = this.options;
    let total = Resources.empty();
    for (const a of agents.all()) if (a.active) total = total.add(a.total);
    return allocatorMetrics({
      stats: this.stats,
      pending: this.isPending(),
      total,
      allocation: allocationByRole(frameworks, offers, tasks),
      frameworkRoles: new Map(frameworks.all().map((f) => [f.id, f.roles] as const)),
      filters: offers.filters(),
      now: clock.now(),
      quota: this.options.roleConfig?.().quota ?? {},
      excludedFromShares:
        this.options.allocateOptions?.fairSharingExcludedResourceNames ?? FAIR_SHARING_EXCLUDED_RESOURCE_NAMES,
    });
  }

  dispose(): void {
    if (this.pending !== undefined) clearImmediate(this.pending);
    this.pending = undefined;
    this.store.dispose();
  }

  private cycle(): OfferRecord[] {
    const { agents, frameworks, offers, logger, clock, reservations } = this.options;
    const result = allocate(this.snapshot(), clock.now(), this.options.random, this.options.allocateOptions);
    offers.removeFilters(result.expiredFilters);
    if (result.offers.length === 0) return [];

    // One offer per framework, agent and role (Mesos: every offer is allocated to a single role).
    const grouped = new Map<string, OfferDecision[]>();
    for (const d of result.offers) {
      const k = `${d.frameworkId}\u0000${d.agentId}\u0000${d.role}`;
      grouped.set(k, [...(grouped.get(k) ?? []), d]);
    }
    const byFramework = new Map<string, OfferRecord[]>();
    for (const decisions of grouped.values()) {
      const first = decisions[0]!;
      const agent = agents.get(first.agentId);
      if (agent === undefined) continue;
      const record = offers.create(
        first.frameworkId,
        agent,
        decisions.map((d) => ({ role: d.role, resources: d.resources })),
        reservations === undefined ? undefined : (r) => reservations.describe(agent, r),
        this.options.unavailabilityOf?.(agent),
      );
      byFramework.set(first.frameworkId, [...(byFramework.get(first.frameworkId) ?? []), record]);
    }
    const made: OfferRecord[] = [];
    for (const [frameworkId, records] of byFramework) {
      const sent = frameworks.send(frameworkId, {
        type: agora.v1.scheduler.Event.Type.OFFERS,
        offers: { offers: records.map((r) => r.offer) },
      });
      if (!sent) {
        for (const r of records) offers.remove(r.id);
        continue;
      }
      made.push(...records);
      logger.debug(
        {
          frameworkId,
          offers: records.map((r) => ({ id: r.id, agentId: r.agentId, resources: r.resources.toString() })),
        },
        'offers sent',
      );
    }
    return made;
  }
}
