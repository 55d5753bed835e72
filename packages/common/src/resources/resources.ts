/**
 * The resource algebra (Mesos' `Resources`): an immutable bag of named
 * scalar, range and set resources, each reserved for a role (`*` =
 * unreserved). A dynamic reservation's principal and labels (reservation.ts)
 * and a persistent volume (volume.ts) are part of a resource's identity:
 * entries that differ in them are never combined. Scalars have 3-decimal
 * precision; ranges are kept merged and sorted; zero scalars and empty
 * ranges/sets are dropped.
 */
import type { Resource } from '@agora/proto';
import type { AgoraError } from '../errors.js';
import { ANY_ROLE, badResources, checkRole, type ResourceEntry } from './entry.js';
import { entryFromProto, entryToProto } from './entry-proto.js';
import { formatReservation, type ReservationIdentity, reservationKey, reservationToJson } from './reservation.js';
import { formatVolume, type VolumeIdentity, volumeKey } from './volume.js';
import {
  findOverlap,
  formatRanges,
  formatScalar,
  formatSet,
  fromMillis,
  mergeRanges,
  type Range,
  rangesContain,
  setContains,
  subtractRanges,
  subtractSets,
  unionRanges,
  unionSets,
} from './values.js';

export { ANY_ROLE, badResources, checkName, checkRole, type ResourceEntry } from './entry.js';
export { checkRanges, checkSet } from './entry-proto.js';
export type { ReservationIdentity, ReservationLabel } from './reservation.js';
export type { VolumeIdentity } from './volume.js';

const KNOWN_ORDER = ['cpus', 'gpus', 'mem', 'disk', 'ports'];

function volumeOf(e: ResourceEntry): VolumeIdentity | undefined {
  return e.kind === 'scalar' ? e.volume : undefined;
}

function entryKey(e: ResourceEntry): string {
  return e.name + '\u0000' + e.role + reservationKey(e.reservation) + volumeKey(volumeOf(e));
}

/** The entry without its reservation identity. */
function withoutIdentity(e: ResourceEntry): ResourceEntry {
  if (e.reservation === undefined) return e;
  const { reservation: _, ...rest } = e;
  return rest;
}

function isEmptyEntry(e: ResourceEntry): boolean {
  switch (e.kind) {
    case 'scalar':
      return e.millis === 0;
    case 'ranges':
      return e.ranges.length === 0;
    case 'set':
      return e.items.length === 0;
  }
}

function compareEntries(a: ResourceEntry, b: ResourceEntry): number {
  if (a.name !== b.name) {
    const ia = KNOWN_ORDER.indexOf(a.name);
    const ib = KNOWN_ORDER.indexOf(b.name);
    if (ia !== ib) return (ia < 0 ? KNOWN_ORDER.length : ia) - (ib < 0 ? KNOWN_ORDER.length : ib);
    return a.name < b.name ? -1 : 1;
  }
  if (a.role === b.role) {
    if (a.reservation !== b.reservation) {
      const ra = reservationKey(a.reservation);
      const rb = reservationKey(b.reservation);
      if (ra !== rb) return ra < rb ? -1 : 1;
    }
    const ka = volumeKey(volumeOf(a));
    const kb = volumeKey(volumeOf(b));
    return ka === kb ? 0 : ka < kb ? -1 : 1;
  }
  if (a.role === ANY_ROLE) return -1;
  if (b.role === ANY_ROLE) return 1;
  return a.role < b.role ? -1 : 1;
}

function typeMismatch(a: ResourceEntry, b: ResourceEntry): AgoraError {
  return badResources(`resource '${a.name}' is used both as ${a.kind} and as ${b.kind}`, { name: a.name });
}

/** Sum of two entries of the same identity (name, role, reservation, volume); ranges and sets are united. */
function addEntries(a: ResourceEntry, b: ResourceEntry): ResourceEntry {
  if (a.kind === 'scalar' && b.kind === 'scalar') return { ...a, millis: a.millis + b.millis };
  if (a.kind === 'ranges' && b.kind === 'ranges') return { ...a, ranges: unionRanges(a.ranges, b.ranges) };
  if (a.kind === 'set' && b.kind === 'set') return { ...a, items: unionSets(a.items, b.items) };
  throw typeMismatch(a, b);
}

