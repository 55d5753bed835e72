/**
 * The agent's options: one interface, one defaults object, validated before
 * anything starts (a bad value stops the agent with a message naming it).
 */
import { AgoraError } from '@agora/common';
import { CGROUPS_VERSION_CHOICES, type CgroupsVersionChoice } from './isolation/cgroup-values.js';
import { parseDomainFlag } from './resources/domain.js';

export interface AgentConfig {
  /** The master: `host:port`, `http://host:port` or `zk://host:2181,.../agora`. */
  master: string;
  /** HTTP port; 0 picks a free one. @default 5051 */
  port: number;
  /** Address the HTTP server binds. @default '127.0.0.1' */
  host?: string;
  /** Hostname advertised to the master and given to tasks as HOST. @default os.hostname() */
  hostname?: string;
  /** Sandboxes and agent state live here. */
  workDir: string;
  /** Mesos resource text; anything of cpus/mem/disk/ports not given is detected. */
  resources?: string;
  /** Mesos attribute text, e.g. `rack:r1;zone:a`. */
  attributes?: string;
  /** First reconnect delay. @default 1000 */
  reconnectInitialMs?: number;
  /** Longest reconnect delay. @default 60000 */
  reconnectMaxMs?: number;
  /** Reconnect when the master sends nothing for this long. @default 75000 */
  masterPingTimeoutMs?: number;
  /** First resend of an unacknowledged status update. @default 10000 */
  statusUpdateRetryMinMs?: number;
  /** Longest interval between resends. @default 600000 */
  statusUpdateRetryMaxMs?: number;
  /**
   * Isolators (`--isolation`), comma-separated: `cgroups/cpu`, `cgroups/mem`, `namespaces/pid`,
   * `disk/du`, `posix/cpu`, `posix/mem`, `posix/disk`. @default what the host supports
   */
  isolation?: string;
  /** Hard-cap each container at its `cpus` with the CFS quota (`--cgroups_enable_cfs`). @default false */
  cgroupsEnableCfs?: boolean;
  /** The cgroup below which containers go (`--cgroups_root`). @default 'agora' */
  cgroupsRoot?: string;
  /**
   * Which cgroup hierarchy containers use (`--cgroups_version`): `auto` (v2 with cpu and memory, else v1, else v2
   * with what it has), or `v1` / `v2` forced. On v2 a missing cpu/memory controller is a stated posix fallback.
   * @default 'auto'
   */
  cgroupsVersion?: CgroupsVersionChoice;
  /** Kill a task whose sandbox outgrows its `disk` (`--enforce_container_disk_quota`). @default false */
  enforceContainerDiskQuota?: boolean;
  /** How often sandbox disk usage is measured (`--container_disk_watch_interval`). @default 15000 */
  containerDiskWatchIntervalMs?: number;
  /** Remove a finished sandbox this long after its last change (`--gc_delay`). @default 1 week */
  gcDelayMs?: number;
  /** Free-disk fraction to keep: the fuller the disk, the sooner sandboxes go (`--gc_disk_headroom`). @default 0.1 */
  gcDiskHeadroom?: number;
  /** How often the disk is checked and sandboxes collected (`--disk_watch_interval`). @default 60000 */
  diskWatchIntervalMs?: number;
  /** A URI download that receives nothing for this long fails (`--fetcher_stall_timeout`). @default 60000 */
  fetcherStallTimeoutMs?: number;
  /** The fetcher cache's size limit in bytes (`--fetcher_cache_size`); LRU entries are evicted. @default 2 GiB */
  fetcherCacheSizeBytes?: number;
  /** A custom executor that does not subscribe within this is killed (`--executor_registration_timeout`). @default 60000 */
  executorRegistrationTimeoutMs?: number;
  /** Between SHUTDOWN and killing a custom executor (`--executor_shutdown_grace_period`). @default 5000 */
  executorShutdownGraceMs?: number;
  /**
   * After an agent restart, how long a recovered custom executor has to re-subscribe before it is killed and its
   * tasks are reported lost (`--executor_reregistration_timeout`). @default 2000
   */
  executorReregistrationTimeoutMs?: number;
  /** How often subscribed executors get a HEARTBEAT event (`--http_heartbeat_interval`). @default 30000 */
  executorHeartbeatIntervalMs?: number;
  /** How often the running tasks' usage is sent to the master (`--usage_report_interval`). @default 10000 */
  usageReportIntervalMs?: number;
  /**
   * The agent's fault domain (`--domain`): JSON like `{"fault_domain":{"region":{"name":"r1"},"zone":{"name":"z1"}}}`,
   * or the path of a file holding it (`file:///path` or `/path`). @default none
   */
  domain?: string;
}

