/**
 * Quota bookkeeping for one allocation cycle (Mesos 1.9+ semantics):
 * a role's *consumption* is the unreserved resources allocated to it and its
 * descendants plus every reservation (allocated or not) for it and its
 * descendants (Mesos' `Role::quotaConsumed`); a reservation of an ancestor
 * used by a descendant counts for neither; *required headroom* is the sum
 * of unsatisfied guarantees; *available headroom* is the unreserved, unallocated
 * scalars on active agents. Non-quota allocations may only use what available
 * headroom has beyond required headroom, and no allocation takes a role (or any
 * ancestor) beyond its limit. Pure.
 */
import type { Resources } from '@agora/common';
import { Quantities } from './quantities.js';
import { ANY, isWithin } from './roles.js';
import type { RoleQuota } from './types.js';

interface QuotaEntry {
  readonly role: string;
  readonly guarantee: Quantities;
  /** undefined: no limit at all; else names listed are limited. */
  readonly limit: Quantities | undefined;
  readonly limitNames: ReadonlySet<string>;
  readonly consumed: Quantities;
  /** Whether no ancestor of this role also has a guarantee (its shortfall counts toward required headroom). */
  top: boolean;
}

/** Which cap cut an unreserved amount. */
export type CapReason = 'limit' | 'headroom';

export interface Cap {
  millis: number;
  reason: CapReason | undefined;
}

export class QuotaState {
  private readonly entries = new Map<string, QuotaEntry>();
  private readonly overCache = new Map<string, QuotaEntry[]>();
  /** Σ unsatisfied guarantees of top guarantee roles. */
  readonly required = new Quantities();
  /** Unreserved, unallocated scalars on active agents. */
  readonly available = new Quantities();
  private readonly guaranteed: boolean;

  constructor(quota: Readonly<Record<string, RoleQuota>>) {
    for (const [role, q] of Object.entries(quota)) {
      const guarantee = Quantities.of(q.guarantee);
      const limit = q.limit === undefined ? undefined : Quantities.of(q.limit);
      const limitNames = new Set(q.limit === undefined ? [] : Object.keys(q.limit));
      if (guarantee.isEmpty() && limitNames.size === 0) continue;
      this.entries.set(role, { role, guarantee, limit, limitNames, consumed: new Quantities(), top: true });
    }
    this.guaranteed = [...this.entries.values()].some((e) => !e.guarantee.isEmpty());
    for (const e of this.entries.values()) {
      if (e.guarantee.isEmpty()) continue;
      for (const other of this.entries.values()) {
        if (other !== e && !other.guarantee.isEmpty() && isWithin(e.role, other.role)) e.top = false;
      }
    }
  }

  get isEmpty(): boolean {
    return this.entries.size === 0;
  }

  get hasGuarantees(): boolean {
    return this.guaranteed;
  }

  /** Quota entries of `role` and its ancestors. */
  over(role: string): QuotaEntry[] {
    let list = this.overCache.get(role);
    if (list === undefined) {
      list = role === ANY ? [] : [...this.entries.values()].filter((e) => isWithin(role, e.role));
      this.overCache.set(role, list);
    }
    return list;
  }

  /** Count `r` (unreserved resources allocated to `role`, or resources reserved for it) as consumed. */
  consume(role: string, r: Resources): void {
    for (const e of this.over(role)) e.consumed.addResources(r, 1);
  }

  /** Count unreserved free scalars of an active agent as available headroom. */
  addAvailable(unreserved: Resources): void {
    this.available.addResources(unreserved, 1);
  }

  /** Recompute required headroom (after consumption changed). */
  refreshRequired(): void {
    this.required.millis.clear();
    for (const e of this.entries.values()) {
      if (!e.top || e.guarantee.isEmpty()) continue;
      for (const [name, g] of e.guarantee.millis) {
        const short = g - e.consumed.getMillis(name);
        if (short > 0) this.required.addMillis(name, short);
      }
    }
  }

  /**
   * The guarantee shortfall `role` may still be given in stage 1, by name: for each name guaranteed to the role
   * or an ancestor, the smallest shortfall among them (a child of `eng` helps meet `eng`'s guarantee, but never
   * beyond its own). Empty when no guarantee applies or all are met.
   */
  unsatisfied(role: string): Quantities {
    const out = new Quantities();
    const least = new Map<string, number>();
    for (const e of this.over(role)) {
      for (const [name, g] of e.guarantee.millis) {
        const short = Math.max(0, g - e.consumed.getMillis(name));
        least.set(name, Math.min(least.get(name) ?? short, short));
      }
    }
    for (const [name, v] of least) out.addMillis(name, v);
    return out;
  }

  /** How much more of `name` `role` may get before it or an ancestor reaches its limit (Infinity: unlimited). */
  limitRoom(role: string, name: string): number {
    let room = Number.POSITIVE_INFINITY;
    for (const e of this.over(role)) {
      if (!e.limitNames.has(name)) continue;
      room = Math.min(room, Math.max(0, e.limit!.getMillis(name) - e.consumed.getMillis(name)));
    }
    return room;
  }

  /**
   * How much unreserved `name` may go to `role` without eating into headroom
   * held for other roles' guarantees: available − required, plus what of the
   * required headroom is `role`'s own (top-level guarantee) shortfall.
   */
  headroomRoom(role: string, name: string): number {
    const required = this.required.getMillis(name);
    if (required === 0) return Number.POSITIVE_INFINITY;
    let own = 0;
    for (const e of this.over(role)) {
      if (e.top && !e.guarantee.isEmpty()) own += Math.max(0, e.guarantee.getMillis(name) - e.consumed.getMillis(name));
    }
    return Math.max(0, this.available.getMillis(name) - required + Math.min(own, required));
  }

  /** The cap on unreserved `name` for `role`, and which rule sets it. */
  cap(role: string, name: string): Cap {
    const limit = this.limitRoom(role, name);
    const headroom = this.headroomRoom(role, name);
    if (limit === Number.POSITIVE_INFINITY && headroom === Number.POSITIVE_INFINITY) {
      return { millis: limit, reason: undefined };
    }
    return limit <= headroom ? { millis: limit, reason: 'limit' } : { millis: headroom, reason: 'headroom' };
  }

  /** Record an allocation of `offered` to `role`: consumption and headroom change. */
  charge(role: string, offered: Resources): void {
    // Reserved resources were counted (as reservations) already; only unreserved ones add to consumption.
    const unreserved = offered.unreserved();
    if (unreserved.isEmpty()) return;
    let shortfallChanged = false;
    for (const e of this.over(role)) {
      e.consumed.addResources(unreserved, 1);
      if (e.top && !e.guarantee.isEmpty()) shortfallChanged = true;
    }
    this.available.addResources(unreserved, -1);
    // Required headroom is the shortfall of top guarantee roles: only their consumption changes it.
    if (shortfallChanged) this.refreshRequired();
  }

  /** Consumption per quota role (for tests and metrics). */
  consumption(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const e of this.entries.values()) out[e.role] = e.consumed.toJSON();
    return out;
  }
}
