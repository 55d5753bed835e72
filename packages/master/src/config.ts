/**
 * The master's options: one interface, one defaults object, validated when the
 * master is created (a bad value throws AGORA_ERR_BAD_FLAG naming the option).
 */
import { AgoraError } from '@agora/common';
import type { RemovalRateLimit } from './agents/removal-rate-limiter.js';

export interface MasterConfig {
  /** TCP port to listen on; 0 picks a free one. @default 5050 */
  port: number;
  /** Address to bind. @default '127.0.0.1' */
  host?: string;
  /** Hostname published in MasterInfo and used in redirects. @default host, or os.hostname() when host is 0.0.0.0 */
  hostname?: string;
  /** ZooKeeper URL `zk://host:2181[,host2:2181]/path`; absent = standalone (this master always leads). */
  zk?: string;
  /** ZooKeeper session timeout (Mesos' --zk_session_timeout). @default 10000 */
  zkSessionTimeoutMs?: number;
  /** Work directory: standalone masters keep the registry in `<workDir>/registry.pb` (absent: in memory). */
  workDir?: string;
  /** Period of the batch allocation cycle. @default 1000 */
  allocationIntervalMs?: number;
  /** Rescind offers held longer than this; absent = offers never time out (Mesos' default). */
  offerTimeoutMs?: number;
  /** Interval of the master's Ping to each agent. @default 15000 */
  agentPingTimeoutMs?: number;
  /** Missed pongs after which an agent is marked inactive. @default 5 */
  maxAgentPingTimeouts?: number;
  /** Interval of the HEARTBEAT event to frameworks. @default 15 */
  heartbeatIntervalSeconds?: number;
  /**
   * After this master is elected, explicit reconciliation of a task the master does not know, on an agent
   * that has not re-registered, gets no answer for this long (the agent may still come back with the task;
   * Mesos' agent_reregister_timeout). @default 600000
   */
  agentReregisterTimeoutMs?: number;
  /**
   * Largest share (0..1) of the registry's agents that may be marked unreachable when the re-register window
   * after a failover ends; beyond it this master gives up leadership instead (Mesos'
   * --recovery_agent_removal_limit). @default 1
   */
  recoveryAgentRemovalLimit?: number;
  /**
   * At most `permits` agents per `perMs` are removed (marked unreachable) after failing health checks; the
   * others wait their turn (Mesos' --agent_removal_rate_limit, e.g. 1/10mins). @default unlimited
   */
  agentRemovalRateLimit?: RemovalRateLimit;
  /** Offer agents with gpus only to frameworks with GPU_RESOURCES (Mesos' --filter_gpu_resources). @default true */
  filterGpuResources?: boolean;
  /** Resources left out of DRF shares (Mesos' --fair_sharing_excluded_resource_names). @default ['gpus'] */
  fairSharingExcludedResourceNames?: readonly string[];
}

export interface ResolvedMasterConfig {
  port: number;
  host: string;
  hostname: string | undefined;
  zk: string | undefined;
  zkSessionTimeoutMs: number;
  workDir: string | undefined;
  allocationIntervalMs: number;
  offerTimeoutMs: number | undefined;
  agentPingTimeoutMs: number;
  maxAgentPingTimeouts: number;
  heartbeatIntervalSeconds: number;
  agentReregisterTimeoutMs: number;
  recoveryAgentRemovalLimit: number;
  agentRemovalRateLimit: RemovalRateLimit | undefined;
  filterGpuResources: boolean;
  fairSharingExcludedResourceNames: readonly string[];
}

export const DEFAULT_MASTER_CONFIG = {
  port: 5050,
  host: '127.0.0.1',
  allocationIntervalMs: 1000,
  zkSessionTimeoutMs: 10_000,
  agentPingTimeoutMs: 15_000,
  maxAgentPingTimeouts: 5,
  heartbeatIntervalSeconds: 15,
  agentReregisterTimeoutMs: 600_000,
} as const;

function positive(name: string, value: number | undefined, fallback: number, allowZero = false): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0 || (v === 0 && !allowZero)) {
    const what = allowZero ? 'a non-negative number' : 'a positive number';
    throw new AgoraError('AGORA_ERR_BAD_FLAG', `master option ${name} must be ${what}, got ${String(v)}`, {
      data: { option: name, value: v },
    });
  }
  return v;
}

function fraction(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0 || v > 1) {
    throw new AgoraError('AGORA_ERR_BAD_FLAG', `master option ${name} must be a fraction in 0..1, got ${String(v)}`, {
      data: { option: name, value: v },
    });
  }
  return v;
}

/** Fill defaults and validate; throws AGORA_ERR_BAD_FLAG for a bad value. */
export function resolveMasterConfig(config: MasterConfig): ResolvedMasterConfig {
  const port = config.port ?? DEFAULT_MASTER_CONFIG.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new AgoraError('AGORA_ERR_BAD_FLAG', `master option port must be an integer in 0..65535, got ${port}`, {
      data: { option: 'port', value: port },
    });
  }
  if (config.zk !== undefined && !config.zk.startsWith('zk://')) {
    throw new AgoraError('AGORA_ERR_BAD_FLAG', `master option zk must be a zk://host:port/path URL, got ${config.zk}`, {
      data: { option: 'zk', value: config.zk },
    });
  }
  return {
    port,
    host: config.host ?? DEFAULT_MASTER_CONFIG.host,
    hostname: config.hostname,
    zk: config.zk,
    zkSessionTimeoutMs: positive('zkSessionTimeoutMs', config.zkSessionTimeoutMs, 10_000),
    workDir: config.workDir,
    allocationIntervalMs: positive('allocationIntervalMs', config.allocationIntervalMs, 1000),
    offerTimeoutMs:
      config.offerTimeoutMs === undefined ? undefined : positive('offerTimeoutMs', config.offerTimeoutMs, 0),
    agentPingTimeoutMs: positive('agentPingTimeoutMs', config.agentPingTimeoutMs, 15_000),
    maxAgentPingTimeouts: positive('maxAgentPingTimeouts', config.maxAgentPingTimeouts, 5),
    heartbeatIntervalSeconds: positive('heartbeatIntervalSeconds', config.heartbeatIntervalSeconds, 15),
    agentReregisterTimeoutMs: positive('agentReregisterTimeoutMs', config.agentReregisterTimeoutMs, 600_000, true),
    recoveryAgentRemovalLimit: fraction('recoveryAgentRemovalLimit', config.recoveryAgentRemovalLimit, 1),
    agentRemovalRateLimit:
      config.agentRemovalRateLimit === undefined
        ? undefined
        : {
            permits: positive('agentRemovalRateLimit.permits', config.agentRemovalRateLimit.permits, 1),
            perMs: positive('agentRemovalRateLimit.perMs', config.agentRemovalRateLimit.perMs, 1),
          },
    filterGpuResources: config.filterGpuResources ?? true,
    fairSharingExcludedResourceNames: [...(config.fairSharingExcludedResourceNames ?? ['gpus'])],
  };
}
