/** Building apps and tasks for the scheduling tests. */
import type { AppDefinition } from '../../src/model/app-definition.js';
import { parseAppDefinition } from '../../src/model/app-parser.js';
import type { TaskRecord } from '../../src/model/task.js';

export const V1 = '2024-01-01T00:00:00.000Z';
export const V2 = '2024-01-02T00:00:00.000Z';

/** A stored app from a definition body (throws when it is invalid). */
export function app(body: Record<string, unknown>, version = V1): AppDefinition {
  const r = parseAppDefinition({ cmd: 'sleep 1000', ...body });
  if (!r.ok) throw new Error(JSON.stringify(r.violations));
  return { ...r.spec, version, versionInfo: { lastScalingAt: version, lastConfigChangeAt: version } };
}

let n = 0;
/** A task record of `appId`. */
export function task(appId: string, fields: { [K in keyof TaskRecord]?: TaskRecord[K] | undefined } = {}): TaskRecord {
  n++;
  const t: TaskRecord = {
    id: `${appId.slice(1).replaceAll('/', '_')}.instance-${String(n).padStart(8, '0')}-0000-0000-0000-000000000000._app.1`,
    appId,
    agentId: 'agent-1',
    host: 'host-1',
    state: 'TASK_RUNNING',
    stagedAt: `2024-01-01T00:00:${String(n % 60).padStart(2, '0')}.000Z`,
    startedAt: `2024-01-01T00:01:${String(n % 60).padStart(2, '0')}.000Z`,
    version: V1,
    ports: [],
    servicePorts: [],
    ipAddresses: [],
    role: '*',
  };
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) delete (t as unknown as Record<string, unknown>)[k];
    else (t as unknown as Record<string, unknown>)[k] = v;
  }
  return t;
}