function entryContains(a: ResourceEntry | undefined, b: ResourceEntry): boolean {
  if (a === undefined) return isEmptyEntry(b);
  // A persistent volume is whole: only the same volume of the same size is contained (Mesos).
  if (a.kind === 'scalar' && b.kind === 'scalar' && a.volume !== undefined) return a.millis === b.millis;
  if (a.kind === 'scalar' && b.kind === 'scalar') return a.millis >= b.millis;
  if (a.kind === 'ranges' && b.kind === 'ranges') return rangesContain(a.ranges, b.ranges);
  if (a.kind === 'set' && b.kind === 'set') return setContains(a.items, b.items);
  return false;
}

/** `a` minus `b`, dropping what `a` does not have (saturating); a volume goes only as a whole. */
function minusEntry(a: ResourceEntry, b: ResourceEntry): ResourceEntry {
  if (a.kind === 'scalar' && b.kind === 'scalar' && a.volume !== undefined) {
    return a.millis === b.millis ? { ...a, millis: 0 } : a;
  }
  if (a.kind === 'scalar' && b.kind === 'scalar') return { ...a, millis: Math.max(0, a.millis - b.millis) };
  if (a.kind === 'ranges' && b.kind === 'ranges') return { ...a, ranges: subtractRanges(a.ranges, b.ranges) };
  if (a.kind === 'set' && b.kind === 'set') return { ...a, items: subtractSets(a.items, b.items) };
  throw typeMismatch(a, b);
}

function formatEntry(e: ResourceEntry): string {
  const volume = volumeOf(e);
  const role = e.reservation === undefined ? e.role : formatReservation(e.role, e.reservation);
  const head = (e.role === ANY_ROLE ? e.name : `${e.name}(${role})`) + (volume ? formatVolume(volume) : '');
  switch (e.kind) {
    case 'scalar':
      return `${head}:${formatScalar(e.millis)}`;
    case 'ranges':
      return `${head}:${formatRanges(e.ranges)}`;
    case 'set':
      return `${head}:${formatSet(e.items)}`;
  }
}

function valueString(e: ResourceEntry): string {
  return e.kind === 'scalar'
    ? formatScalar(e.millis)
    : e.kind === 'ranges'
      ? formatRanges(e.ranges)
      : formatSet(e.items);
}

/**
 * An immutable set of resources. Every operation returns a new value.
 *
 * ```ts
 * const total = parseResources('cpus:4;mem:1024;ports:[31000-31009]');
 * const used = parseResources('cpus:1;ports:[31000-31000]');
 * total.subtract(used).toString(); // 'cpus:3;mem:1024;ports:[31001-31009]'
 * ```
 */
export class Resources {
  private static readonly EMPTY = new Resources(new Map());

  /** Entries by `name\0role[reservation][volume]`, never empty entries, types consistent per name. */
  private readonly byKey: ReadonlyMap<string, ResourceEntry>;
  private sortedCache: ResourceEntry[] | undefined;

  private constructor(byKey: ReadonlyMap<string, ResourceEntry>) {
    this.byKey = byKey;
  }

  static empty(): Resources {
    return Resources.EMPTY;
  }

  /**
   * Build from entries, summing duplicates of the same identity. Overlapping
   * ranges or repeated set items between duplicates are errors. Internal.
   */
  static fromEntries(entries: Iterable<ResourceEntry>): Resources {
    const map = new Map<string, ResourceEntry>();
    const kinds = new Map<string, ResourceEntry>();
    for (const e of entries) {
      const seen = kinds.get(e.name);
      if (seen !== undefined && seen.kind !== e.kind) throw typeMismatch(seen, e);
      kinds.set(e.name, e);
      const key = entryKey(e);
      const prev = map.get(key);
      if (prev === undefined) {
        map.set(key, e);
        continue;
      }
      if (volumeOf(e) !== undefined) {
        throw badResources(`persistent volume '${formatEntry(e)}' is listed twice`, { name: e.name, role: e.role });
      }
      if (prev.kind === 'ranges' && e.kind === 'ranges') {
        const overlap = findOverlap([...prev.ranges, ...e.ranges]);
        if (overlap) {
          throw badResources(
            `resource '${formatEntry(e)}' overlaps ${formatRanges([overlap[0]])} with ${formatRanges([overlap[1]])}`,
            { name: e.name, role: e.role },
          );
        }
      }
      if (prev.kind === 'set' && e.kind === 'set') {
        const dup = e.items.find((x) => prev.items.includes(x));
        if (dup !== undefined) {
          throw badResources(`resource '${e.name}' lists item '${dup}' twice`, { name: e.name, role: e.role });
        }
      }
      map.set(key, addEntries(prev, e));
    }
    for (const [k, e] of map) if (isEmptyEntry(e)) map.delete(k);
    return map.size === 0 ? Resources.EMPTY : new Resources(map);
  }

