/**
 * Value helpers of the resource algebra: fixed-point scalars and sorted,
 * merged integer ranges. Pure functions over plain arrays.
 */

/** Scalars are kept as integer thousandths, so arithmetic is exact (Mesos' fixed-point Value::Scalar). */
export const SCALAR_UNITS = 1000;

/** A closed integer interval `[begin, end]`. */
export type Range = readonly [number, number];

/** Round a scalar to the nearest thousandth, as integer thousandths. */
export function toMillis(value: number): number {
  return Math.round(value * SCALAR_UNITS);
}

export function fromMillis(millis: number): number {
  return millis / SCALAR_UNITS;
}

/** Format a scalar with at most 3 decimals and no trailing zeros. */
export function formatScalar(millis: number): string {
  return String(fromMillis(millis));
}

/** Whether `ranges` is sorted, non-overlapping and non-adjacent (the canonical form). */
export function isCanonical(ranges: readonly Range[]): boolean {
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i]![0] <= ranges[i - 1]![1] + 1) return false;
  }
  return true;
}

/** Sort and merge overlapping or adjacent ranges. */
export function mergeRanges(ranges: readonly Range[]): Range[] {
  if (ranges.length <= 1) return ranges.slice();
  const sorted = ranges.slice().sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: Array<[number, number]> = [];
  for (const [b, e] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && b <= last[1] + 1) {
      if (e > last[1]) last[1] = e;
    } else {
      out.push([b, e]);
    }
  }
  return out;
}

/** The first pair of overlapping ranges, if any (adjacent ranges do not overlap). */
export function findOverlap(ranges: readonly Range[]): [Range, Range] | undefined {
  const sorted = ranges.slice().sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]![0] <= sorted[i - 1]![1]) return [sorted[i - 1]!, sorted[i]!];
  }
  return undefined;
}

/** Union of two canonical range lists. */
export function unionRanges(a: readonly Range[], b: readonly Range[]): Range[] {
  if (a.length === 0) return b.slice();
  if (b.length === 0) return a.slice();
  return mergeRanges([...a, ...b]);
}

/** Whether canonical `outer` covers every number of canonical `inner`. */
export function rangesContain(outer: readonly Range[], inner: readonly Range[]): boolean {
  let i = 0;
  for (const [b, e] of inner) {
    while (i < outer.length && outer[i]![1] < b) i++;
    const o = outer[i];
    // Canonical ranges are non-adjacent, so one outer range must cover the whole inner range.
    if (o === undefined || o[0] > b || o[1] < e) return false;
  }
  return true;
}

/** `a` minus `b` (both canonical); numbers of `b` not in `a` are ignored. */
export function subtractRanges(a: readonly Range[], b: readonly Range[]): Range[] {
  if (b.length === 0) return a.slice();
  const out: Range[] = [];
  let j = 0;
  for (const [ab, ae] of a) {
    let cur = ab;
    while (j < b.length && b[j]![1] < cur) j++;
    let k = j;
    while (k < b.length && b[k]![0] <= ae && cur <= ae) {
      const [bb, be] = b[k]!;
      if (bb > cur) out.push([cur, Math.min(bb - 1, ae)]);
      cur = Math.max(cur, be + 1);
      k++;
    }
    if (cur <= ae) out.push([cur, ae]);
  }
  return out;
}

/** How many numbers the canonical ranges hold. */
export function rangesSize(ranges: readonly Range[]): number {
  let n = 0;
  for (const [b, e] of ranges) n += e - b + 1;
  return n;
}

export function formatRanges(ranges: readonly Range[]): string {
  return '[' + ranges.map(([b, e]) => `${b}-${e}`).join(',') + ']';
}

export function formatSet(items: readonly string[]): string {
  return '{' + items.join(',') + '}';
}

/** Union of two sorted, duplicate-free string lists. */
export function unionSets(a: readonly string[], b: readonly string[]): string[] {
  if (a.length === 0) return b.slice();
  if (b.length === 0) return a.slice();
  return [...new Set([...a, ...b])].sort();
}

export function setContains(outer: readonly string[], inner: readonly string[]): boolean {
  if (inner.length > outer.length) return false;
  const s = new Set(outer);
  return inner.every((x) => s.has(x));
}

export function subtractSets(a: readonly string[], b: readonly string[]): string[] {
  if (b.length === 0) return a.slice();
  const s = new Set(b);
  return a.filter((x) => !s.has(x));
}
