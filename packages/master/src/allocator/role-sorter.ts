/**
 * The hierarchical DRF role sorter (Mesos' `DRFSorter` over a role tree):
 * roles are paths (`eng/web`), a role's allocation includes its children's,
 * and `sort()` orders the roles that have clients depth first, the children
 * of each node by their weighted share (lowest first, ties by name). A role
 * that has frameworks of its own *and* children competes with its children
 * through a virtual leaf holding only its own allocation, with its weight.
 * Pure.
 */
import type { Resources } from '@agora/common';
import type { Sorter } from './sorter.js';

interface Node {
  readonly name: string;
  readonly parent: Node | undefined;
  readonly children: Node[];
  /** Allocation of the whole subtree, thousandths by resource name. */
  readonly subtree: Map<string, number>;
  /** Allocation of this role itself. */
  readonly own: Map<string, number>;
  weight: number;
  /** Whether the role is a client (has been added / allocated to directly). */
  client: boolean;
  /** Number of clients in the subtree (self included). */
  clients: number;
  subtreeShare: number;
  ownShare: number;
}

function addScalars(into: Map<string, number>, r: Resources | Map<string, number>, sign: 1 | -1): void {
  for (const [name, v] of r instanceof Map ? r : r.scalars()) {
    const next = (into.get(name) ?? 0) + sign * Math.round(v * 1000);
    if (next > 0) into.set(name, next);
    else into.delete(name);
  }
}

function checkWeight(weight: number): number {
  return Number.isFinite(weight) && weight > 0 ? weight : 1;
}

export class HierarchicalDrfSorter implements Sorter {
  private readonly root: Node = newNode('', undefined);
  private readonly nodes = new Map<string, Node>();
  private readonly total = new Map<string, number>();
  private cached: string[] | undefined;

  add(client: string): void {
    const node = this.node(client);
    if (node.client) return;
    node.client = true;
    for (let n: Node | undefined = node; n !== undefined; n = n.parent) n.clients++;
    this.cached = undefined;
  }

  remove(client: string): void {
    const node = this.nodes.get(client);
    if (node === undefined || !node.client) return;
    node.client = false;
    for (let n: Node | undefined = node; n !== undefined; n = n.parent) n.clients--;
    this.cached = undefined;
  }

  contains(client: string): boolean {
    return this.nodes.get(client)?.client === true;
  }

  /** Set a role's weight; the role need not be a client (weights of inner roles count too). */
  updateWeight(client: string, weight: number): void {
    const node = this.node(client);
    node.weight = checkWeight(weight);
    this.refresh(node);
    this.cached = undefined;
  }

  addTotal(resources: Resources): void {
    addScalars(this.total, resources, 1);
    for (const n of this.nodes.values()) this.refresh(n);
    this.cached = undefined;
  }

  allocated(client: string, resources: Resources): void {
    this.add(client);
    this.change(this.nodes.get(client)!, resources, 1);
  }

  unallocated(client: string, resources: Resources): void {
    const node = this.nodes.get(client);
    if (node !== undefined) this.change(node, resources, -1);
  }

  /** The role's weighted share of its whole subtree (0 for unknown roles). */
  share(client: string): number {
    return this.nodes.get(client)?.subtreeShare ?? 0;
  }

  sort(): readonly string[] {
    if (this.cached === undefined) {
      const out: string[] = [];
      visit(this.root, out);
      this.cached = out;
    }
    return this.cached;
  }

  count(): number {
    return this.root.clients;
  }

  private node(name: string): Node {
    const existing = this.nodes.get(name);
    if (existing !== undefined) return existing;
    const at = name.lastIndexOf('/');
    const parent = at < 0 ? this.root : this.node(name.slice(0, at));
    const node = newNode(name, parent);
    parent.children.push(node);
    this.nodes.set(name, node);
    return node;
  }

  private change(node: Node, resources: Resources, sign: 1 | -1): void {
    const scalars = resources.scalars();
    addScalars(node.own, scalars, sign);
    for (let n: Node | undefined = node; n !== undefined && n !== this.root; n = n.parent) {
      addScalars(n.subtree, scalars, sign);
      this.refresh(n);
    }
    this.cached = undefined;
  }

  private refresh(n: Node): void {
    n.subtreeShare = this.shareOf(n.subtree) / n.weight;
    n.ownShare = this.shareOf(n.own) / n.weight;
  }

  private shareOf(alloc: Map<string, number>): number {
    let share = 0;
    for (const [name, used] of alloc) {
      const total = this.total.get(name);
      if (total !== undefined && total > 0) share = Math.max(share, used / total);
    }
    return share;
  }
}

function newNode(name: string, parent: Node | undefined): Node {
  return {
    name,
    parent,
    children: [],
    subtree: new Map(),
    own: new Map(),
    weight: 1,
    client: false,
    clients: 0,
    subtreeShare: 0,
    ownShare: 0,
  };
}

interface Entry {
  readonly name: string;
  readonly share: number;
  /** undefined: the node's own virtual leaf. */
  readonly child: Node | undefined;
}

function visit(node: Node, out: string[]): void {
  const entries: Entry[] = [];
  if (node.client) entries.push({ name: node.name, share: node.ownShare, child: undefined });
  for (const c of node.children) if (c.clients > 0) entries.push({ name: c.name, share: c.subtreeShare, child: c });
  if (entries.length > 1) {
    entries.sort((a, b) => a.share - b.share || (a.name < b.name ? -1 : a.name > b.name ? 1 : a.child ? 1 : -1));
  }
  for (const e of entries) {
    if (e.child === undefined) out.push(node.name);
    else visit(e.child, out);
  }
}
