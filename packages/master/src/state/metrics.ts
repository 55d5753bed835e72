/**
 * `/metrics/snapshot` (Mesos' names, docs/monitoring.md) and `/metrics`
 * (the same values in the Prometheus text format). Pure: the master's state
 * in, numbers out.
 */
import { Resources } from '@agora/common';
import { TaskState } from '@agora/proto';
import type { AgentRecord } from '../agents/agent-manager.js';
import type { FrameworkRecord } from '../frameworks/framework-manager.js';
import type { OfferRecord } from '../offers/offer-manager.js';
import { isEndedState, type TaskRecord } from '../tasks/task-tracker.js';

export interface MetricsSources {
  elected: boolean;
  /** ms epoch */
  startTime: number;
  now: number;
  agents: readonly AgentRecord[];
  unreachableAgents: number;
  frameworks: readonly FrameworkRecord[];
  completedFrameworks: number;
  /** Known (not completed) tasks. */
  tasks: readonly TaskRecord[];
  unreachableTasks: number;
  /** Tasks ended per state since this master started. */
  ended: ReadonlyMap<TaskState, number>;
  offers: readonly OfferRecord[];
  registrar: { stores: number; operations: number; lastStoreMs: number };
}

const SCALARS = ['cpus', 'mem', 'disk', 'gpus'] as const;
const ACTIVE_STATES: Array<[string, TaskState]> = [
  ['staging', TaskState.TASK_STAGING],
  ['starting', TaskState.TASK_STARTING],
  ['running', TaskState.TASK_RUNNING],
  ['killing', TaskState.TASK_KILLING],
];
const ENDED_STATES: Array<[string, TaskState]> = [
  ['finished', TaskState.TASK_FINISHED],
  ['failed', TaskState.TASK_FAILED],
  ['killed', TaskState.TASK_KILLED],
  ['lost', TaskState.TASK_LOST],
  ['error', TaskState.TASK_ERROR],
  ['dropped', TaskState.TASK_DROPPED],
  ['gone', TaskState.TASK_GONE],
  ['gone_by_operator', TaskState.TASK_GONE_BY_OPERATOR],
];

function scalar(r: Resources, name: string): number {
  return r.scalar(name);
}

export function metricsSnapshot(s: MetricsSources): Record<string, number> {
  const m: Record<string, number> = {};
  m['master/elected'] = s.elected ? 1 : 0;
  m['master/uptime_secs'] = Math.max(0, (s.now - s.startTime) / 1000);

  const active = s.agents.filter((a) => a.active).length;
  const connected = s.agents.filter((a) => a.connected).length;
  m['master/slaves_active'] = active;
  m['master/slaves_inactive'] = s.agents.length - active;
  m['master/slaves_connected'] = connected;
  m['master/slaves_disconnected'] = s.agents.length - connected;
  m['master/slaves_unreachable'] = s.unreachableAgents;

  const fActive = s.frameworks.filter((f) => f.active).length;
  const fConnected = s.frameworks.filter((f) => f.connected).length;
  m['master/frameworks_active'] = fActive;
  m['master/frameworks_inactive'] = s.frameworks.length - fActive;
  m['master/frameworks_connected'] = fConnected;
  m['master/frameworks_disconnected'] = s.frameworks.length - fConnected;
  m['master/frameworks_completed'] = s.completedFrameworks;

  for (const [name, state] of ACTIVE_STATES)
    m[`master/tasks_${name}`] = s.tasks.filter((t) => t.state === state).length;
  m['master/tasks_unreachable'] = s.unreachableTasks;
  for (const [name, state] of ENDED_STATES) m[`master/tasks_${name}`] = s.ended.get(state) ?? 0;

  let total = Resources.empty();
  for (const a of s.agents) total = total.add(a.total);
  let used = Resources.empty();
  for (const t of s.tasks) if (!isEndedState(t.state)) used = used.add(t.resources);
  let offered = Resources.empty();
  for (const o of s.offers) offered = offered.add(o.resources);
  for (const name of SCALARS) {
    const t = scalar(total, name);
    const u = scalar(used, name);
    m[`master/${name}_total`] = t;
    m[`master/${name}_used`] = u;
    m[`master/${name}_percent`] = t > 0 ? u / t : 0;
    m[`master/${name}_offered`] = scalar(offered, name);
  }
  m['master/outstanding_offers'] = s.offers.length;
  m['registrar/state_store_ms'] = s.registrar.lastStoreMs;
  m['registrar/stores'] = s.registrar.stores;
  m['registrar/operations'] = s.registrar.operations;
  return m;
}

/** The snapshot in the Prometheus text format: `master/cpus_total` → `mesos_master_cpus_total`. */
export function prometheusText(snapshot: Record<string, number>): string {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(snapshot).sort(([a], [b]) => a.localeCompare(b))) {
    const name = `mesos_${key.replace(/[^a-zA-Z0-9_]/g, '_')}`;
    lines.push(
      `# HELP ${name} Mesos metric ${key}`,
      `# TYPE ${name} gauge`,
      `${name} ${Number.isFinite(value) ? value : 0}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
