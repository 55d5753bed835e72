/**
 * The `/roles` view (Mesos' shape), built from plain inputs. Pure.
 */
import type { Resources } from '@agora/common';
import { ancestorsAndSelf } from '../allocator/index.js';

export interface RolesViewInput {
  /** Frameworks with their roles. */
  frameworks: ReadonlyArray<{ id: string; roles: readonly string[] }>;
  /** framework → role → resources used by tasks. */
  allocated: ReadonlyMap<string, ReadonlyMap<string, Resources>>;
  /** framework → role → resources in outstanding offers. */
  offered: ReadonlyMap<string, ReadonlyMap<string, Resources>>;
  /** Agents' total resources (their reservations count as reserved for the role). */
  agentTotals: readonly Resources[];
  weights: Readonly<Record<string, number>>;
  quotas: ReadonlyArray<{ role: string; guarantees: Record<string, number>; limits: Record<string, number> }>;
  consumption(role: string): Record<string, number>;
}

interface RoleAcc {
  frameworks: Set<string>;
  allocated: Resources[];
  offered: Resources[];
  reserved: Resources[];
}

function sum(list: readonly Resources[]): Record<string, number | string> {
  let total: Resources | undefined;
  for (const r of list) total = total === undefined ? r : total.add(r);
  if (total === undefined) return { cpus: 0, gpus: 0, mem: 0, disk: 0 };
  return total.toMesosJson();
}

export function buildRolesJson(input: RolesViewInput): { roles: Array<Record<string, unknown>> } {
  const roles = new Map<string, RoleAcc>();
  const touch = (role: string): RoleAcc => {
    for (const r of ancestorsAndSelf(role)) {
      if (!roles.has(r)) roles.set(r, { frameworks: new Set(), allocated: [], offered: [], reserved: [] });
    }
    return roles.get(role)!;
  };
  for (const f of input.frameworks) for (const role of f.roles) touch(role).frameworks.add(f.id);
  // A role's allocated, offered and reserved resources include its descendants' (as Mesos' role tree).
  const subtree = (role: string): RoleAcc[] => {
    touch(role);
    return ancestorsAndSelf(role).map((r) => roles.get(r)!);
  };
  for (const [, byRole] of input.allocated)
    for (const [role, r] of byRole) for (const a of subtree(role)) a.allocated.push(r);
  for (const [, byRole] of input.offered)
    for (const [role, r] of byRole) for (const a of subtree(role)) a.offered.push(r);
  for (const total of input.agentTotals) {
    for (const role of total.roles()) {
      if (role === '*') continue;
      for (const a of subtree(role)) a.reserved.push(total.reservedFor(role));
    }
  }
  for (const role of Object.keys(input.weights)) touch(role);
  for (const q of input.quotas) touch(q.role);
  const quotaOf = new Map(input.quotas.map((q) => [q.role, q]));
  const names = [...roles.keys()].sort();
  return {
    roles: names.map((name) => {
      const acc = roles.get(name)!;
      const q = quotaOf.get(name);
      return {
        name,
        weight: input.weights[name] ?? 1,
        frameworks: [...acc.frameworks].sort(),
        resources: sum([...acc.allocated, ...acc.offered]),
        allocated: sum(acc.allocated),
        offered: sum(acc.offered),
        reserved: sum(acc.reserved),
        quota: {
          role: name,
          guarantee: q?.guarantees ?? {},
          limit: q?.limits ?? {},
          consumed: input.consumption(name),
        },
      };
    }),
  };
}
