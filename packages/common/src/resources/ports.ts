/** Building single resources and picking ports out of a resources value. */
import { ANY_ROLE, badResources, checkName, checkRanges, checkRole, Resources } from './resources.js';
import { mergeRanges, type Range, toMillis } from './values.js';

/** A single scalar resource, e.g. `scalarResource('cpus', 0.5)`. */
export function scalarResource(name: string, value: number, role: string = ANY_ROLE): Resources {
  checkName(name);
  checkRole(role, name);
  if (!Number.isFinite(value) || value < 0) {
    throw badResources(`resource '${name}' needs a finite, non-negative value, got ${value}`, { name, value });
  }
  return Resources.fromEntries([{ kind: 'scalar', name, role, millis: toMillis(value) }]);
}

/** A single ranges resource, e.g. `rangesResource('ports', [[31000, 31009]])`. */
export function rangesResource(name: string, ranges: Array<[number, number]>, role: string = ANY_ROLE): Resources {
  checkName(name);
  checkRole(role, name);
  return Resources.fromEntries([{ kind: 'ranges', name, role, ranges: checkRanges(ranges, `resource '${name}'`) }]);
}

/**
 * Pick `count` ports from the 'ports' ranges of `from`: the lowest first, or
 * uniformly at random with `random` (a `() => [0, 1)` function). The picked
 * ports keep the role they were reserved for. Undefined when there are fewer
 * than `count` ports.
 */
export function pickPorts(
  from: Resources,
  count: number,
  random?: () => number,
): { ports: number[]; resources: Resources } | undefined {
  if (!Number.isSafeInteger(count) || count < 0) return undefined;
  const pools: Array<{ role: string; ranges: readonly Range[]; size: number }> = [];
  let total = 0;
  for (const e of from.entries()) {
    if (e.kind !== 'ranges' || e.name !== 'ports') continue;
    let size = 0;
    for (const [b, end] of e.ranges) size += end - b + 1;
    pools.push({ role: e.role, ranges: e.ranges, size });
    total += size;
  }
  if (total < count) return undefined;
  let indices: number[];
  if (random === undefined) {
    indices = Array.from({ length: count }, (_, i) => i);
  } else {
    // Floyd's algorithm: `count` distinct indices in [0, total), each subset equally likely.
    const chosen = new Set<number>();
    for (let j = total - count; j < total; j++) {
      const t = Math.min(j, Math.floor(random() * (j + 1)));
      chosen.add(chosen.has(t) ? j : t);
    }
    indices = [...chosen];
  }
  const picked: Array<{ port: number; role: string }> = [];
  const sorted = indices.slice().sort((a, b) => a - b);
  let pool = 0;
  let base = 0; // index of the first port of the current pool
  let r = 0;
  let rBase = base;
  for (const idx of sorted) {
    while (idx >= base + pools[pool]!.size) {
      base += pools[pool]!.size;
      pool++;
      r = 0;
      rBase = base;
    }
    const p = pools[pool]!;
    while (idx >= rBase + (p.ranges[r]![1] - p.ranges[r]![0] + 1)) {
      rBase += p.ranges[r]![1] - p.ranges[r]![0] + 1;
      r++;
    }
    picked.push({ port: p.ranges[r]![0] + (idx - rBase), role: p.role });
  }
  // Ports in the order drawn (random) or ascending (lowest first).
  const byIndex = new Map(sorted.map((idx, i) => [idx, picked[i]!]));
  const ports = indices.map((idx) => byIndex.get(idx)!.port);
  const byRole = new Map<string, Range[]>();
  for (const { port, role } of picked) {
    const list = byRole.get(role) ?? [];
    list.push([port, port]);
    byRole.set(role, list);
  }
  const resources = Resources.fromEntries(
    [...byRole].map(([role, list]) => ({ kind: 'ranges' as const, name: 'ports', role, ranges: mergeRanges(list) })),
  );
  return { ports, resources };
}
