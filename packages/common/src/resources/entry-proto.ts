/**
 * The wire form of resource entries: `Resource` protos to entries (validated)
 * and back. A reservation with a principal or labels travels as
 * `reservations[]` (its last entry, DYNAMIC), a persistent volume as `disk`.
 */
import type { Resource } from '@agora/proto';
import { ValueType } from '@agora/proto';
import { ANY_ROLE, badResources, checkName, checkRole, type ResourceEntry } from './entry.js';
import { type ReservationIdentity, reservationFromProto, reservationToProto } from './reservation.js';
import { findOverlap, fromMillis, mergeRanges, type Range, toMillis } from './values.js';
import { volumeFromProto } from './volume.js';

export function entryToProto(e: ResourceEntry): Resource {
  const r = baseToProto(e);
  return e.reservation === undefined ? r : { ...r, reservations: reservationToProto(e.role, e.reservation) };
}

function baseToProto(e: ResourceEntry): Resource {
  if (e.kind === 'scalar') {
    const base: Resource = {
      name: e.name,
      type: ValueType.SCALAR,
      scalar: { value: fromMillis(e.millis) },
      role: e.role,
    };
    if (e.volume === undefined) return base;
    const v = e.volume;
    return {
      ...base,
      disk: {
        persistence: { id: v.id, ...(v.principal === undefined ? {} : { principal: v.principal }) },
        volume: { container_path: v.containerPath, mode: v.mode === 'RO' ? 2 : 1 },
      },
    };
  }
  if (e.kind === 'ranges') {
    return {
      name: e.name,
      type: ValueType.RANGES,
      ranges: { range: e.ranges.map(([begin, end]) => ({ begin, end })) },
      role: e.role,
    };
  }
  return { name: e.name, type: ValueType.SET, set: { item: e.items.slice() }, role: e.role };
}

export function entryFromProto(r: Resource, index: number): ResourceEntry {
  const where = `resource #${index}${r?.name ? ` '${r.name}'` : ''}`;
  if (r === null || typeof r !== 'object') throw badResources(`${where} is not an object`);
  if (typeof r.name !== 'string') throw badResources(`${where} has no name`);
  checkName(r.name);
  let role = typeof r.role === 'string' && r.role !== '' ? r.role : undefined;
  if (role === undefined && r.reservations && r.reservations.length > 0) {
    role = r.reservations[r.reservations.length - 1]?.role ?? undefined;
  }
  role ??= ANY_ROLE;
  checkRole(role, r.name);
  const name = r.name;
  let reservation: ReservationIdentity | undefined;
  try {
    reservation = role === ANY_ROLE ? undefined : reservationFromProto(r);
  } catch (err) {
    throw badResources(`${where}: ${(err as Error).message}`, { name });
  }
  const entry = checkedEntry(r, name, role, where);
  return reservation === undefined ? entry : { ...entry, reservation };
}

function checkedEntry(r: Resource, name: string, role: string, where: string): ResourceEntry {
  switch (r.type) {
    case ValueType.SCALAR: {
      const v = r.scalar?.value;
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw badResources(`${where} is SCALAR but has no finite scalar value`);
      if (v < 0) throw badResources(`${where} has a negative value ${v}`, { name, value: v });
      const volume = volumeFromProto(r, where, role);
      return { kind: 'scalar', name, role, millis: toMillis(v), ...(volume === undefined ? {} : { volume }) };
    }
    case ValueType.RANGES: {
      const list = (r.ranges?.range ?? []).map((x): Range => [Number(x.begin), Number(x.end)]);
      return { kind: 'ranges', name, role, ranges: checkRanges(list, `${where}`) };
    }
    case ValueType.SET: {
      return { kind: 'set', name, role, items: checkSet(r.set?.item ?? [], where) };
    }
    default:
      throw badResources(`${where} has unsupported type ${String(r.type)}: use SCALAR, RANGES or SET`, { name });
  }
}

/** Validate ranges (integers, 0 <= begin <= end, no overlap) and return them merged. */
export function checkRanges(list: readonly Range[], where: string): Range[] {
  for (const [b, e] of list) {
    if (!Number.isSafeInteger(b) || !Number.isSafeInteger(e) || b < 0 || e < 0) {
      throw badResources(`${where} has a bad range ${b}-${e}: bounds must be non-negative integers`);
    }
    if (b > e) throw badResources(`${where} has a bad range ${b}-${e}: begin is after end`);
  }
  const overlap = findOverlap(list);
  if (overlap) {
    throw badResources(
      `${where} has overlapping ranges ${overlap[0][0]}-${overlap[0][1]} and ${overlap[1][0]}-${overlap[1][1]}`,
    );
  }
  return mergeRanges(list);
}

/** Validate set items (non-empty, no duplicates) and return them sorted. */
export function checkSet(items: readonly string[], where: string): string[] {
  const seen = new Set<string>();
  for (const item of items) {
    if (typeof item !== 'string' || item.trim() === '' || /[,;{}]/.test(item)) {
      throw badResources(`${where} has a bad set item '${String(item)}'`);
    }
    if (seen.has(item)) throw badResources(`${where} lists item '${item}' twice`);
    seen.add(item);
  }
  return [...seen].sort();
}