  /** From the wire shape; validates and throws AGORA_ERR_BAD_RESOURCES on bad input. */
  static fromProto(list: readonly Resource[]): Resources {
    return Resources.fromEntries(list.map((r, i) => entryFromProto(r, i)));
  }

  /**
   * One entry per identity (name, role, reservation, volume), sorted (cpus, gpus, mem, disk, ports, then by name,
   * then role and reservation); ranges merged. A reservation with a principal or labels is in `reservations[]`.
   */
  toProto(): Resource[] {
    return this.entries().map(entryToProto);
  }

  /** Entries in canonical order. Internal. */
  entries(): ResourceEntry[] {
    if (this.sortedCache === undefined) this.sortedCache = [...this.byKey.values()].sort(compareEntries);
    return this.sortedCache;
  }

  /** Mesos text form, e.g. 'cpus:2;mem:1024;ports:[31000-31009];cpus(web):2'; '' when empty. */
  toString(): string {
    return this.entries().map(formatEntry).join(';');
  }

  toJSON(): string {
    return this.toString();
  }

  isEmpty(): boolean {
    return this.byKey.size === 0;
  }

  equals(other: Resources): boolean {
    if (this.byKey.size !== other.byKey.size) return false;
    for (const [k, e] of this.byKey) {
      const o = other.byKey.get(k);
      if (o === undefined || o.kind !== e.kind || valueString(o) !== valueString(e)) return false;
    }
    return true;
  }

  add(other: Resources): Resources {
    if (other.byKey.size === 0) return this;
    if (this.byKey.size === 0) return other;
    const map = new Map(this.byKey);
    for (const [k, e] of other.byKey) {
      const prev = map.get(k);
      if (prev === undefined) {
        for (const x of this.byKey.values()) if (x.name === e.name && x.kind !== e.kind) throw typeMismatch(x, e);
        map.set(k, e);
      } else {
        map.set(k, addEntries(prev, e));
      }
    }
    return new Resources(map);
  }

  /** `this - other`; throws AGORA_ERR_BAD_RESOURCES unless `this.contains(other)`. */
  subtract(other: Resources): Resources {
    if (!this.contains(other)) {
      throw badResources(`cannot subtract '${other.toString()}' from '${this.toString()}': not contained`);
    }
    return this.subtractSaturating(other);
  }

  /** `this - other`, ignoring whatever of `other` is not in `this` (never negative). */
  subtractSaturating(other: Resources): Resources {
    if (other.byKey.size === 0 || this.byKey.size === 0) return this;
    let map: Map<string, ResourceEntry> | undefined;
    for (const [k, e] of other.byKey) {
      const mine = (map ?? this.byKey).get(k);
      if (mine === undefined || mine.kind !== e.kind) continue;
      map ??= new Map(this.byKey);
      const rest = minusEntry(mine, e);
      if (isEmptyEntry(rest)) map.delete(k);
      else map.set(k, rest);
    }
    if (map === undefined) return this;
    return map.size === 0 ? Resources.EMPTY : new Resources(map);
  }

  /** Per identity (name, role, reservation, volume): scalar >= (to 0.001), ranges and sets are supersets. */
  contains(other: Resources): boolean {
    for (const [k, e] of other.byKey) if (!entryContains(this.byKey.get(k), e)) return false;
    return true;
  }

  /** The scalar `name` summed over roles (0 when absent). */
  scalar(name: string): number {
    let millis = 0;
    for (const e of this.byKey.values()) if (e.kind === 'scalar' && e.name === name) millis += e.millis;
    return fromMillis(millis);
  }