export const DEFAULT_AGENT_CONFIG = {
  port: 5051,
  host: '127.0.0.1',
  reconnectInitialMs: 1000,
  reconnectMaxMs: 60_000,
  masterPingTimeoutMs: 75_000,
  statusUpdateRetryMinMs: 10_000,
  statusUpdateRetryMaxMs: 600_000,
  cgroupsRoot: 'agora',
  containerDiskWatchIntervalMs: 15_000,
  gcDelayMs: 7 * 24 * 3600 * 1000,
  gcDiskHeadroom: 0.1,
  diskWatchIntervalMs: 60_000,
  fetcherStallTimeoutMs: 60_000,
  fetcherCacheSizeBytes: 2 * 1024 ** 3,
  executorRegistrationTimeoutMs: 60_000,
  executorShutdownGraceMs: 5_000,
  executorReregistrationTimeoutMs: 2_000,
  executorHeartbeatIntervalMs: 30_000,
  usageReportIntervalMs: 10_000,
} as const;

function badFlag(flag: string, value: unknown, why: string): AgoraError {
  return new AgoraError('AGORA_ERR_BAD_FLAG', `--${flag} ${JSON.stringify(value)} is invalid: ${why}`, {
    data: { flag, value },
  });
}

function checkPositive(flag: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value > 0))
    throw badFlag(flag, value, 'expected a positive number');
}

/** Throws AGORA_ERR_BAD_FLAG for the first bad option. */
export function validateAgentConfig(config: AgentConfig): void {
  if (typeof config.workDir !== 'string' || config.workDir.trim() === '') {
    throw badFlag('work_dir', config.workDir, 'a directory is required');
  }
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65_535) {
    throw badFlag('port', config.port, 'expected an integer from 0 to 65535');
  }
  if (config.host !== undefined && config.host.trim() === '') throw badFlag('ip', config.host, 'empty address');
  if (config.hostname !== undefined && config.hostname.trim() === '') {
    throw badFlag('hostname', config.hostname, 'empty hostname');
  }
  checkPositive('reconnect_initial_ms', config.reconnectInitialMs);
  checkPositive('reconnect_max_ms', config.reconnectMaxMs);
  checkPositive('master_ping_timeout_ms', config.masterPingTimeoutMs);
  checkPositive('status_update_retry_min_ms', config.statusUpdateRetryMinMs);
  checkPositive('status_update_retry_max_ms', config.statusUpdateRetryMaxMs);
  checkPositive('container_disk_watch_interval', config.containerDiskWatchIntervalMs);
  const cgroupsRoot = config.cgroupsRoot;
  if (
    cgroupsRoot !== undefined &&
    (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(cgroupsRoot) || cgroupsRoot.split('/').some((p) => /^\.+$/.test(p)))
  ) {
    throw badFlag('cgroups_root', config.cgroupsRoot, 'expected a relative cgroup path like "agora"');
  }
  if (config.cgroupsVersion !== undefined && !CGROUPS_VERSION_CHOICES.includes(config.cgroupsVersion)) {
    throw badFlag('cgroups_version', config.cgroupsVersion, 'expected auto, v1 or v2');
  }
  checkPositive('gc_delay', config.gcDelayMs);
  checkPositive('disk_watch_interval', config.diskWatchIntervalMs);
  checkPositive('fetcher_stall_timeout', config.fetcherStallTimeoutMs);
  checkPositive('fetcher_cache_size', config.fetcherCacheSizeBytes);
  checkPositive('executor_registration_timeout', config.executorRegistrationTimeoutMs);
  checkPositive('executor_shutdown_grace_period', config.executorShutdownGraceMs);
  checkPositive('usage_report_interval', config.usageReportIntervalMs);
  checkPositive('executor_reregistration_timeout', config.executorReregistrationTimeoutMs);
  checkPositive('http_heartbeat_interval', config.executorHeartbeatIntervalMs);
  if (config.domain !== undefined) parseDomainFlag(config.domain);
  const headroom = config.gcDiskHeadroom;
  if (headroom !== undefined && !(Number.isFinite(headroom) && headroom >= 0 && headroom <= 1)) {
    throw badFlag('gc_disk_headroom', headroom, 'expected a fraction from 0 to 1');
  }
}
