/**
 * `GET /monitor/statistics` (also `.json`): Mesos' agent resource monitor, one
 * entry per running container:
 *
 * ```json
 * [{ "executor_id": "t1", "executor_name": "Command Executor (Task: t1) ...", "framework_id": "fw",
 *    "source": "t1", "statistics": { "timestamp": 1.7e9, "cpus_user_time_secs": 0.5,
 *    "cpus_system_time_secs": 0.1, "cpus_limit": 0.5, "mem_rss_bytes": 1048576,
 *    "mem_limit_bytes": 67108864, "processes": 2, "threads": 2, ... } }]
 * ```
 *
 * The numbers come from the container's cgroups, or from /proc (its process
 * group) in the posix fallback.
 */
import type { Router } from '@koa/router';
import type { TaskUsage } from '../tasks/task-manager.js';

/** One entry per executor: a command task's own, or a custom executor's (once, whatever its number of tasks). */
export function statisticsJson(usages: readonly TaskUsage[]): Record<string, unknown>[] {
  const seen = new Set<string>();
  const out: Record<string, unknown>[] = [];
  for (const u of usages) {
    const executorId = u.executorId ?? u.taskId;
    const key = `${u.frameworkId}/${executorId}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({
      executor_id: executorId,
      executor_name: u.executorName,
      framework_id: u.frameworkId,
      source: u.executorId === undefined ? u.taskId : executorId,
      statistics: u.usage,
    });
  }
  return out;
}

export function mountMonitorRoutes(router: Router, usage: () => Promise<TaskUsage[]>): void {
  const serve = async (ctx: { body: unknown }) => {
    ctx.body = statisticsJson(await usage());
  };
  router.get('/monitor/statistics', serve);
  router.get('/monitor/statistics.json', serve);
}