  /** Scalar totals by name, summed over roles. */
  scalars(): Map<string, number> {
    const out = new Map<string, number>();
    for (const e of this.byKey.values()) {
      if (e.kind === 'scalar') out.set(e.name, (out.get(e.name) ?? 0) + e.millis);
    }
    for (const [k, v] of out) out.set(k, fromMillis(v));
    return out;
  }

  /** The ranges `name`, merged over roles. */
  ranges(name: string): Array<[number, number]> {
    const all: Range[] = [];
    for (const e of this.byKey.values()) if (e.kind === 'ranges' && e.name === name) all.push(...e.ranges);
    return mergeRanges(all).map(([b, e]) => [b, e]);
  }

  /** The set `name`, united over roles, sorted. */
  set(name: string): string[] {
    const all = new Set<string>();
    for (const e of this.byKey.values()) if (e.kind === 'set' && e.name === name) for (const x of e.items) all.add(x);
    return [...all].sort();
  }

  /** Only the resources reserved for `role` ('*' = the unreserved ones). */
  reservedFor(role: string): Resources {
    return this.filter((e) => e.role === role);
  }

  /** Only the unreserved resources (role '*'). */
  unreserved(): Resources {
    return this.reservedFor(ANY_ROLE);
  }

  /** Only the persistent volumes (disk resources with `disk.persistence`). */
  volumes(): Resources {
    return this.filter((e) => volumeOf(e) !== undefined);
  }

  /** Everything but the persistent volumes. */
  withoutVolumes(): Resources {
    return this.filter((e) => volumeOf(e) === undefined);
  }

  /** The volume of each persistent-volume entry, with its role and size (canonical order). */
  volumeList(): Array<{ role: string; volume: VolumeIdentity; size: number; resources: Resources }> {
    return this.entries().flatMap((e) => {
      const volume = volumeOf(e);
      if (volume === undefined || e.kind !== 'scalar') return [];
      return [{ role: e.role, volume, size: fromMillis(e.millis), resources: Resources.fromEntries([e]) }];
    });
  }

  /** The same resources as plain disk: persistent volumes lose their `disk` info (the other entries are kept). */
  withoutVolumeInfo(): Resources {
    return Resources.fromEntriesUnion(
      this.entries().map((e) => (e.kind === 'scalar' && e.volume !== undefined ? plainScalar(e) : e)),
    );
  }

  /** The same resources, each entry (which must be a scalar `disk`) carrying `volume`. */
  withVolume(volume: VolumeIdentity): Resources {
    return Resources.fromEntriesUnion(
      this.entries().map((e) => {
        if (e.kind !== 'scalar' || e.name !== 'disk') {
          throw badResources(`only scalar 'disk' can be a persistent volume, not '${formatEntry(e)}'`);
        }
        return { ...plainScalar(e), volume };
      }),
    );
  }

  /** What a framework in `role` may use: unreserved plus reserved for `role`. */
  allocatableTo(role: string): Resources {
    return this.filter((e) => e.role === ANY_ROLE || e.role === role);
  }

  /** The same quantities, all reserved for `role` (without a reservation's principal and labels). */
  withRole(role: string): Resources {
    checkRole(role);
    return Resources.fromEntriesUnion(this.entries().map((e) => ({ ...withoutIdentity(e), role })));
  }

  /**
   * The same resources, each (which must be reserved) carrying the dynamic reservation `reservation`
   * (principal and labels), or none when undefined.
   */
  withReservation(reservation: ReservationIdentity | undefined): Resources {
    return Resources.fromEntriesUnion(
      this.entries().map((e) => {
        if (reservation === undefined) return withoutIdentity(e);
        if (e.role === ANY_ROLE) throw badResources(`unreserved '${formatEntry(e)}' cannot carry a reservation`);
        return { ...e, reservation };
      }),
    );
  }

  /** Only the entries without a reservation identity (unreserved, static, dynamic without principal and labels). */
  withoutReservationIdentity(): Resources {
    return this.filter((e) => e.reservation === undefined);
  }

