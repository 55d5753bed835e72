/**
 * The framework: keeps every app at its declared instance count on the
 * cluster. It subscribes through the SDK's SchedulerDriver (framework id
 * persisted, re-subscribing with it after any restart), launches on offers,
 * kills what is surplus, outdated or orphaned, replaces tasks that are gone
 * (with launch backoff), and reconciles with the master.
 *
 * ```
 *   driver events ──► serial queue ──► offers   : demand (planner + backoff) ─► offer cycle ─► store tasks ─► ACCEPT
 *   app changes   ──►              ──► updates  : store ─► ACK ─► review
 *   ticks         ──►              ──► review   : kills, deployments done, revive/suppress
 * ```
 *
 * Invariants: a task is written to the store (TASK_STAGING, with its agent)
 * before its ACCEPT is sent, so a crash in between can never launch it twice
 * (after a restart the master reports it TASK_LOST/UNKNOWN and it is
 * replaced); a status update is acknowledged only after the store write, so
 * an update lost to a crash is resent by the agent.
 */
import { userInfo } from 'node:os';
import {
  type Clock,
  DisposableStore,
  hasErrorCode,
  type Logger,
  newUuid,
  Resources,
  toAgoraError,
} from '@agora/common';
import { agora, taskStateName, type TaskInfo } from '@agora/proto';
import { SchedulerDriver, type SubscribedInfo } from '@agora/sdk';
import type { AppManager } from '../apps/app-manager.js';
import type { DeploymentActionRef, DeploymentTracker } from '../deployments/deployment-tracker.js';
import type { HealthMonitor } from '../health/health-monitor.js';
import { mesosHealthCheck } from '../health/mesos-health.js';
import type { ReadinessMonitor } from '../readiness/readiness-monitor.js';
import type { AppDefinition } from '../model/app-definition.js';
import { appIdOfTaskId, taskIdFor } from '../model/path-id.js';
import { publishRegistered, publishTaskUpdate, publishUnknownTerminated } from '../events/publishers.js';
import type { EventPublisher } from '../events/types.js';
import {
  countsAsLaunchFailure,
  isGoneForGood,
  placementOfTask,
  type TaskRecord,
  type TaskStateName,
} from '../model/task.js';
import { attributeValues } from '../constraints/field-values.js';
import { isKilling, planDeletedApp, planInstances } from '../scheduling/instance-planner.js';
import type { LaunchQueue } from '../scheduling/launch-queue.js';
import { type Demand, type OfferView, runOfferCycle } from '../scheduling/offer-cycle.js';
import { buildTaskInfo } from '../scheduling/task-builder.js';
import type { FrameworkIdRepository } from '../storage/repositories.js';
import { SerialQueue } from '../util/serial-queue.js';
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
  clock: Clock;
  logger: Logger;
}

const Capability = agora.v1.FrameworkInfo.Capability.Type;

function frameworkUser(configured: string | undefined): string {
  if (configured !== undefined) return configured;
  try {
    return userInfo().username;
  } catch {
    return 'root';
  }
}

export class MarathonScheduler {
  private driver: SchedulerDriver | undefined;
  private readonly queue = new SerialQueue();
  private readonly disposables = new DisposableStore();
  private storedFrameworkId: string | undefined;
  private hadDemand = false;
  private suppressed = false;
  private closed = false;
  private reviewQueued = false;
  private readonly o: Required<Omit<MarathonSchedulerOptions, 'user' | 'random'>> &
    Pick<MarathonSchedulerOptions, 'user' | 'random'>;

