/**
 * What the scheduler's parts share: the options, the collaborators, and the
 * few scheduler operations the offer, status and review modules call back.
 */
import type { Clock, Logger } from '@agora/common';
import type { SchedulerDriver } from '@agora/sdk';
import type { AppManager } from '../apps/app-manager.js';
import type { DeploymentTracker } from '../deployments/deployment-tracker.js';
import type { EventPublisher } from '../events/types.js';
import type { HealthMonitor } from '../health/health-monitor.js';
import type { AppDefinition } from '../model/app-definition.js';
import type { TaskRecord } from '../model/task.js';
import type { ReadinessMonitor } from '../readiness/readiness-monitor.js';
import type { LaunchQueue } from '../scheduling/launch-queue.js';
import type { SecretSource } from '../secrets/file-secrets.js';
import type { FrameworkIdRepository } from '../storage/repositories.js';
import type { ReservationTracker } from './resident-tracker.js';
import type { TaskTracker } from './task-tracker.js';

export interface MarathonSchedulerOptions {
  /** The master: 'host:port', 'http://…', or 'zk://…'. */
  master: string;
  frameworkName: string;
  /** Mesos user tasks run as. */
  user?: string;
  role: string;
  failoverTimeoutSeconds: number;
  hostname: string;
  /** Marathon's own URL (known once it listens). */
  webuiUrl: () => string;
  /** Refuse unused offers for this long while apps wait for resources. @default 5 */
  declineRefuseSeconds?: number;
  /** Refuse unused offers for this long when no app needs any. @default 120 */
  idleDeclineRefuseSeconds?: number;
  /** Explicit + implicit reconciliation period. @default 600000 */
  reconcileIntervalMs?: number;
  /** Periodic review (kills resent, backoff expiry, deployments). @default 1000 */
  reviewIntervalMs?: number;
  /** Resend a KILL when the task is still alive after this long. @default 30000 */
  killRetryMs?: number;
  /** @default 5 */
  maxInstancesPerOffer?: number;
  random?: () => number;
}

export type ResolvedSchedulerOptions = Required<Omit<MarathonSchedulerOptions, 'user' | 'random'>> &
  Pick<MarathonSchedulerOptions, 'user' | 'random'>;

export interface SchedulerParts {
  apps: AppManager;
  tasks: TaskTracker;
  frameworkIds: FrameworkIdRepository;
  deployments: DeploymentTracker;
  launchQueue: LaunchQueue;
  /** Marathon-side health checks and Mesos-side results (healthy = running when absent). */
  health?: HealthMonitor;
  /** Readiness checks gating deployments. */
  readiness?: ReadinessMonitor;
  /** Where status_update_event, instance_changed_event, scheduler_* events go. */
  events?: EventPublisher;
  /** Reservations of resident apps (persistent volumes); absent: resident apps wait. */
  reservations?: ReservationTracker;
  /** Values of secret references in `env` (`--secrets_dir`); absent: apps with secret references wait. */
  secrets?: SecretSource;
  clock: Clock;
  logger: Logger;
}

/** The scheduler as its offer, status and review modules see it. */
export interface SchedulerContext {
  readonly parts: SchedulerParts;
  readonly options: ResolvedSchedulerOptions;
  /** The framework id (stored, or given by the master); undefined before the first subscription. */
  readonly frameworkId: string | undefined;
  /** Call the driver; false (logged) when disconnected: the work is redone after re-subscribing. */
  call(what: string, fn: (driver: SchedulerDriver) => void): boolean;
  /** A deployment holds the app: nothing is launched or killed for it. */
  isHeld(app: AppDefinition): boolean;
  /** Healthy (every health check alive) and, while a deployment runs, ready. */
  isHealthyAndReady(task: TaskRecord): boolean;
  /** Review every app now (kills, deployments, revive/suppress). */
  review(): Promise<void>;
}
