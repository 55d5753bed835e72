/**
 * The HTTP app's dependencies for a whole master: every route group backed by
 * the master's parts and read-only views (tests build HttpAppDeps piecemeal).
 */
import type { MasterParts } from '../../routing/parts.js';
import { versionJson } from '../../master-info.js';
import { prometheusText } from '../../state/metrics.js';
import type { MasterViews } from '../../state/views.js';
import type { HttpAppDeps } from './app.js';
import type { MasterEventStream } from './events.js';
import { createOperatorDeps, operatorReservations } from './operator/index.js';

export interface MasterHttpSources {
  parts: MasterParts;
  views: MasterViews;
  events: MasterEventStream;
  isLeader(): boolean;
  leaderAuthority(): string | undefined;
}

export function masterHttpDeps(s: MasterHttpSources): HttpAppDeps {
  const { parts, views } = s;
  const operator = createOperatorDeps(parts, parts.quota, operatorReservations(parts));
  const flags = () => views.flags();
  const metrics = () => views.metrics();
  const version = () => versionJson();
  return {
    isLeader: s.isLeader,
    leaderAuthority: s.leaderAuthority,
    state: () => views.snapshot.state(),
    lifecycle: {
      teardown: (frameworkId) => parts.frameworkLifecycle.teardown(frameworkId, 'operator /teardown'),
      markAgentGone: (agentId) => parts.agentLifecycle.markGone(agentId),
    },
    maintenance: parts.maintenance,
    readonly: { views: views.snapshot, flags, version, metrics, prometheus: () => prometheusText(metrics()) },
    operator,
    operatorCalls: { operator, maintenance: parts.maintenance, flags, version, metrics, records: parts },
    events: s.events,
  };
}
