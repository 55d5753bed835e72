/**
 * Which roles an app may have and which it gets when it names none
 * (Marathon 1.9+ `RoleSettings.forService`). PURE.
 *
 * | where the app is                                | default role      | valid roles                          |
 * |-------------------------------------------------|-------------------|--------------------------------------|
 * | in the root group (`/app`)                      | `--mesos_role`    | `--mesos_role`                       |
 * | in a top-level group `/g` with `enforceRole`    | `g`               | `g`                                  |
 * | in a top-level group `/g` without `enforceRole` | `--mesos_role`    | `--mesos_role`, `g`                  |
 *
 * An app that already exists may also keep the role it has (so turning
 * `enforceRole` on does not make the group's existing apps invalid).
 */
import { canonicalSegments } from './path-id.js';

export interface RoleSettings {
  /** The role of an app that names none. */
  readonly defaultRole: string;
  /** The roles the app may name (the default among them). */
  readonly validRoles: readonly string[];
}

/**
 * The role settings of one app, given its id; `enforceRole` overrides the
 * stored flag of the app's top-level group (a group change that sets it).
 */
export type RoleResolver = (appId: string, enforceRole?: boolean) => RoleSettings;

export interface RoleContext {
  /** Marathon's `--mesos_role`. */
  mesosRole: string;
  /** The stored `enforceRole` of a top-level group (undefined: not set / no such group). */
  enforceRoleOf(topLevelGroupId: string): boolean | undefined;
  /** The role of the app as stored, when it exists. */
  existingRoleOf(appId: string): string | undefined;
}

export function roleSettingsFor(ctx: RoleContext, appId: string, enforceRole?: boolean): RoleSettings {
  const segments = canonicalSegments(appId);
  const existing = ctx.existingRoleOf(appId);
  const withExisting = (roles: string[]): string[] =>
    existing === undefined || roles.includes(existing) ? roles : [...roles, existing];
  if (segments.length <= 1) return { defaultRole: ctx.mesosRole, validRoles: withExisting([ctx.mesosRole]) };
  const groupRole = segments[0]!;
  const enforced = enforceRole ?? ctx.enforceRoleOf(`/${groupRole}`) ?? false;
  if (enforced) return { defaultRole: groupRole, validRoles: withExisting([groupRole]) };
  const roles = groupRole === ctx.mesosRole ? [ctx.mesosRole] : [ctx.mesosRole, groupRole];
  return { defaultRole: ctx.mesosRole, validRoles: withExisting(roles) };
}

/** Marathon's violation at `/role` when the app names a role it may not use; undefined when it may. */
export function roleViolation(role: string, settings: RoleSettings): string | undefined {
  if (settings.validRoles.includes(role)) return undefined;
  return `got ${role}, expected one of: [${settings.validRoles.join(', ')}]`;
}