  constructor(
    private readonly parts: SchedulerParts,
    options: MarathonSchedulerOptions,
  ) {
    this.o = {
      declineRefuseSeconds: 5,
      idleDeclineRefuseSeconds: 120,
      reconcileIntervalMs: 600_000,
      reviewIntervalMs: 1000,
      killRetryMs: 30_000,
      maxInstancesPerOffer: 5,
      ...options,
    };
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
    this.storedFrameworkId = await this.parts.frameworkIds.get();
    const framework: agora.v1.FrameworkInfo.$Properties = {
      user: frameworkUser(this.o.user),
      name: this.o.frameworkName,
      failover_timeout: this.o.failoverTimeoutSeconds,
      checkpoint: true,
      role: this.o.role,
      hostname: this.o.hostname,
      webui_url: this.o.webuiUrl(),
      capabilities: [{ type: Capability.PARTITION_AWARE }, { type: Capability.TASK_KILLING_STATE }],
    };
    if (this.storedFrameworkId !== undefined) framework.id = { value: this.storedFrameworkId };
    const driver = new SchedulerDriver({
      master: this.o.master,
      framework,
      clock,
      logger: logger.child({ component: 'marathon-driver' }),
      implicitAcknowledgements: false,
    });
    this.driver = driver;
    const d = this.disposables;
    d.add(driver.onDidSubscribe((info) => this.enqueue('subscribed', () => this.subscribed(info))));
    d.add(driver.onDidReceiveOffers((offers) => this.enqueue('offers', () => this.offersReceived(offers))));
    d.add(driver.onDidUpdateStatus((status) => this.enqueue('status update', () => this.statusUpdated(status))));
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
    d.add(clock.setInterval(() => this.enqueueReview(), this.o.reviewIntervalMs));
    d.add(clock.setInterval(() => this.enqueue('reconcile', () => this.reconcile()), this.o.reconcileIntervalMs));
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
        if (task !== undefined) this.killTask(id, apps.get(task.appId), now, reason);
      }
    });
  }

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

  /** Call the driver; false (logged) when disconnected: the work is redone after re-subscribing. */
  private call(what: string, fn: (driver: SchedulerDriver) => void): boolean {
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

  // ---- subscription and reconciliation ------------------------------------

  private async subscribed(info: SubscribedInfo): Promise<void> {
    const { logger, frameworkIds } = this.parts;
    logger.info({ frameworkId: info.frameworkId, resubscribed: info.resubscribed }, 'subscribed to the master');
    publishRegistered(this.parts.events, info.frameworkId, this.o.master, info.resubscribed);
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
    // A (re-)SUBSCRIBE resets suppression on the master.
    this.suppressed = false;
    this.hadDemand = false;
    this.reconcile();
    await this.review();
  }

  /** Explicit reconciliation of every known task, then implicit (tasks the master knows and we do not get killed). */
  private reconcile(): void {
    const known = this.parts.tasks.all().map((t) => ({ taskId: t.id, agentId: t.agentId }));
    if (known.length > 0) this.call('explicit reconcile', (d) => d.reconcile(known));
    this.call('implicit reconcile', (d) => d.reconcile([]));
  }

  // ---- review: kills, deployments, revive/suppress --------------------------

  private appChanged(appId: string, kind: 'created' | 'updated' | 'deleted'): Promise<void> {
    if (kind === 'deleted') {
      this.parts.launchQueue.reset(appId);
      this.parts.tasks.forgetApp(appId);
    }
    return this.review();
  }

  /** Look at every app and task: send the kills that are due, finish deployments, revive or suppress offers. */
  private async review(): Promise<void> {
    const { apps, tasks, deployments, launchQueue, clock } = this.parts;
    const now = clock.now();
    let demand = false;
    const appIds = new Set([...apps.list().map((a) => a.id), ...tasks.appIds(), ...deployments.appIds()]);
    this.parts.health?.sync();
    this.parts.readiness?.sync();
    const healthy = (t: TaskRecord): boolean => this.isHealthyAndReady(t);
    deployments.advance((action) => this.actionDone(action)); // steps done since the last review release their apps
    for (const appId of appIds) {
      const app = apps.get(appId);
      if (app !== undefined && this.isHeld(app)) continue; // waits for an earlier step or its dependencies
      const live = tasks.byApp(appId);
      const plan = app === undefined ? planDeletedApp(live) : planInstances(app, live, healthy);
      for (const k of plan.kill) this.killTask(k.taskId, app, now, k.reason);
      for (const t of live) {
        if (t.killRequestedAt !== undefined && now - t.killRequestedAt >= this.o.killRetryMs) {
          this.killTask(t.id, app, now, 'RETRY');
        }
      }
      if (app !== undefined && plan.launch > 0 && launchQueue.launchAllowedAt(app, now) <= now) demand = true;
    }
    deployments.advance((action) => this.actionDone(action));
    if (demand && (!this.hadDemand || this.suppressed)) {
      if (this.call('revive', (d) => d.revive())) {
        this.suppressed = false;
        this.hadDemand = true;
      }
    } else if (!demand && !this.suppressed) {
      if (this.call('suppress', (d) => d.suppress())) {
        this.suppressed = true;
        this.hadDemand = false;
      }
    }
  }

  /**
   * The scheduler leaves an app alone while a deployment holds it: its action
   * is in a later step, or it is being deployed while an app it depends on
   * (or an app under a group it depends on) is still being deployed.
   */
  private isHeld(app: AppDefinition): boolean {
    const { deployments } = this.parts;
    if (deployments.isHeld(app.id)) return true;
    if (app.dependencies.length === 0 || deployments.forApp(app.id).length === 0) return false;
    // Deployments of other plans only: within one plan the steps already order dependencies.
    return deployments
      .list()
      .filter((d) => !d.affectedApps.includes(app.id))
      .flatMap((d) => d.affectedApps)
      .some((other) => app.dependencies.some((dep) => other === dep || other.startsWith(`${dep}/`)));
  }

  /** Healthy (every health check alive) and, while a deployment runs, ready. */
  private isHealthyAndReady(task: TaskRecord): boolean {
    if (task.state !== 'TASK_RUNNING') return false;
    const healthy = this.parts.health?.isHealthy(task) ?? true;
    return healthy && (this.parts.readiness?.isReady(task) ?? true);
  }

  /** Whether an action of a deployment's current step is done. */
  private actionDone(action: DeploymentActionRef): boolean {
    const { apps, tasks } = this.parts;
    const app = apps.get(action.app);
    const live = tasks.byApp(action.app);
    switch (action.action) {
      case 'StartApplication':
        return true;
      case 'StopApplication':
        return app === undefined && live.length === 0;
      default:
        if (app === undefined) return true; // deleted meanwhile (force): nothing left to do here
        return planInstances(app, live, (t) => this.isHealthyAndReady(t)).converged;
    }
  }

  /** Kill a task whose health checks failed too often; it is replaced. */
  killUnhealthy(taskId: string): void {
    this.enqueue('health kill', () => {
      const task = this.parts.tasks.get(taskId);
      if (task === undefined) return;
      this.killTask(taskId, this.parts.apps.get(task.appId), this.parts.clock.now(), 'FAILED_HEALTH_CHECKS');
    });
  }

  private killTask(taskId: string, app: AppDefinition | undefined, now: number, reason: string): void {
    const { tasks, logger } = this.parts;
    const task = tasks.get(taskId);
    if (task === undefined) return;
    const grace = app?.taskKillGracePeriodSeconds;
    const sent = this.call('kill', (d) => d.kill(taskId, task.agentId, grace === undefined ? undefined : grace * 1000));
    if (sent) {
      tasks.markKillRequested(taskId, now);
      logger.info({ taskId, appId: task.appId, reason }, 'killing task');
    }
  }

  // ---- offers ---------------------------------------------------------------

  /** What each app should launch now: its planned launches, unless its backoff delay runs. */
  private currentDemand(now: number): Demand[] {
    const { apps, tasks, launchQueue } = this.parts;
    const demand: Demand[] = [];
    for (const app of apps.list()) {
      if (this.isHeld(app)) continue;
      const plan = planInstances(app, tasks.byApp(app.id), (t) => this.isHealthyAndReady(t));
      if (plan.launch > 0 && launchQueue.launchAllowedAt(app, now) <= now) {
        const placed = tasks
          .byApp(app.id)
          .filter((t) => !isKilling(t))
          .map(placementOfTask);
        demand.push({ app, count: plan.launch, placed });
      }
    }
    return demand;
  }

  private async offersReceived(offers: agora.v1.Offer[]): Promise<void> {
    const { clock, launchQueue, logger } = this.parts;
    const now = clock.now();
    const views: OfferView[] = [];
    const ipOf = new Map<string, string>();
    for (const offer of offers) {
      try {
        views.push({
          id: offer.id.value,
          agentId: offer.agent_id.value,
          hostname: offer.hostname,
          resources: Resources.fromProto(offer.resources),
          attributes: attributeValues(offer.attributes ?? []),
        });
        const ip = offer.url?.address?.ip;
        if (typeof ip === 'string' && ip !== '') ipOf.set(offer.id.value, ip);
      } catch (err) {
        logger.warn({ err: toAgoraError(err).toJSON(), offerId: offer.id?.value }, 'unreadable offer declined');
        this.call('decline', (d) => d.decline([offer.id.value], { refuse_seconds: this.o.declineRefuseSeconds }));
      }
    }
    const demand = this.currentDemand(now);
    const cycle = runOfferCycle(views, demand, {
      maxPerOffer: this.o.maxInstancesPerOffer,
      ...(this.o.random === undefined ? {} : { random: this.o.random }),
    });
    for (const r of cycle.refusals) {
      const offer = views.find((v) => v.id === r.offerId);
      launchQueue.noteOffer(r.appId, 0, r.reason, now, offer);
    }

    const byOffer = new Map<
      string,
      { offer: OfferView; items: Array<{ app: AppDefinition; task: TaskInfo; record: TaskRecord }> }
    >();
    for (const launch of cycle.launches) {
      const entry = byOffer.get(launch.offer.id) ?? { offer: launch.offer, items: [] };
      for (const instance of launch.instances) {
        const taskId = taskIdFor(launch.app.id, newUuid());
        const ip = ipOf.get(launch.offer.id);
        const record: TaskRecord = {
          id: taskId,
          appId: launch.app.id,
          agentId: launch.offer.agentId,
          host: launch.offer.hostname,
          state: 'TASK_STAGING',
          stagedAt: new Date(now).toISOString(),
          version: launch.app.version,
          ports: instance.hostPorts,
          servicePorts: launch.app.portDefinitions.map((p) => p.port),
          ipAddresses: ip === undefined ? [] : [{ ipAddress: ip, protocol: ip.includes(':') ? 'IPv6' : 'IPv4' }],
          role: launch.app.role,
          ...(launch.offer.attributes === undefined ? {} : { attributes: { ...launch.offer.attributes } }),
        };
        const task = buildTaskInfo({
          app: launch.app,
          taskId,
          agentId: launch.offer.agentId,
          hostname: launch.offer.hostname,
          instance,
        });
        const healthCheck = mesosHealthCheck(launch.app, instance.hostPorts);
        if (healthCheck !== undefined) task.health_check = healthCheck;
        entry.items.push({ app: launch.app, task, record });
      }
      byOffer.set(launch.offer.id, entry);
      launchQueue.noteOffer(launch.app.id, launch.instances.length, undefined, now);
    }

    for (const { offer, items } of byOffer.values()) await this.launchOnOffer(offer, items);
    const refuse = demand.length > 0 ? this.o.declineRefuseSeconds : this.o.idleDeclineRefuseSeconds;
    if (cycle.unused.length > 0) {
      this.call('decline', (d) =>
        d.decline(
          cycle.unused.map((o) => o.id),
          { refuse_seconds: refuse },
        ),
      );
    }
  }

  /** Store the tasks, then ACCEPT; if storing fails nothing is launched (the offer is declined). */
  private async launchOnOffer(
    offer: OfferView,
    items: Array<{ app: AppDefinition; task: TaskInfo; record: TaskRecord }>,
  ): Promise<void> {
    const { tasks, logger } = this.parts;
    const stored: TaskRecord[] = [];
    try {
      for (const item of items) {
        await tasks.put(item.record);
        stored.push(item.record);
      }
    } catch (err) {
      logger.error({ err: toAgoraError(err).toJSON(), offerId: offer.id }, 'cannot store new tasks; nothing launched');
      await this.forget(stored);
      this.call('decline', (d) => d.decline([offer.id], { refuse_seconds: this.o.declineRefuseSeconds }));
      return;
    }
    const sent = this.call('launch', (d) =>
      d.launch(
        [offer.id],
        items.map((i) => i.task),
        { refuse_seconds: this.o.declineRefuseSeconds },
      ),
    );
    if (!sent) {
      await this.forget(stored);
      return;
    }
    for (const item of items) {
      publishTaskUpdate(this.parts.events, item.record, 'TASK_STAGING', undefined);
      logger.info(
        { taskId: item.record.id, appId: item.app.id, agentId: offer.agentId, ports: item.record.ports },
        'launching task',
      );
    }
  }

  /** Drop records of tasks that were never sent (best effort: leftovers are reported LOST by reconciliation). */
  private async forget(records: readonly TaskRecord[]): Promise<void> {
    for (const r of records) {
      await this.parts.tasks.remove(r).catch((err: unknown) => {
        this.parts.logger.warn(
          { err: toAgoraError(err).toJSON(), taskId: r.id },
          'cannot remove an unlaunched task record',
        );
      });
    }
  }

  // ---- status updates -------------------------------------------------------

  private async statusUpdated(status: agora.v1.TaskStatus): Promise<void> {
    const { tasks, apps, launchQueue, clock, logger } = this.parts;
    const taskId = status.task_id.value;
    const state = taskStateName(status.state) as TaskStateName;
    const agentId = status.agent_id?.value ?? undefined;
    const uuid = status.uuid !== null && status.uuid !== undefined && status.uuid.length > 0 ? status.uuid : undefined;
    const now = clock.now();
    const task = tasks.get(taskId);

    if (task === undefined) {
      if (!isGoneForGood(state, false)) {
        logger.warn({ taskId, state }, 'update for a task Marathon does not know; killing it');
        this.call('kill unknown task', (d) => d.kill(taskId, agentId));
      } else publishUnknownTerminated(this.parts.events, taskId, appIdOfTaskId(taskId), state);
      this.acknowledge(agentId, taskId, uuid);
      return;
    }

    const app = apps.get(task.appId);
    if (typeof status.healthy === 'boolean') this.parts.health?.noteMesosHealth(taskId, status.healthy);
    const unreachableDisabled = app?.unreachableStrategy === 'disabled';
    const message = status.message ?? undefined;
    if (isGoneForGood(state, unreachableDisabled)) {
      try {
        await tasks.remove(task);
      } catch (err) {
        logger.error(
          { err: toAgoraError(err).toJSON(), taskId, state },
          'cannot store a task update; not acknowledged',
        );
        return;
      }
      const timestamp = new Date(typeof status.timestamp === 'number' ? status.timestamp * 1000 : now).toISOString();
      if (countsAsLaunchFailure(state) || state === 'TASK_UNKNOWN') {
        tasks.recordFailure({
          appId: task.appId,
          host: task.host,
          message: message ?? '',
          state,
          taskId,
          timestamp,
          version: task.version,
          slaveId: task.agentId,
        });
      }
      if (app !== undefined && task.killRequestedAt === undefined && countsAsLaunchFailure(state)) {
        const backoff = launchQueue.recordFailure(app, now);
        logger.warn({ taskId, appId: app.id, state, message, delayMs: backoff.delayMs }, 'task failed; launch delayed');
      } else {
        logger.info({ taskId, appId: task.appId, state, message }, 'task gone');
      }
    } else {
      const updated: TaskRecord = { ...task, state };
      if (state === 'TASK_RUNNING' && updated.startedAt === undefined) updated.startedAt = new Date(now).toISOString();
      if (agentId !== undefined && agentId !== '') updated.agentId = agentId;
      if (message !== undefined && message !== '') updated.message = message;
      if (updated.state !== task.state || updated.startedAt !== task.startedAt || updated.agentId !== task.agentId) {
        try {
          await tasks.put(updated);
        } catch (err) {
          logger.error(
            { err: toAgoraError(err).toJSON(), taskId, state },
            'cannot store a task update; not acknowledged',
          );
          return;
        }
        logger.info({ taskId, appId: task.appId, state }, 'task state changed');
      }
    }
    publishTaskUpdate(this.parts.events, task, state, message);
    this.acknowledge(agentId, taskId, uuid);
    await this.review();
  }

  private acknowledge(agentId: string | undefined, taskId: string, uuid: Uint8Array | undefined): void {
    if (uuid === undefined || agentId === undefined || agentId === '') return;
    this.call('acknowledge', (d) => d.acknowledge(agentId, taskId, uuid));
  }
}
