/**
 * Service ports (Marathon's `AssignDynamicServiceLogic`): a port definition
 * with `port: 0` gets the lowest port of `[localPortMin, localPortMax]` that
 * no other app's definitions use; non-zero ports are service ports as given.
 * PURE.
 */
import { AgoraError } from '@agora/common';
import type { AppDefinition, AppSpec } from '../model/app-definition.js';

export interface ServicePortRange {
  /** @default 10000 */
  min: number;
  /** @default 20000 */
  max: number;
}

export const DEFAULT_SERVICE_PORT_RANGE: ServicePortRange = { min: 10_000, max: 20_000 };

/** The spec with every `port: 0` definition given a free service port. */
export function assignServicePorts(spec: AppSpec, others: Iterable<AppDefinition>, range: ServicePortRange): AppSpec {
  if (!spec.portDefinitions.some((p) => p.port === 0)) return spec;
  const used = new Set<number>();
  for (const app of others) {
    if (app.id === spec.id) continue;
    for (const p of app.portDefinitions) used.add(p.port);
  }
  for (const p of spec.portDefinitions) used.add(p.port);
  let next = range.min;
  const portDefinitions = spec.portDefinitions.map((def) => {
    if (def.port !== 0) return def;
    while (used.has(next) && next <= range.max) next++;
    if (next > range.max) {
      throw new AgoraError('AGORA_ERR_APP_INVALID', `no free service port left in [${range.min}, ${range.max}]`, {
        data: {
          kind: 'semantic',
          violations: [
            { path: '/portDefinitions', errors: [`no free service port left in [${range.min}, ${range.max}]`] },
          ],
        },
      });
    }
    used.add(next);
    return { ...def, port: next };
  });
  return { ...spec, portDefinitions };
}