  /** The distinct reservation identities present (undefined = none), in canonical order, with their resources. */
  byReservation(): Array<{ role: string; reservation: ReservationIdentity | undefined; resources: Resources }> {
    const groups = new Map<
      string,
      { role: string; reservation: ReservationIdentity | undefined; list: ResourceEntry[] }
    >();
    for (const e of this.entries()) {
      const k = e.role + reservationKey(e.reservation);
      const g = groups.get(k);
      if (g === undefined) groups.set(k, { role: e.role, reservation: e.reservation, list: [e] });
      else g.list.push(e);
    }
    return [...groups.values()].map((g) => ({
      role: g.role,
      reservation: g.reservation,
      resources: Resources.fromEntriesUnion(g.list),
    }));
  }

  /** Resource names, sorted canonically, without duplicates. */
  names(): string[] {
    const out: string[] = [];
    for (const e of this.entries()) if (out[out.length - 1] !== e.name) out.push(e.name);
    return out;
  }

  /** Roles present, '*' first. */
  roles(): string[] {
    const roles = new Set<string>();
    for (const e of this.byKey.values()) roles.add(e.role);
    return [...roles].sort((a, b) => (a === ANY_ROLE ? -1 : b === ANY_ROLE ? 1 : a < b ? -1 : a > b ? 1 : 0));
  }

  /**
   * The Mesos `/state` form: `{cpus, gpus, mem, disk}` (0 when absent), other
   * scalars as numbers, ranges as '[a-b,c-d]', sets as '{a,b}'; summed over roles.
   */
  toMesosJson(): Record<string, number | string> {
    const out: Record<string, number | string> = { cpus: 0, gpus: 0, mem: 0, disk: 0 };
    for (const [name, v] of this.scalars()) out[name] = v;
    for (const name of this.names()) {
      const kind = this.entries().find((e) => e.name === name)?.kind;
      if (kind === 'ranges') out[name] = formatRanges(this.ranges(name));
      if (kind === 'set') out[name] = formatSet(this.set(name));
    }
    return out;
  }

  /**
   * Mesos' JSON model of each Resource (as in `/state` `reserved_resources_full`): `{name, type: 'SCALAR',
   * scalar: {value}, role, disk: {persistence: {id, principal}, volume: {container_path, mode: 'RW'}}}`.
   */
  toMesosJsonList(): Array<Record<string, unknown>> {
    return this.entries().map((e) => {
      const base: Record<string, unknown> = { name: e.name, role: e.role };
      if (e.reservation !== undefined) base['reservations'] = reservationToJson(e.role, e.reservation);
      if (e.kind === 'scalar') {
        Object.assign(base, { type: 'SCALAR', scalar: { value: fromMillis(e.millis) } });
        if (e.volume !== undefined) {
          const v = e.volume;
          base['disk'] = {
            persistence: { id: v.id, ...(v.principal === undefined ? {} : { principal: v.principal }) },
            volume: { container_path: v.containerPath, mode: v.mode },
          };
        }
      } else if (e.kind === 'ranges') {
        Object.assign(base, { type: 'RANGES', ranges: { range: e.ranges.map(([begin, end]) => ({ begin, end })) } });
      } else {
        Object.assign(base, { type: 'SET', set: { item: e.items.slice() } });
      }
      return base;
    });
  }

  private filter(pred: (e: ResourceEntry) => boolean): Resources {
    let map: Map<string, ResourceEntry> | undefined;
    for (const [k, e] of this.byKey) {
      if (pred(e)) continue;
      map ??= new Map(this.byKey);
      map.delete(k);
    }
    if (map === undefined) return this;
    return map.size === 0 ? Resources.EMPTY : new Resources(map);
  }

  /** Like fromEntries, but duplicates are united (no overlap check). */
  private static fromEntriesUnion(entries: readonly ResourceEntry[]): Resources {
    const map = new Map<string, ResourceEntry>();
    for (const e of entries) {
      const k = entryKey(e);
      const prev = map.get(k);
      map.set(k, prev === undefined ? e : addEntries(prev, e));
    }
    return map.size === 0 ? Resources.EMPTY : new Resources(map);
  }
}

function plainScalar(e: Extract<ResourceEntry, { kind: 'scalar' }>): ResourceEntry {
  const out = { kind: 'scalar' as const, name: e.name, role: e.role, millis: e.millis };
  return e.reservation === undefined ? out : { ...out, reservation: e.reservation };
}
