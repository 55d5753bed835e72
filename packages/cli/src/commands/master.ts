import { createLogger } from '@agora/common';
import { createMaster, parseRemovalRateLimit, type RemovalRateLimit } from '@agora/master';
import { badFlag, parseDuration, parsePort, parsePositiveInt, parseTimerDuration, parseZkFlag } from '../flags.js';
import type { Running } from './daemon.js';

export interface MasterFlags {
  port?: string;
  ip?: string;
  hostname?: string;
  zk?: string;
  work_dir?: string;
  allocation_interval?: string;
  agent_ping_timeout?: string;
  max_agent_ping_timeouts?: string;
  agent_reregister_timeout?: string;
  recovery_agent_removal_limit?: string;
  agent_removal_rate_limit?: string;
  filter_gpu_resources?: string;
  fair_sharing_excluded_resource_names?: string;
}

/** `true` / `false` (Mesos' boolean flags). */
function parseBool(flag: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw badFlag(flag, `must be true or false, got '${value}'`);
}

/** Mesos' `--agent_removal_rate_limit`: `<removals>/<duration>` such as `1/10mins`; unset = unlimited. */
function parseRateLimit(value: string | undefined): RemovalRateLimit | undefined {
  if (value === undefined) return undefined;
  try {
    return parseRemovalRateLimit(value, (d) => parseDuration('agent_removal_rate_limit', d, 0));
  } catch (err) {
    throw badFlag('agent_removal_rate_limit', err instanceof Error ? err.message : String(err), err);
  }
}

/** Mesos' `--recovery_agent_removal_limit`: a percentage (`100%`) or a fraction (`0.5`). */
function parseRemovalLimit(value: string | undefined): number {
  if (value === undefined) return 1;
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(value.trim());
  const n = m === null ? Number.NaN : Number(m[1]) / (m[2] === '%' ? 100 : 1);
  if (!(n >= 0 && n <= 1)) {
    throw badFlag(
      'recovery_agent_removal_limit',
      `must be a percentage (e.g. 100%) or a fraction in 0..1, got ${value}`,
    );
  }
  return n;
}

/** `agora master`: one master; with --zk it contends for leadership, else it leads alone. */
export async function runMaster(flags: MasterFlags, onFatal: (reason: string) => void): Promise<Running> {
  const logger = createLogger({ component: 'master' });
  const master = createMaster(
    {
      port: parsePort('port', flags.port, 5050),
      host: flags.ip ?? '127.0.0.1',
      ...(flags.hostname === undefined ? {} : { hostname: flags.hostname }),
      ...(flags.zk === undefined ? {} : { zk: parseZkFlag('zk', flags.zk) as string }),
      ...(flags.work_dir === undefined ? {} : { workDir: flags.work_dir }),
      allocationIntervalMs: parseTimerDuration('allocation_interval', flags.allocation_interval, 1000),
      agentPingTimeoutMs: parseTimerDuration('agent_ping_timeout', flags.agent_ping_timeout, 15_000),
      maxAgentPingTimeouts: parsePositiveInt('max_agent_ping_timeouts', flags.max_agent_ping_timeouts, 5),
      agentReregisterTimeoutMs: parseDuration('agent_reregister_timeout', flags.agent_reregister_timeout, 600_000),
      recoveryAgentRemovalLimit: parseRemovalLimit(flags.recovery_agent_removal_limit),
      filterGpuResources: parseBool('filter_gpu_resources', flags.filter_gpu_resources, true),
      fairSharingExcludedResourceNames: (flags.fair_sharing_excluded_resource_names ?? 'gpus')
        .split(',')
        .map((n) => n.trim())
        .filter((n) => n !== ''),
      ...(flags.agent_removal_rate_limit === undefined
        ? {}
        : { agentRemovalRateLimit: parseRateLimit(flags.agent_removal_rate_limit) as RemovalRateLimit }),
    },
    { logger },
  );
  master.onDidLoseLeadership(({ reason }) =>
    onFatal(`lost leadership (${reason}); exiting so a supervisor restarts this master`),
  );
  await master.start();
  return {
    banner: [
      `master listening on ${master.url}${flags.zk === undefined ? ' (standalone leader)' : ` (contending in ${flags.zk})`}`,
    ],
    close: () => master.close(),
  };
}
