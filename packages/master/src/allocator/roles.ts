/**
 * Role names as paths: `eng/web` is a child of `eng`. Helpers for the
 * hierarchical allocator (Mesos' `roles::` and `Resources::isAllocatableTo`).
 * Pure.
 */
import { Resources } from '@agora/common';

/** The unreserved role / default framework role. */
export const ANY = '*';

/** `eng/web/x` → ['eng', 'eng/web', 'eng/web/x'] (the role itself last). '*' → ['*']. */
export function ancestorsAndSelf(role: string): string[] {
  if (role === ANY) return [ANY];
  const parts = role.split('/');
  const out: string[] = [];
  for (let i = 1; i <= parts.length; i++) out.push(parts.slice(0, i).join('/'));
  return out;
}

/** The parent of `eng/web` is `eng`; a top-level role has none. */
export function parentOf(role: string): string | undefined {
  const at = role.lastIndexOf('/');
  return at < 0 ? undefined : role.slice(0, at);
}

/** Whether `role` is `ancestor` or one of its descendants (`eng/web` is within `eng`). */
export function isWithin(role: string, ancestor: string): boolean {
  return role === ancestor || (role.startsWith(ancestor) && role.charCodeAt(ancestor.length) === 47) /* '/' */;
}

/**
 * What a framework in `role` may be offered from `free`: the unreserved
 * resources plus those reserved for `role` or for any of its ancestors
 * (Mesos: a reservation for `eng` is allocatable to `eng/web`).
 */
export function allocatableTo(free: Resources, role: string): Resources {
  if (role === ANY) return free.unreserved();
  const roles = free.roles();
  if (roles.length === 1 && roles[0] === ANY) return free;
  let out = Resources.empty();
  for (const r of roles) if (r === ANY || isWithin(role, r)) out = out.add(free.reservedFor(r));
  return out;
}
