/**
 * Usage reports: every `--usage_report_interval` the agent sends the master
 * `AgentToMaster.usage` with each running task's ResourceStatistics (the
 * numbers of `/monitor/statistics`), so the master can show usage per task.
 * Nothing is sent while no task runs or while the agent is not registered
 * (the next report after re-registration carries the current numbers).
 */
import { type Clock, type Disposable, type Logger, silentLogger, systemClock } from '@agora/common';
import type { agora } from '@agora/proto';
import type { ContainerUsage } from '../containerizer/containerizer.js';
import type { TaskUsage } from '../tasks/task-manager.js';

/** `--usage_report_interval`'s default. */
export const DEFAULT_USAGE_REPORT_INTERVAL_MS = 10_000;

type ResourceStatistics = agora.v1.ResourceStatistics.$Properties;
type UsageReport = agora.v1.agent.AgentToMaster.UsageReport.$Properties;

/** A container's usage as the proto's ResourceStatistics (Mesos' field names). */
export function toResourceStatistics(u: ContainerUsage): ResourceStatistics {
  const stats: ResourceStatistics = {
    timestamp: u.timestamp,
    processes: u.processes,
    threads: u.threads,
    cpus_user_time_secs: u.cpus_user_time_secs,
    cpus_system_time_secs: u.cpus_system_time_secs,
    mem_rss_bytes: u.mem_rss_bytes,
  };
  if (u.cpus_limit !== undefined) stats.cpus_limit = u.cpus_limit;
  if (u.mem_total_bytes !== undefined) stats.mem_total_bytes = u.mem_total_bytes;
  if (u.mem_limit_bytes !== undefined) stats.mem_limit_bytes = u.mem_limit_bytes;
  if (u.disk_used_bytes !== undefined) stats.disk_used_bytes = u.disk_used_bytes;
  if (u.disk_limit_bytes !== undefined) stats.disk_limit_bytes = u.disk_limit_bytes;
  return stats;
}

/** The UsageReport for a set of task usages. */
export function usageReport(usages: readonly TaskUsage[]): UsageReport {
  return {
    tasks: usages.map((u) => ({
      framework_id: { value: u.frameworkId },
      task_id: { value: u.taskId },
      executor_id: { value: u.executorId ?? u.taskId },
      statistics: toResourceStatistics(u.usage),
    })),
  };
}

export interface UsageReporterOptions {
  intervalMs: number;
  /** The current usage of every running task. */
  usage: () => Promise<TaskUsage[]>;
  /** Send to the master; false when not registered. */
  send: (message: agora.v1.agent.AgentToMaster.$Properties) => boolean;
  clock?: Clock;
  logger?: Logger;
}

export class UsageReporter {
  private timer: Disposable | undefined;
  private busy = false;
  private readonly logger: Logger;

  constructor(private readonly options: UsageReporterOptions) {
    this.logger = options.logger ?? silentLogger();
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = (this.options.clock ?? systemClock).setInterval(() => void this.report(), this.options.intervalMs);
  }

  /** Measure and send one report now; resolves with whether one was sent. */
  async report(): Promise<boolean> {
    if (this.busy) return false;
    this.busy = true;
    try {
      const usages = await this.options.usage();
      if (usages.length === 0) return false;
      return this.options.send({ usage: usageReport(usages) });
    } catch (err) {
      this.logger.warn({ err }, 'cannot measure usage for the usage report');
      return false;
    } finally {
      this.busy = false;
    }
  }

  dispose(): void {
    this.timer?.dispose();
    this.timer = undefined;
  }
}
