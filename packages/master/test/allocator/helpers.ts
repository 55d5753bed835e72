import { parseResources, Resources } from '@agora/common';
import type { AllocatorAgent, AllocatorFramework } from '../../src/allocator/index.js';

export function agent(id: string, total: string, allocated = '', active = true): AllocatorAgent {
  return { id, hostname: `${id}.example`, total: parseResources(total), allocated: parseResources(allocated), active };
}

export function framework(
  id: string,
  opts: { roles?: string[]; active?: boolean; suppressedRoles?: string[]; allocated?: string } = {},
): AllocatorFramework {
  return {
    id,
    roles: opts.roles ?? ['*'],
    active: opts.active ?? true,
    suppressedRoles: opts.suppressedRoles ?? [],
    allocated: opts.allocated ? parseResources(opts.allocated) : Resources.empty(),
  };
}

/** A seeded PRNG (mulberry32) returning numbers in [0, 1). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
