/**
 * The allocation cycle: every `intervalMs`, and soon after any change that may
 * free or add resources (agent added, framework subscribed, resources
 * recovered, revive), build a snapshot from the managers, ask the pure
 * allocator for offer decisions, make the offers and send them as OFFERS
 * events. Triggers are merged (Mesos' allocation candidates): at most one
 * cycle is pending at a time.
 */
import { type Clock, type Disposable, DisposableStore, type Logger, Resources } from '@agora/common';
import { agora } from '@agora/proto';
import type { AgentManager } from '../agents/agent-manager.js';
import {
  type AllocationSnapshot,
  type AllocatorAgent,
  type AllocatorFramework,
  allocate,
  type OfferDecision,
} from '../allocator/index.js';
import type { FrameworkManager } from '../frameworks/framework-manager.js';
import type { OfferManager, OfferRecord } from '../offers/offer-manager.js';
import { isEndedState, type TaskTracker } from '../tasks/task-tracker.js';

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
}

export class AllocationCycle implements Disposable {
  private readonly store = new DisposableStore();
  private pending: NodeJS.Immediate | undefined;
  private running = false;

  constructor(private readonly options: AllocationCycleOptions) {}

  /** Start the periodic cycle. */
  start(): void {
    this.store.add(this.options.clock.setInterval(() => this.runNow(), this.options.intervalMs));
  }

  /** Ask for a cycle soon; several requests before it runs make one cycle. */
  request(): void {
    if (this.pending !== undefined || this.store.isDisposed) return;
    this.pending = setImmediate(() => {
      this.pending = undefined;
      this.runNow();
    });
  }

  /** Run one cycle now; returns the offers made. */
  runNow(): OfferRecord[] {
    if (this.running || this.store.isDisposed) return [];
    this.running = true;
    try {
      return this.cycle();
    } catch (err) {
      this.options.logger.error({ err }, 'allocation cycle failed');
      return [];
    } finally {
      this.running = false;
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
    const allocatorFrameworks: AllocatorFramework[] = frameworks.all().map((f) => ({
      id: f.id,
      roles: [...f.roles],
      active: f.active,
      suppressedRoles: [...f.suppressedRoles],
      allocated: usedByFramework.get(f.id) ?? Resources.empty(),
    }));
    return { agents: allocatorAgents, frameworks: allocatorFrameworks, filters: [...offers.filters()] };
  }

  dispose(): void {
    if (this.pending !== undefined) clearImmediate(this.pending);
    this.pending = undefined;
    this.store.dispose();
  }

  private cycle(): OfferRecord[] {
    const { agents, frameworks, offers, logger, clock } = this.options;
    const result = allocate(this.snapshot(), clock.now(), this.options.random);
    offers.removeFilters(result.expiredFilters);
    if (result.offers.length === 0) return [];

    const grouped = new Map<string, OfferDecision[]>();
    for (const d of result.offers) {
      const k = `${d.frameworkId}\u0000${d.agentId}`;
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
