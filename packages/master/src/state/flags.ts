/** The `flags` object of `/state`: the master's effective options, Mesos flag names, credentials redacted. */
import type { ResolvedMasterConfig } from '../config.js';

export function masterFlags(
  c: ResolvedMasterConfig,
  port: number,
  hostname: string,
  redactedZk: string | undefined,
): Record<string, string> {
  const flags: Record<string, string> = {
    port: String(port),
    ip: c.host,
    hostname,
    allocation_interval: `${c.allocationIntervalMs}ms`,
    agent_ping_timeout: `${c.agentPingTimeoutMs}ms`,
    max_agent_ping_timeouts: String(c.maxAgentPingTimeouts),
    agent_reregister_timeout: `${c.agentReregisterTimeoutMs}ms`,
    recovery_agent_removal_limit: `${c.recoveryAgentRemovalLimit * 100}%`,
    filter_gpu_resources: String(c.filterGpuResources),
    fair_sharing_excluded_resource_names: c.fairSharingExcludedResourceNames.join(','),
  };
  if (redactedZk !== undefined) {
    flags['zk'] = redactedZk;
    flags['zk_session_timeout'] = `${c.zkSessionTimeoutMs}ms`;
  }
  if (c.workDir !== undefined) flags['work_dir'] = c.workDir;
  if (c.offerTimeoutMs !== undefined) flags['offer_timeout'] = `${c.offerTimeoutMs}ms`;
  const rate = c.agentRemovalRateLimit;
  if (rate !== undefined) flags['agent_removal_rate_limit'] = `${rate.permits}/${rate.perMs}ms`;
  return flags;
}
