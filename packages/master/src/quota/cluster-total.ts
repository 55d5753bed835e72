/** Scalar totals of the cluster, for quota's capacity check and `/roles`. */
import type { Resources } from '@agora/common';
import { Quantities } from '../allocator/index.js';

/** Scalar totals of every registered agent (active or not). */
export function clusterTotalOf(parts: {
  agents: { all(): ReadonlyArray<{ total: Resources }> };
}): Record<string, number> {
  const q = new Quantities();
  for (const a of parts.agents.all()) q.addResources(a.total, 1);
  return q.toJSON();
}
