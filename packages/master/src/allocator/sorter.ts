/**
 * Sorters decide in which order clients (roles, or frameworks within a role)
 * are offered resources — Mesos' `sorter.hpp` with its DRF and random
 * implementations. Pure: no I/O, time or randomness except the injected one.
 */
import type { Resources } from '@agora/common';

export interface Sorter {
  /** Add a client (no-op when present). */
  add(client: string): void;
  remove(client: string): void;
  contains(client: string): boolean;
  /** Set a client's weight (> 0; default 1). A higher weight means a larger fair share. */
  updateWeight(client: string, weight: number): void;
  /** Grow the pool shares are measured against (the cluster total). */
  addTotal(resources: Resources): void;
  /** Record resources given to a client (adds the client if needed). */
  allocated(client: string, resources: Resources): void;
  /** Record resources a client gave back (never below zero). */
  unallocated(client: string, resources: Resources): void;
  /** The client's share, as used for ordering (0 for unknown clients). */
  share(client: string): number;
  /** Clients in the order to offer to. Read-only; valid until the next change to the sorter. */
  sort(): readonly string[];
  count(): number;
}

interface Client {
  readonly name: string;
  /** Scalar allocation by resource name, in thousandths. */
  readonly alloc: Map<string, number>;
  weight: number;
  share: number;
}

function addScalars(into: Map<string, number>, r: Resources, sign: 1 | -1): void {
  for (const [name, v] of r.scalars()) {
    const next = (into.get(name) ?? 0) + sign * Math.round(v * 1000);
    if (next > 0) into.set(name, next);
    else into.delete(name);
  }
}

function checkWeight(weight: number): number {
  return Number.isFinite(weight) && weight > 0 ? weight : 1;
}

/**
 * Dominant Resource Fairness: a client's share is the largest, over scalar
 * resources, of allocated / total, divided by its weight. Lowest share first;
 * ties by client name. Re-sorts incrementally: a change to one client moves
 * only that client (O(n)), so a cycle with many offers stays cheap.
 */
export class DrfSorter implements Sorter {
  private readonly clients = new Map<string, Client>();
  private readonly total = new Map<string, number>();
  private order: Client[] = [];
  private names: string[] = [];
  private dirty = false;

  add(client: string): void {
    if (this.clients.has(client)) return;
    this.clients.set(client, { name: client, alloc: new Map(), weight: 1, share: 0 });
    this.dirty = true;
  }

  remove(client: string): void {
    if (this.clients.delete(client)) this.dirty = true;
  }

  contains(client: string): boolean {
    return this.clients.has(client);
  }

  updateWeight(client: string, weight: number): void {
    this.add(client);
    const c = this.clients.get(client)!;
    c.weight = checkWeight(weight);
    c.share = this.computeShare(c);
    this.dirty = true;
  }

  addTotal(resources: Resources): void {
    addScalars(this.total, resources, 1);
    for (const c of this.clients.values()) c.share = this.computeShare(c);
    this.dirty = true;
  }

  allocated(client: string, resources: Resources): void {
    this.add(client);
    this.change(this.clients.get(client)!, resources, 1);
  }

  unallocated(client: string, resources: Resources): void {
    const c = this.clients.get(client);
    if (c !== undefined) this.change(c, resources, -1);
  }

  share(client: string): number {
    return this.clients.get(client)?.share ?? 0;
  }

  sort(): readonly string[] {
    if (this.dirty) {
      this.order = [...this.clients.values()].sort(compareClients);
      this.names = this.order.map((c) => c.name);
      this.dirty = false;
    }
    return this.names;
  }

  count(): number {
    return this.clients.size;
  }

  private computeShare(c: Client): number {
    let share = 0;
    for (const [name, used] of c.alloc) {
      const total = this.total.get(name);
      if (total !== undefined && total > 0) share = Math.max(share, used / total);
    }
    return share / c.weight;
  }

  private change(c: Client, resources: Resources, sign: 1 | -1): void {
    addScalars(c.alloc, resources, sign);
    c.share = this.computeShare(c);
    if (this.dirty) return;
    // Move only this client to its new place.
    const at = this.order.indexOf(c);
    this.order.splice(at, 1);
    this.names.splice(at, 1);
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareClients(this.order[mid]!, c) < 0) lo = mid + 1;
      else hi = mid;
    }
    this.order.splice(lo, 0, c);
    this.names.splice(lo, 0, c.name);
  }
}

function compareClients(a: Client, b: Client): number {
  if (a.share !== b.share) return a.share - b.share;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * Orders clients by a weighted random shuffle on every `sort()` (Mesos'
 * RandomSorter): a client with weight w comes first with probability
 * w / Σw. Allocations are tracked but do not affect the order.
 */
export class RandomSorter implements Sorter {
  private readonly clients = new Map<string, { weight: number; alloc: Map<string, number> }>();
  private readonly total = new Map<string, number>();
  private readonly random: () => number;

  /** @param random a function returning numbers in [0, 1) (pass a seeded one for reproducibility). */
  constructor(random: () => number) {
    this.random = random;
  }

  add(client: string): void {
    if (!this.clients.has(client)) this.clients.set(client, { weight: 1, alloc: new Map() });
  }

  remove(client: string): void {
    this.clients.delete(client);
  }

  contains(client: string): boolean {
    return this.clients.has(client);
  }

  updateWeight(client: string, weight: number): void {
    this.add(client);
    this.clients.get(client)!.weight = checkWeight(weight);
  }

  addTotal(resources: Resources): void {
    addScalars(this.total, resources, 1);
  }

  allocated(client: string, resources: Resources): void {
    this.add(client);
    addScalars(this.clients.get(client)!.alloc, resources, 1);
  }

  unallocated(client: string, resources: Resources): void {
    const c = this.clients.get(client);
    if (c !== undefined) addScalars(c.alloc, resources, -1);
  }

  /** The DRF share (informational; not used for ordering). */
  share(client: string): number {
    const c = this.clients.get(client);
    if (c === undefined) return 0;
    let share = 0;
    for (const [name, used] of c.alloc) {
      const total = this.total.get(name);
      if (total !== undefined && total > 0) share = Math.max(share, used / total);
    }
    return share / c.weight;
  }

  sort(): readonly string[] {
    // Efraimidis–Spirakis weighted shuffle: key = u^(1/w), largest first; ties by name.
    const keyed = [...this.clients].map(([name, c]) => ({ name, key: this.random() ** (1 / c.weight) }));
    keyed.sort((a, b) => b.key - a.key || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return keyed.map((k) => k.name);
  }

  count(): number {
    return this.clients.size;
  }
}
