/**
 * The framework: keeps every app at its declared instance count on the
 * cluster. It subscribes through the SDK's SchedulerDriver (framework id
 * persisted, re-subscribing with it after any restart), launches on offers,
 * kills what is surplus, outdated or orphaned, replaces tasks that are gone
 * (with launch backoff), and reconciles with the master.
 *
 * ```
 *   driver events ──► serial queue ──► offers   : offer-handler.ts  (demand ─► offer cycle ─► store tasks ─► ACCEPT)
 *   app changes   ──►              ──► updates  : status-handler.ts (store ─► ACK ─► review)
 *   ticks         ──►              ──► review   : review.ts         (kills, deployments done, revive/suppress)
 * ```
 *
 * This file is the wiring: the driver's subscription and events, the serial
 * queue every step runs on, reconciliation, and the API's entry points.
 * Invariants (kept by the handlers): a task is stored before its ACCEPT; a
 * status update is acknowledged only after its store write.
 */
import { userInfo } from 'node:os';
import { DisposableStore, hasErrorCode, toAgoraError } from '@agora/common';
import { agora } from '@agora/proto';
import { SchedulerDriver, type SubscribedInfo } from '@agora/sdk';
import { publishRegistered } from '../events/publishers.js';
import type { AppDefinition } from '../model/app-definition.js';
import type { TaskRecord } from '../model/task.js';
import { SerialQueue } from '../util/serial-queue.js';
import { handleOffers } from './offer-handler.js';
import { isHealthyAndReady, isHeld, killTask, Reviewer } from './review.js';
import type {
  MarathonSchedulerOptions,
  ResolvedSchedulerOptions,
  SchedulerContext,
  SchedulerParts,
} from './scheduler-context.js';
import { wipeReservations, wipeReservationsOfApp } from './resident-offers.js';
import { handleStatusUpdate } from './status-handler.js';

export type { MarathonSchedulerOptions, SchedulerParts } from './scheduler-context.js';

const Capability = agora.v1.FrameworkInfo.Capability.Type;

function frameworkUser(configured: string | undefined): string {
  if (configured !== undefined) return configured;
  try {
    return userInfo().username;
  } catch {
    return 'root';
  }
}

export class MarathonScheduler implements SchedulerContext {
  private driver: SchedulerDriver | undefined;
  private readonly queue = new SerialQueue();
  private readonly disposables = new DisposableStore();
  private readonly reviewer: Reviewer;
  private storedFrameworkId: string | undefined;
  private closed = false;
  private reviewQueued = false;
  /** The roles the framework is subscribed with (MULTI_ROLE): `--mesos_role` and every app's role. */
  private subscribedRoles: string[] = [];
  private frameworkInfo: agora.v1.FrameworkInfo.$Properties | undefined;
  readonly options: ResolvedSchedulerOptions;

  constructor(
    readonly parts: SchedulerParts,
    options: MarathonSchedulerOptions,
  ) {
    this.options = {
      declineRefuseSeconds: 5,
      idleDeclineRefuseSeconds: 120,
      reconcileIntervalMs: 600_000,
      reviewIntervalMs: 1000,
      killRetryMs: 30_000,
      maxInstancesPerOffer: 5,
      ...options,
    };
    this.reviewer = new Reviewer(this);
  }

  /** The framework id (stored, or given by the master). */
  get frameworkId(): string | undefined {
    return this.driver?.frameworkId ?? this.storedFrameworkId;
  }

  get connected(): boolean {
    return this.driver?.connected === true;
  }

