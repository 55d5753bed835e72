/**
 * The identity of a dynamic reservation in the resource algebra: its principal
 * and labels (Mesos' refined `ReservationInfo` of type DYNAMIC, the last entry
 * of `Resource.reservations`). Resources reserved with different principals or
 * labels are different resources, as in Mesos: they are never merged, an
 * UNRESERVE or a LAUNCH names exactly one of them.
 *
 * Unreserved resources, static reservations and dynamic reservations without a
 * principal and labels carry no identity (they are told apart by the master's
 * reservation ledger, as before).
 */
import type { Resource } from '@agora/proto';
import { AgoraError } from '../errors.js';

/** One reservation label (Mesos `Label`: `value` is optional). */
export interface ReservationLabel {
  readonly key: string;
  readonly value?: string;
}

/** A dynamic reservation's principal and labels; at least one of them is set. */
export interface ReservationIdentity {
  readonly principal?: string;
  /** Sorted by key then value; absent when there are none. */
  readonly labels?: readonly ReservationLabel[];
}

const DYNAMIC = 2;

/** The identity key of a reservation ('' for none). */
export function reservationKey(r: ReservationIdentity | undefined): string {
  if (r === undefined) return '';
  let key = `\u0001${r.principal ?? '\u0002'}`;
  for (const l of r.labels ?? []) key += `\u0001${l.key}\u0002${l.value ?? '\u0003'}`;
  return key;
}

/**
 * A reservation identity from a principal and labels (labels sorted; a label
 * without key is refused); undefined when neither is given.
 */
export function makeReservation(
  principal: string | null | undefined,
  labels: ReadonlyArray<{ key?: string | null; value?: string | null }> | null | undefined,
): ReservationIdentity | undefined {
  const list: ReservationLabel[] = [];
  for (const l of labels ?? []) {
    if (typeof l?.key !== 'string' || l.key === '') {
      throw new AgoraError('AGORA_ERR_BAD_RESOURCES', 'a reservation label needs a non-empty key');
    }
    list.push(typeof l.value === 'string' ? { key: l.key, value: l.value } : { key: l.key });
  }
  list.sort((a, b) =>
    a.key !== b.key
      ? a.key < b.key
        ? -1
        : 1
      : (a.value ?? '') < (b.value ?? '')
        ? -1
        : (a.value ?? '') > (b.value ?? '')
          ? 1
          : 0,
  );
  const hasPrincipal = typeof principal === 'string' && principal !== '';
  if (!hasPrincipal && list.length === 0) return undefined;
  return { ...(hasPrincipal ? { principal } : {}), ...(list.length > 0 ? { labels: list } : {}) };
}

/** The identity named by a Resource's `reservations[]` (its last entry, when DYNAMIC or untyped). */
export function reservationFromProto(r: Resource): ReservationIdentity | undefined {
  const list = r.reservations;
  if (list === undefined || list === null || list.length === 0) return undefined;
  const last = list[list.length - 1];
  if (last === undefined || last === null) return undefined;
  if (last.type !== undefined && last.type !== null && last.type !== DYNAMIC) return undefined;
  return makeReservation(last.principal, last.labels?.labels);
}

/** `reservations[]` of a Resource with this identity: `[{type: DYNAMIC, role, principal, labels}]`. */
export function reservationToProto(role: string, r: ReservationIdentity): NonNullable<Resource['reservations']> {
  return [
    {
      type: DYNAMIC,
      role,
      ...(r.principal === undefined ? {} : { principal: r.principal }),
      ...(r.labels === undefined ? {} : { labels: { labels: r.labels.map((l) => ({ ...l })) } }),
    },
  ];
}

/** Mesos' text of a reservation inside `name(...)`: `role, principal, {k: v, k2}` (what is absent is left out). */
export function formatReservation(role: string, r: ReservationIdentity): string {
  const labels = (r.labels ?? []).map((l) => (l.value === undefined ? l.key : `${l.key}: ${l.value}`));
  return `${role}${r.principal === undefined ? '' : `, ${r.principal}`}${labels.length > 0 ? `, {${labels.join(', ')}}` : ''}`;
}

/** Mesos' JSON model of the reservation (`/state` `reserved_resources_full`): `reservations: [...]`. */
export function reservationToJson(role: string, r: ReservationIdentity): Array<Record<string, unknown>> {
  return [
    {
      type: 'DYNAMIC',
      role,
      ...(r.principal === undefined ? {} : { principal: r.principal }),
      ...(r.labels === undefined ? {} : { labels: { labels: r.labels.map((l) => ({ ...l })) } }),
    },
  ];
}
