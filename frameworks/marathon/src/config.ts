/**
 * Marathon's options: one interface, one defaults object, checked when
 * `createMarathon` is called (a bad value throws AGORA_ERR_BAD_FLAG naming it).
 */
import { AgoraError } from '@agora/common';
import type { MarathonEventsConfig } from './events/config.js';

export interface MarathonConfig {
  /** The Agora master: 'host:port', 'http://host:port', a comma list, or 'zk://host:2181/agora'. */
  master: string;
  /** HTTP port; 0 picks a free one. @default 8080 */
  port: number;
  /** Address to listen on. @default '127.0.0.1' */
  host?: string;
  /** Host name advertised (leader, webui_url, framework hostname). @default the listen address, or 'localhost' for 0.0.0.0 */
  hostname?: string;
  /** Redis URL for the state (`redis://host:6379[/db]`); when absent the file store under `stateDir` is used. */
  redis?: string;
  /** Key prefix in Redis. @default 'agora:marathon:' */
  redisPrefix?: string;
  /** Directory of the file store (used when `redis` is absent). */
  stateDir?: string;
  /** ZooKeeper URL for HA (leader election among Marathons); not used yet, shown in /v2/info. */
  zk?: string;
  /** @default 'marathon' */
  frameworkName?: string;
  /** How long the master keeps the framework's tasks while Marathon is away. @default 604800 (one week) */
  failoverTimeoutSeconds?: number;
  /** Role the framework subscribes with and apps get by default. @default '*' */
  role?: string;
  /** Mesos user tasks run as. @default the current OS user */
  user?: string;
  /** Service ports for `port: 0` definitions. @default 10000 */
  localPortMin?: number;
  /** @default 20000 */
  localPortMax?: number;
  /** Instances launched from one offer at most. @default 5 */
  maxInstancesPerOffer?: number;
  /** Refuse unused offers for this long while apps wait for resources. @default 5 */
  declineRefuseSeconds?: number;
  /** Explicit + implicit task reconciliation period, ms. @default 600000 */
  reconciliationIntervalMs?: number;
  /** Callback URLs subscribed at start (`--http_endpoints`), kept in the store like API subscriptions. */
  httpEndpoints?: readonly string[];
  /** Event delivery tuning (queues, retries, SSE); see docs/events.md. */
  events?: MarathonEventsConfig;
  /** ZooKeeper session timeout for the leader election (`--zk_session_timeout`), ms. @default 10000 */
  zkSessionTimeoutMs?: number;
  /** Optional features (`--enable_features`): `secrets` allows `secrets` and secret references in `env`. */
  enableFeatures?: readonly string[];
  /**
   * Where secret values come from (`--secrets_dir`): a secret with `{"source": "db/password"}` is the
   * content of the file `<secretsDir>/db/password`. Needed to launch apps that use secrets.
   */
  secretsDir?: string;
}

/** Marathon's optional features (`--enable_features`). */
export const MARATHON_FEATURES = ['secrets', 'gpu_resources', 'external_volumes', 'vips', 'task_killing'] as const;

export const DEFAULT_MARATHON_CONFIG = {
  port: 8080,
  host: '127.0.0.1',
  redisPrefix: 'agora:marathon:',
  frameworkName: 'marathon',
  failoverTimeoutSeconds: 604_800,
  role: '*',
  localPortMin: 10_000,
  localPortMax: 20_000,
  maxInstancesPerOffer: 5,
  declineRefuseSeconds: 5,
  reconciliationIntervalMs: 600_000,
  httpEndpoints: [] as readonly string[],
  events: {} as MarathonEventsConfig,
  zkSessionTimeoutMs: 10_000,
  enableFeatures: [] as readonly string[],
} as const;

export type ResolvedMarathonConfig = Required<
  Omit<MarathonConfig, 'redis' | 'stateDir' | 'zk' | 'user' | 'hostname' | 'secretsDir'>
> &
  Pick<MarathonConfig, 'redis' | 'stateDir' | 'zk' | 'user' | 'secretsDir'> & { hostname: string };

function bad(flag: string, why: string): AgoraError {
  return new AgoraError('AGORA_ERR_BAD_FLAG', `marathon option '${flag}' ${why}`, { data: { flag } });
}

function port(value: number, flag: string, allowZero: boolean): number {
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1) || value > 65_535) {
    throw bad(flag, `must be an integer port${allowZero ? ' (0 = any free port)' : ''}, got ${value}`);
  }
  return value;
}

/** Fill in defaults and check every value. */
export function resolveMarathonConfig(config: MarathonConfig): ResolvedMarathonConfig {
  const c = { ...DEFAULT_MARATHON_CONFIG, ...stripUndefined(config) };
  if (typeof c.master !== 'string' || c.master.trim() === '')
    throw bad('master', "is required ('host:port' or 'zk://…')");
  port(c.port, 'port', true);
  port(c.localPortMin, 'localPortMin', false);
  port(c.localPortMax, 'localPortMax', false);
  if (c.localPortMin > c.localPortMax) throw bad('localPortMin', `must not exceed localPortMax (${c.localPortMax})`);
  if (c.redis === undefined && (c.stateDir === undefined || c.stateDir === '')) {
    throw bad('redis', 'or stateDir is required: where should Marathon keep its state?');
  }
  if (c.redis !== undefined && !/^rediss?:\/\//.test(c.redis))
    throw bad('redis', `must be a redis:// URL, got '${c.redis}'`);
  if (!Number.isFinite(c.failoverTimeoutSeconds) || c.failoverTimeoutSeconds < 0) {
    throw bad('failoverTimeoutSeconds', 'must be a non-negative number of seconds');
  }
  if (!Number.isInteger(c.maxInstancesPerOffer) || c.maxInstancesPerOffer < 1) {
    throw bad('maxInstancesPerOffer', 'must be a positive integer');
  }
  if (!(c.declineRefuseSeconds >= 0)) throw bad('declineRefuseSeconds', 'must be a non-negative number');
  if (!(c.reconciliationIntervalMs > 0)) throw bad('reconciliationIntervalMs', 'must be a positive number of ms');
  if (c.role === '') throw bad('role', 'must not be empty');
  if (!Number.isInteger(c.zkSessionTimeoutMs) || c.zkSessionTimeoutMs <= 0) {
    throw bad('zkSessionTimeoutMs', `must be a positive number of ms, got ${c.zkSessionTimeoutMs}`);
  }
  for (const f of c.enableFeatures) {
    if (!(MARATHON_FEATURES as readonly string[]).includes(f)) {
      throw bad('enableFeatures', `names an unknown feature '${f}' (known: ${MARATHON_FEATURES.join(', ')})`);
    }
  }
  if (c.secretsDir === '') throw bad('secretsDir', 'must not be empty');
  const hostname = c.hostname ?? (c.host === '0.0.0.0' || c.host === '::' ? 'localhost' : c.host);
  return { ...c, master: c.master, hostname };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
