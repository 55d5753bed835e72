/**
 * One entry of the resource algebra — a (name, role[, reservation][, volume])
 * with its value — and the checks of names and roles. Internal to the
 * resources folder (resources.ts re-exports what the package shows).
 */
import { AgoraError } from '../errors.js';
import type { ReservationIdentity } from './reservation.js';
import type { Range } from './values.js';
import type { VolumeIdentity } from './volume.js';

/** The unreserved role. */
export const ANY_ROLE = '*';

interface EntryBase {
  readonly name: string;
  readonly role: string;
  /** A dynamic reservation's principal and labels (part of the identity); absent for the others. */
  readonly reservation?: ReservationIdentity;
}

/** One (name, role[, reservation][, volume]) entry. Internal: not exported from the package. */
export type ResourceEntry =
  | (EntryBase & { readonly kind: 'scalar'; readonly millis: number; readonly volume?: VolumeIdentity })
  | (EntryBase & { readonly kind: 'ranges'; readonly ranges: readonly Range[] })
  | (EntryBase & { readonly kind: 'set'; readonly items: readonly string[] });

const NAME_RE = /^[A-Za-z0-9_.\-/]+$/;

export function badResources(message: string, details: Record<string, unknown> = {}): AgoraError {
  return new AgoraError('AGORA_ERR_BAD_RESOURCES', message, { data: details });
}

/** Throws unless `name` is a valid resource name. */
export function checkName(name: string): void {
  if (name.length === 0) throw badResources('resource name must not be empty');
  if (!NAME_RE.test(name)) {
    throw badResources(`resource name '${name}' may only contain letters, digits, '_', '.', '-' and '/'`, { name });
  }
}

/** Throws unless `role` is '*' or a valid role name. */
export function checkRole(role: string, name = ''): void {
  if (role === ANY_ROLE) return;
  if (role.length === 0 || !NAME_RE.test(role) || role === '.' || role === '..' || role.startsWith('-')) {
    throw badResources(
      `bad role '${role}'${name ? ` for resource '${name}'` : ''}: use '*' or a name of letters, digits, '_', '.', '-', '/'`,
      {
        name,
        role,
      },
    );
  }
}
