/** The driver's options, their defaults, and the values its events carry. */
import type { BackoffOptions } from '@agora/transport';
import type { Clock, Logger } from '@agora/common';
import type { FrameworkInfo, MasterInfo } from '@agora/proto';

/** The WebSocket path of the scheduler API on the master. */
export const SCHEDULER_PATH = '/agora/v1/scheduler';

/**
 * Error codes in an ERROR event on a subscribed connection after which the driver stops for good: the
 * master ended this subscription (another scheduler subscribed with the same framework id, or the
 * framework was removed). An ERROR answering SUBSCRIBE always stops the driver.
 */
export const FATAL_ERROR_CODES: ReadonlySet<string> = new Set(['AGORA_ERR_NOT_SUBSCRIBED']);

export interface SchedulerDriverOptions {
  /** 'host:port', 'http://host:port', a comma list of those, or 'zk://host:2181/path'. */
  master: string;
  /** Sent in SUBSCRIBE. `user` and `name` are required; set `id` to fail over an existing framework. */
  framework: FrameworkInfo;
  /** Timers (heartbeat watchdog, reconnect backoff). @default systemClock */
  clock?: Clock;
  /** @default createLogger({ component: 'scheduler-driver' }) */
  logger?: Logger;
  /** Acknowledge updates that carry a uuid once every onDidUpdateStatus listener returned. @default true */
  implicitAcknowledgements?: boolean;
  /** Bound on one connect (TCP + WebSocket upgrade) to one master, ms. @default 5000 */
  connectTimeoutMs?: number;
  /** Reconnect backoff. @default { initialMs: 100, maxMs: 15000 } */
  backoff?: BackoffOptions;
  /** Heartbeat intervals without any event before the connection counts as dead. @default 5 */
  maxMissedHeartbeats?: number;
  /** Bound on waiting for SUBSCRIBED after the SUBSCRIBE call, ms. @default 75000 */
  subscribeTimeoutMs?: number;
  /** Bound on one wait for a leader in ZooKeeper, ms. @default 10000 */
  leaderWaitMs?: number;
  /** 307 redirects followed in one connect attempt. @default 5 */
  maxRedirects?: number;
}

export const DEFAULT_SCHEDULER_DRIVER_OPTIONS = {
  implicitAcknowledgements: true,
  connectTimeoutMs: 5000,
  backoff: { initialMs: 100, maxMs: 15_000 },
  maxMissedHeartbeats: 5,
  subscribeTimeoutMs: 75_000,
  leaderWaitMs: 10_000,
  maxRedirects: 5,
  /** Used until SUBSCRIBED names the master's interval (Mesos announces 15 s). */
  heartbeatIntervalSeconds: 15,
} as const;

/** What onDidSubscribe carries. */
export interface SubscribedInfo {
  frameworkId: string;
  masterInfo: MasterInfo | null;
  /** Whether the SUBSCRIBE carried a framework id (failover or reconnect). */
  resubscribed: boolean;
}

/** An executor's opaque message (MESSAGE event). */
export interface ExecutorMessage {
  agentId: string;
  executorId: string;
  data: Uint8Array;
}

/** An agent removed (no executorId) or an executor terminated (FAILURE event). */
export interface FailureInfo {
  agentId: string | undefined;
  executorId: string | undefined;
  status: number | undefined;
}
