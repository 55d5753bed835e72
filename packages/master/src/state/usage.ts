/**
 * An agent's UsageReport (AgentToMaster.usage) as the master keeps it: per
 * task, the ResourceStatistics in Mesos' JSON names (`timestamp`,
 * `cpus_user_time_secs`, `cpus_limit`, `mem_rss_bytes`, …), only the fields the
 * agent set, 64-bit counters as numbers. Shown as `statistics` in `/state` and
 * `/tasks` task JSON (state-view.ts).
 */
import { agora } from '@agora/proto';
import type { TaskUsage } from '../tasks/task-tracker.js';

export function usageOf(report: agora.v1.agent.AgentToMaster.UsageReport): TaskUsage[] {
  return report.tasks.map((t) => ({
    frameworkId: t.framework_id.value,
    taskId: t.task_id.value,
    statistics: agora.v1.ResourceStatistics.toObject(t.statistics, { longs: Number }) as Record<string, number>,
  }));
}
