import { createLogger } from '@agora/common';
import { type AgentConfig, createAgent, startSimulatedAgents } from '@agora/agent';
import {
  badFlag,
  parseAttributesFlag,
  parseBytes,
  parseDuration,
  parseMasterFlag,
  parsePort,
  parsePositiveInt,
  parseResourcesFlag,
  parseTimerDuration,
} from '../flags.js';
import type { Running } from './daemon.js';

export interface AgentFlags {
  master?: string;
  port?: string;
  ip?: string;
  hostname?: string;
  work_dir?: string;
  resources?: string;
  attributes?: string;
  isolation?: string;
  cgroups_enable_cfs?: boolean;
  cgroups_version?: string;
  cgroups_root?: string;
  enforce_container_disk_quota?: boolean;
  container_disk_watch_interval?: string;
  gc_delay?: string;
  gc_disk_headroom?: string;
  disk_watch_interval?: string;
  fetcher_stall_timeout?: string;
  fetcher_cache_size?: string;
  usage_report_interval?: string;
  domain?: string;
  executor_reregistration_timeout?: string;
  http_heartbeat_interval?: string;
  simulate?: boolean;
  count?: string;
  simulate_task_duration?: string;
  simulate_failure_rate?: string;
}

/** A fraction from 0 to 1 (`--gc_disk_headroom`, `--simulate_failure_rate`). */
function parseFraction(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!(n >= 0 && n <= 1)) throw badFlag(flag, `must be a fraction from 0 to 1, got '${value}'`);
  return n;
}

/** `agora agent`: registers with the leading master and runs its tasks. */
export async function runAgent(flags: AgentFlags): Promise<Running> {
  if (flags.work_dir === undefined)
    throw badFlag('work_dir', 'is required: the directory for sandboxes and agent state');
  const resources = parseResourcesFlag('resources', flags.resources);
  const attributes = parseAttributesFlag('attributes', flags.attributes);
  if (flags.simulate === true) {
    return runSimulatedAgents(flags, {
      master: parseMasterFlag('master', flags.master),
      port: parsePort('port', flags.port, 5051),
      host: flags.ip ?? '127.0.0.1',
      workDir: flags.work_dir,
      ...(flags.hostname === undefined ? {} : { hostname: flags.hostname }),
      ...(resources === undefined ? {} : { resources }),
      ...(attributes === undefined ? {} : { attributes }),
      gcDelayMs: parseDuration('gc_delay', flags.gc_delay, 604_800_000),
      gcDiskHeadroom: parseFraction('gc_disk_headroom', flags.gc_disk_headroom, 0.1),
    });
  }
  const agent = createAgent(
    {
      master: parseMasterFlag('master', flags.master),
      port: parsePort('port', flags.port, 5051),
      host: flags.ip ?? '127.0.0.1',
      workDir: flags.work_dir,
      ...(flags.hostname === undefined ? {} : { hostname: flags.hostname }),
      ...(resources === undefined ? {} : { resources }),
      ...(attributes === undefined ? {} : { attributes }),
      ...(flags.isolation === undefined ? {} : { isolation: flags.isolation }),
      ...(flags.cgroups_root === undefined ? {} : { cgroupsRoot: flags.cgroups_root }),
      ...(flags.cgroups_version === undefined
        ? {}
        : { cgroupsVersion: flags.cgroups_version as NonNullable<AgentConfig['cgroupsVersion']> }),
      cgroupsEnableCfs: flags.cgroups_enable_cfs === true,
      enforceContainerDiskQuota: flags.enforce_container_disk_quota === true,
      containerDiskWatchIntervalMs: parseTimerDuration(
        'container_disk_watch_interval',
        flags.container_disk_watch_interval,
        15_000,
      ),
      gcDelayMs: parseDuration('gc_delay', flags.gc_delay, 604_800_000),
      gcDiskHeadroom: parseFraction('gc_disk_headroom', flags.gc_disk_headroom, 0.1),
      diskWatchIntervalMs: parseTimerDuration('disk_watch_interval', flags.disk_watch_interval, 60_000),
      fetcherStallTimeoutMs: parseTimerDuration('fetcher_stall_timeout', flags.fetcher_stall_timeout, 60_000),
      fetcherCacheSizeBytes: parseBytes('fetcher_cache_size', flags.fetcher_cache_size, 2 * 1024 ** 3),
      usageReportIntervalMs: parseTimerDuration('usage_report_interval', flags.usage_report_interval, 10_000),
      ...(flags.domain === undefined ? {} : { domain: flags.domain }),
      executorReregistrationTimeoutMs: parseTimerDuration(
        'executor_reregistration_timeout',
        flags.executor_reregistration_timeout,
        2_000,
      ),
      executorHeartbeatIntervalMs: parseTimerDuration('http_heartbeat_interval', flags.http_heartbeat_interval, 30_000),
    },
    { logger: createLogger({ component: 'agent' }) },
  );
  await agent.start();
  return {
    banner: [`agent listening on ${agent.url}, master ${flags.master}`],
    close: () => agent.close({ killTasks: false }),
  };
}

/** `agora agent --simulate [--count N]`: simulated agents, tasks run virtually. */
async function runSimulatedAgents(flags: AgentFlags, config: AgentConfig): Promise<Running> {
  const count = parsePositiveInt('count', flags.count, 1);
  const sims = await startSimulatedAgents({
    config,
    count,
    lifecycle: {
      taskDurationMs: parseTimerDuration('simulate_task_duration', flags.simulate_task_duration, 0),
      failureRate: parseFraction('simulate_failure_rate', flags.simulate_failure_rate, 0),
    },
    logger: createLogger({ component: 'simulated-agent' }),
  });
  const first = sims.agents[0]?.url ?? '';
  const last = sims.agents[sims.agents.length - 1]?.url ?? '';
  return {
    banner: [
      `${count} simulated agent(s) listening on ${first}${count > 1 ? ` … ${last}` : ''}, master ${flags.master}`,
    ],
    close: () => sims.close(),
  };
}
