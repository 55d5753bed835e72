/**
 * Quota and weights as the master keeps them: stored in the registry through a
 * `QuotaStore` (registry/config-store.ts), read by the allocation cycle and
 * the operator endpoints. Validates changes against the stored configuration
 * and the cluster: a role that already has quota (create mode) → 409;
 * guarantees of top-level roles above the cluster total → 409 unless `force`;
 * a child's guarantees summing above its parent's, or a child limit above its
 * parent's → 422. Nothing is stored when any check fails.
 */
import { AgoraError } from '@agora/common';
import { ValueType } from '@agora/proto';
import { isWithin, parentOf, type RoleQuota } from '../allocator/index.js';
import type { QuotaStore } from '../registry/index.js';
import type { QuotaRequest, QuotaUpdate, WeightRequest } from './quota-request.js';

type Quota = { role: string; guarantees: Record<string, number>; limits: Record<string, number> };
type StoredResource = { name?: string | null; scalar?: { value?: number | null } | null };

function toMap(list: readonly StoredResource[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of list) {
    if (typeof r.name !== 'string') continue;
    out[r.name] = (out[r.name] ?? 0) + (r.scalar?.value ?? 0);
  }
  return out;
}

function toResources(map: Readonly<Record<string, number>>) {
  return Object.keys(map)
    .sort()
    .map((name) => ({ name, type: ValueType.SCALAR, scalar: { value: map[name]! } }));
}

function conflict(message: string, data: Record<string, unknown> = {}): AgoraError {
  return new AgoraError('AGORA_ERR_CONFLICT', message, { data });
}

function unprocessable(message: string, data: Record<string, unknown> = {}): AgoraError {
  return new AgoraError('AGORA_ERR_UNPROCESSABLE', message, { data });
}

export class QuotaService {
  constructor(
    private readonly store: QuotaStore,
    /** Scalar totals of the cluster (active or not), for the capacity check. */
    private readonly clusterTotal: () => Readonly<Record<string, number>>,
  ) {}

  /** Every stored quota, by role. */
  list(): Quota[] {
    return this.store
      .getQuotas()
      .map((q) => ({ role: q.role, guarantees: toMap(q.guarantees), limits: toMap(q.limits) }))
      .sort((a, b) => (a.role < b.role ? -1 : a.role > b.role ? 1 : 0));
  }

  get(role: string): Quota | undefined {
    return this.list().find((q) => q.role === role);
  }

  /** The allocator's view: guarantee and limit per role. */
  forAllocator(): Record<string, RoleQuota> {
    const out: Record<string, RoleQuota> = {};
    for (const q of this.list()) {
      out[q.role] = {
        ...(Object.keys(q.guarantees).length > 0 ? { guarantee: q.guarantees } : {}),
        ...(Object.keys(q.limits).length > 0 ? { limit: q.limits } : {}),
      };
    }
    return out;
  }

  weights(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const w of this.store.getWeights()) out[w.role] = w.weight;
    return out;
  }

  /**
   * Set quota for the roles in `update`. `create`: refuse (409) a role that has quota already (legacy POST);
   * `replace`: set or overwrite (PUT, UPDATE_QUOTA). Resolves once stored.
   */
  async update(update: QuotaUpdate, mode: 'create' | 'replace'): Promise<void> {
    const current = new Map(this.list().map((q) => [q.role, q]));
    if (mode === 'create') {
      for (const c of update.configs) {
        if (current.has(c.role)) {
          throw conflict(`role '${c.role}' already has quota: use PUT (or UPDATE_QUOTA) to change it`, {
            role: c.role,
          });
        }
      }
    }
    const next = new Map(current);
    for (const c of update.configs) {
      if (Object.keys(c.guarantees).length === 0 && Object.keys(c.limits).length === 0) next.delete(c.role);
      else next.set(c.role, c);
    }
    checkHierarchy(next);
    if (!update.force) this.checkCapacity(next);
    await Promise.all(
      update.configs.map((c: QuotaRequest) =>
        this.store.setQuota({ role: c.role, guarantees: toResources(c.guarantees), limits: toResources(c.limits) }),
      ),
    );
  }

  /** Remove a role's quota; 404 when it has none. */
  async remove(role: string): Promise<void> {
    if (this.get(role) === undefined) {
      throw new AgoraError('AGORA_ERR_BAD_REQUEST', `role '${role}' has no quota`, { data: { role, status: 404 } });
    }
    const next = new Map(this.list().map((q) => [q.role, q]));
    next.delete(role);
    checkHierarchy(next);
    await this.store.setQuota({ role, guarantees: [], limits: [] });
  }

  async setWeights(weights: readonly WeightRequest[]): Promise<void> {
    await this.store.setWeights(weights);
  }

  /** Guarantees of top-level quota roles must fit in the cluster (Mesos' capacity heuristic). */
  private checkCapacity(quotas: ReadonlyMap<string, Quota>): void {
    const total = this.clusterTotal();
    const sum: Record<string, number> = {};
    for (const q of quotas.values()) {
      const nested = [...quotas.keys()].some((other) => other !== q.role && isWithin(q.role, other));
      if (nested) continue;
      for (const [name, v] of Object.entries(q.guarantees)) sum[name] = (sum[name] ?? 0) + v;
    }
    for (const [name, v] of Object.entries(sum)) {
      const have = total[name] ?? 0;
      if (v > have + 1e-9) {
        throw conflict(
          `quota guarantees of ${name} (${v} in all) are above the cluster's total (${have}); set "force": true to store them anyway`,
          { name, requested: v, total: have },
        );
      }
    }
  }
}

/** A parent's guarantee covers the sum of its children's; a child's limit is within its parent's. */
function checkHierarchy(quotas: ReadonlyMap<string, Quota>): void {
  const closestParent = (role: string): Quota | undefined => {
    for (let p = parentOf(role); p !== undefined; p = parentOf(p)) {
      const q = quotas.get(p);
      if (q !== undefined) return q;
    }
    return undefined;
  };
  const childSums = new Map<string, Record<string, number>>();
  for (const q of quotas.values()) {
    const parent = closestParent(q.role);
    if (parent === undefined) continue;
    for (const [name, l] of Object.entries(q.limits)) {
      const pl = parent.limits[name];
      if (pl !== undefined && l > pl) {
        throw unprocessable(
          `role '${q.role}': its limit of ${name} (${l}) is above its parent '${parent.role}' limit (${pl})`,
        );
      }
    }
    const sums = childSums.get(parent.role) ?? {};
    for (const [name, g] of Object.entries(q.guarantees)) sums[name] = (sums[name] ?? 0) + g;
    childSums.set(parent.role, sums);
  }
  for (const [role, sums] of childSums) {
    const parent = quotas.get(role)!;
    for (const [name, s] of Object.entries(sums)) {
      const pg = parent.guarantees[name] ?? 0;
      if (s > pg + 1e-9) {
        throw unprocessable(
          `the guarantees of ${name} of the children of '${role}' (${s} in all) are above its own guarantee (${pg})`,
        );
      }
    }
  }
}
