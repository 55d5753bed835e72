/**
 * The review, the deployment executor's heartbeat: for every app and task,
 * send the kills that are due (surplus, outdated, orphaned; resent when a
 * task outlives `killRetryMs`), move deployments whose current step is done,
 * and revive or suppress offers as demand comes and goes. Reviews are
 * idempotent; the scheduler runs one after every event and every second.
 */
import type { DeploymentActionRef } from '../deployments/deployment-tracker.js';
import type { AppDefinition } from '../model/app-definition.js';
import type { TaskRecord } from '../model/task.js';
import { planDeletedApp, planInstances } from '../scheduling/instance-planner.js';
import { residentCleanupPending } from './resident-offers.js';
import type { SchedulerContext, SchedulerParts } from './scheduler-context.js';
import { reviewUnreachableTasks, UnreachableReconciler } from './unreachable.js';

/** Healthy (every health check alive) and, while a deployment runs, ready. */
export function isHealthyAndReady(parts: SchedulerParts, task: TaskRecord): boolean {
  if (task.state !== 'TASK_RUNNING') return false;
  const healthy = parts.health?.isHealthy(task) ?? true;
  return healthy && (parts.readiness?.isReady(task) ?? true);
}

/**
 * The scheduler leaves an app alone while a deployment holds it: its action
 * is in a later step, or it is being deployed while an app it depends on
 * (or an app under a group it depends on) is still being deployed by another
 * deployment (within one plan the steps already order dependencies).
 */
export function isHeld(parts: SchedulerParts, app: AppDefinition): boolean {
  const { deployments } = parts;
  if (deployments.isHeld(app.id)) return true;
  if (app.dependencies.length === 0 || deployments.forApp(app.id).length === 0) return false;
  return deployments
    .list()
    .filter((d) => !d.affectedApps.includes(app.id))
    .flatMap((d) => d.affectedApps)
    .some((other) => app.dependencies.some((dep) => other === dep || other.startsWith(`${dep}/`)));
}

/** Whether an action of a deployment's current step is done. */
export function actionDone(ctx: SchedulerContext, action: DeploymentActionRef): boolean {
  const { apps, tasks } = ctx.parts;
  const app = apps.get(action.app);
  const live = tasks.byApp(action.app);
  switch (action.action) {
    case 'StartApplication':
      return true;
    case 'StopApplication':
      return app === undefined && live.length === 0;
    default:
      if (app === undefined) return true; // deleted meanwhile (force): nothing left to do here
      return planInstances(app, live, (t) => ctx.isHealthyAndReady(t)).converged;
  }
}

/** Send a KILL (with the app's grace period) and remember when, so it is resent if the task lives on. */
export function killTask(
  ctx: SchedulerContext,
  taskId: string,
  app: AppDefinition | undefined,
  now: number,
  reason: string,
): void {
  const { tasks, logger } = ctx.parts;
  const task = tasks.get(taskId);
  if (task === undefined) return;
  const grace = app?.taskKillGracePeriodSeconds;
  const sent = ctx.call('kill', (d) => d.kill(taskId, task.agentId, grace === undefined ? undefined : grace * 1000));
  if (sent) {
    tasks.markKillRequested(taskId, now);
    logger.info({ taskId, appId: task.appId, reason }, 'killing task');
  }
}

export class Reviewer {
  private hadDemand = false;
  private suppressed = false;
  private readonly unreachable = new UnreachableReconciler();

  constructor(private readonly ctx: SchedulerContext) {}

  /**
   * Before each review: unreachable tasks past their deadlines become inactive or are expunged
   * (store writes), and unreachable tasks are reconciled to learn when they come back.
   */
  async reviewUnreachable(): Promise<void> {
    await reviewUnreachableTasks(this.ctx);
    const due = this.unreachable.due(this.ctx);
    if (due.length > 0) this.ctx.call('reconcile unreachable', (d) => d.reconcile(due));
  }

  /** A (re-)SUBSCRIBE resets suppression on the master. */
  resetSuppression(): void {
    this.suppressed = false;
    this.hadDemand = false;
  }

  /** Look at every app and task: send the kills that are due, finish deployments, revive or suppress offers. */
  review(): void {
    const ctx = this.ctx;
    const { apps, tasks, deployments, launchQueue, clock } = ctx.parts;
    const now = clock.now();
    let demand = false;
    const appIds = new Set([...apps.list().map((a) => a.id), ...tasks.appIds(), ...deployments.appIds()]);
    ctx.parts.health?.sync();
    ctx.parts.readiness?.sync();
    const healthy = (t: TaskRecord): boolean => ctx.isHealthyAndReady(t);
    deployments.advance((action) => actionDone(ctx, action)); // steps done since the last review release their apps
    for (const appId of appIds) {
      const app = apps.get(appId);
      if (app !== undefined && ctx.isHeld(app)) continue; // waits for an earlier step or its dependencies
      const live = tasks.byApp(appId);
      const plan = app === undefined ? planDeletedApp(live) : planInstances(app, live, healthy);
      for (const k of plan.kill) killTask(ctx, k.taskId, app, now, k.reason);
      for (const t of live) {
        if (t.killRequestedAt !== undefined && now - t.killRequestedAt >= ctx.options.killRetryMs) {
          killTask(ctx, t.id, app, now, 'RETRY');
        }
      }
      if (app !== undefined && plan.launch > 0 && launchQueue.launchAllowedAt(app, now) <= now) demand = true;
    }
    deployments.advance((action) => actionDone(ctx, action));
    if (residentCleanupPending(ctx)) demand = true; // reservations of deleted apps wait for an offer to go
    if (demand && (!this.hadDemand || this.suppressed)) {
      if (ctx.call('revive', (d) => d.revive())) {
        this.suppressed = false;
        this.hadDemand = true;
      }
    } else if (!demand && !this.suppressed) {
      if (ctx.call('suppress', (d) => d.suppress())) {
        this.suppressed = true;
        this.hadDemand = false;
      }
    }
  }
}