  /**
   * Subscribe (with the stored framework id, if any) and start the periodic
   * work. Does not wait for the master: the driver keeps trying in the
   * background while the API serves.
   */
  async start(): Promise<void> {
    const { clock, logger, apps } = this.parts;
    const o = this.options;
    this.storedFrameworkId = await this.parts.frameworkIds.get();
    const framework: agora.v1.FrameworkInfo.$Properties = {
      user: frameworkUser(o.user),
      name: o.frameworkName,
      failover_timeout: o.failoverTimeoutSeconds,
      checkpoint: true,
      roles: this.rolesToSubscribe(),
      hostname: o.hostname,
      webui_url: o.webuiUrl(),
      capabilities: [
        { type: Capability.PARTITION_AWARE },
        { type: Capability.TASK_KILLING_STATE },
        { type: Capability.MULTI_ROLE },
      ],
    };
    this.subscribedRoles = [...(framework.roles ?? [])];
    this.frameworkInfo = framework;
    if (this.storedFrameworkId !== undefined) framework.id = { value: this.storedFrameworkId };
    const driver = new SchedulerDriver({
      master: o.master,
      framework,
      clock,
      logger: logger.child({ component: 'marathon-driver' }),
      implicitAcknowledgements: false,
    });
    this.driver = driver;
    const d = this.disposables;
    d.add(driver.onDidSubscribe((info) => this.enqueue('subscribed', () => this.subscribed(info))));
    d.add(driver.onDidReceiveOffers((offers) => this.enqueue('offers', () => handleOffers(this, offers))));
    d.add(driver.onDidUpdateStatus((status) => this.enqueue('status update', () => handleStatusUpdate(this, status))));
    d.add(driver.onDidReceiveError((err) => logger.error({ err: err.toJSON() }, 'error from the master')));
    d.add(driver.onDidDisconnect(() => logger.warn('disconnected from the master; reconnecting')));
    d.add(driver.onDidDisconnect(() => this.parts.events?.publish({ eventType: 'scheduler_disconnected_event' })));
    d.add(
      driver.onDidReceiveMessage((m) =>
        this.parts.events?.publish({
          eventType: 'framework_message_event',
          slaveId: m.agentId,
          executorId: m.executorId,
          message: Buffer.from(m.data).toString('base64'),
        }),
      ),
    );
    d.add(
      apps.onDidChangeApp((change) => this.enqueue('app change', () => this.appChanged(change.appId, change.kind))),
    );
    d.add(clock.setInterval(() => this.enqueueReview(), o.reviewIntervalMs));
    d.add(clock.setInterval(() => this.enqueue('reconcile', () => this.reconcile()), o.reconcileIntervalMs));
    driver.start().catch((err: unknown) => {
      if (!this.closed) logger.error({ err: toAgoraError(err).toJSON() }, 'the master refused the subscription');
    });
  }

  /** Disconnect (failover: tasks keep running), stop timers, finish the work in flight. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.disposables.dispose();
    await this.queue.drain();
    await this.driver?.close();
  }

  /**
   * Kill these tasks now (API: `DELETE /v2/apps/{id}/tasks`, `POST /v2/tasks/delete`).
   * They are replaced unless their app was scaled down meanwhile. Resolves
   * once the kills are sent (or could not be, while disconnected).
   */
  killTasks(taskIds: readonly string[], reason = 'API_REQUEST'): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.queue.run(() => {
      const { apps, tasks, clock } = this.parts;
      const now = clock.now();
      for (const id of taskIds) {
        const task = tasks.get(id);
        if (task !== undefined) killTask(this, id, apps.get(task.appId), now, reason);
      }
    });
  }

  /**
   * Kill these tasks and give up their instances' reservations (`wipe=true`): each reservation is marked wiped
   * (stored) before the kill, then destroyed and unreserved once its task is gone; the app gets a new instance.
   */
  wipeTasks(taskIds: readonly string[]): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.queue.run(async () => {
      await wipeReservations(this, taskIds);
      const { apps, tasks, clock } = this.parts;
      for (const id of taskIds) {
        const task = tasks.get(id);
        if (task !== undefined) killTask(this, id, apps.get(task.appId), clock.now(), 'API_REQUEST_WIPE');
      }
    });
  }

  /** Kill a task whose health checks failed too often; it is replaced. */
  killUnhealthy(taskId: string): void {
    this.enqueue('health kill', () => {
      const task = this.parts.tasks.get(taskId);
      if (task === undefined) return;
      killTask(this, taskId, this.parts.apps.get(task.appId), this.parts.clock.now(), 'FAILED_HEALTH_CHECKS');
    });
  }

  // ---- SchedulerContext ----------------------------------------------------

  call(what: string, fn: (driver: SchedulerDriver) => void): boolean {
    const driver = this.driver;
    if (driver === undefined) return false;
    try {
      fn(driver);
      return true;
    } catch (err) {
      const level = hasErrorCode(err, 'AGORA_ERR_CLOSED') ? 'debug' : 'warn';
      this.parts.logger[level]({ err: toAgoraError(err).toJSON(), what }, 'driver call not sent');
      return false;
    }
  }

  isHeld(app: AppDefinition): boolean {
    return isHeld(this.parts, app);
  }

  isHealthyAndReady(task: TaskRecord): boolean {
    return isHealthyAndReady(this.parts, task);
  }

  async review(): Promise<void> {
    await this.reviewer.reviewUnreachable(); // unreachableStrategy deadlines (store writes) before the plan
    this.reviewer.review();
  }

  // ---- queue ---------------------------------------------------------------

  /** Queue a periodic review unless one is already waiting (reviews are idempotent). */
  private enqueueReview(): void {
    if (this.reviewQueued) return;
    this.reviewQueued = true;
    this.enqueue('review', () => {
      this.reviewQueued = false;
      return this.review();
    });
  }

  private enqueue(what: string, job: () => Promise<void> | void): void {
    if (this.closed) return;
    this.queue.run(job).catch((err: unknown) => {
      this.parts.logger.error({ err: toAgoraError(err).toJSON(), what }, 'scheduler step failed');
    });
  }

  // ---- subscription and reconciliation ------------------------------------

  private async subscribed(info: SubscribedInfo): Promise<void> {
    const { logger, frameworkIds } = this.parts;
    logger.info({ frameworkId: info.frameworkId, resubscribed: info.resubscribed }, 'subscribed to the master');
    publishRegistered(this.parts.events, info.frameworkId, this.options.master, info.resubscribed);
    if (this.storedFrameworkId !== info.frameworkId) {
      try {
        await frameworkIds.put(info.frameworkId);
        this.storedFrameworkId = info.frameworkId;
      } catch (err) {
        logger.error(
          { err: toAgoraError(err).toJSON() },
          'cannot store the framework id; will retry at the next subscription',
        );
      }
    }
    this.reviewer.resetSuppression(); // a (re-)SUBSCRIBE resets suppression on the master
    this.reconcile();
    await this.review();
  }

  /** Explicit reconciliation of every known task, then implicit (tasks the master knows and we do not get killed). */
  private reconcile(): void {
    const known = this.parts.tasks.all().map((t) => ({ taskId: t.id, agentId: t.agentId }));
    if (known.length > 0) this.call('explicit reconcile', (d) => d.reconcile(known));
    this.call('implicit reconcile', (d) => d.reconcile([]));
  }

  /** `--mesos_role` and the roles of the apps, with those subscribed already (roles are only added while running). */
  private rolesToSubscribe(): string[] {
    return [...new Set([...this.subscribedRoles, ...this.parts.apps.rolesInUse()])].sort();
  }

  /** An app with a role not subscribed yet: subscribe again with it so offers for it come (Mesos UPDATE_FRAMEWORK). */
  private updateRoles(): void {
    const roles = this.rolesToSubscribe();
    if (this.frameworkInfo === undefined || roles.join('\n') === this.subscribedRoles.join('\n')) return;
    this.frameworkInfo = { ...this.frameworkInfo, roles };
    const info = this.frameworkInfo;
    this.subscribedRoles = roles;
    this.parts.logger.info({ roles }, 'subscribing with the roles of the apps');
    // Not subscribed now: the driver keeps the info and sends it at its next SUBSCRIBE.
    this.driver?.updateFramework(info);
  }

  private async appChanged(appId: string, kind: 'created' | 'updated' | 'deleted'): Promise<void> {
    if (kind !== 'deleted') this.updateRoles();
    if (kind === 'deleted') {
      this.parts.launchQueue.reset(appId);
      this.parts.tasks.forgetApp(appId);
      // Its reservations go once its tasks are gone; an app created again with this id gets new volumes.
      await wipeReservationsOfApp(this, appId);
    }
    return this.review();
  }
}
