/**
 * Unreachable tasks over time (`unreachableStrategy`, decisions in
 * scheduling/unreachable-policy.ts): on every review, tasks past
 * `inactiveAfterSeconds` are stored `UnreachableInactive` (no longer counted,
 * so the review launches replacements), tasks past `expungeAfterSeconds` are
 * expunged (deleted from the store; a task that comes back afterwards is
 * unknown and killed). Deadlines are derived from the stored
 * `unreachableSince`, so a restart or a failover re-evaluates them on its
 * first review. Unreachable tasks are also reconciled often (the master does
 * not report an agent's tasks when it comes back), so a task that comes back
 * is seen running again within about a second.
 */
import { toAgoraError } from '@agora/common';
import { conditionOf, type InstanceCondition, instanceIdOf } from '../events/types.js';
import type { TaskRecord } from '../model/task.js';
import { reviewUnreachable } from '../scheduling/unreachable-policy.js';
import type { SchedulerContext } from './scheduler-context.js';

/** How often unreachable tasks are reconciled. */
export const UNREACHABLE_RECONCILE_MS = 1000;

/** The instance condition of a stored task (`UnreachableInactive` for inactive unreachable tasks). */
export function conditionOfTask(task: TaskRecord): InstanceCondition {
  return task.state === 'TASK_UNREACHABLE' && task.unreachableInactive === true
    ? 'UnreachableInactive'
    : conditionOf(task.state);
}

/** `instance_changed_event` with the given condition. */
export function publishCondition(ctx: SchedulerContext, task: TaskRecord, condition: InstanceCondition): void {
  ctx.parts.events?.publish({
    instanceId: instanceIdOf(task.id),
    condition,
    runSpecId: task.appId,
    agentId: task.agentId,
    host: task.host,
    runSpecVersion: task.version,
    eventType: 'instance_changed_event',
  });
}

/** Forget an unreachable task (store first); false when the store refused (retried on the next review). */
export async function expungeTask(ctx: SchedulerContext, task: TaskRecord, why: string): Promise<boolean> {
  const { tasks, logger } = ctx.parts;
  try {
    await tasks.remove(task);
  } catch (err) {
    logger.error({ err: toAgoraError(err).toJSON(), taskId: task.id }, 'cannot expunge an unreachable task');
    return false;
  }
  tasks.watchExpunged(task, ctx.parts.clock.now() + ctx.options.reconcileIntervalMs);
  logger.info({ taskId: task.id, appId: task.appId, why }, 'unreachable task expunged');
  publishCondition(ctx, task, conditionOfTask(task));
  return true;
}

/** Move unreachable tasks whose deadlines passed: inactive ones stop counting, overdue ones are expunged. */
export async function reviewUnreachableTasks(ctx: SchedulerContext): Promise<void> {
  const { apps, tasks, clock, logger } = ctx.parts;
  const now = clock.now();
  for (const appId of tasks.appIds()) {
    const live = tasks.byApp(appId);
    if (!live.some((t) => t.state === 'TASK_UNREACHABLE')) continue;
    const app = apps.get(appId);
    const due = reviewUnreachable(app?.unreachableStrategy, live, now);
    for (const task of due.expunge) {
      const why =
        app === undefined
          ? 'app deleted'
          : task.killRequestedAt !== undefined
            ? 'killed while unreachable'
            : 'expungeAfterSeconds passed';
      await expungeTask(ctx, task, why);
    }
    for (const task of due.inactive) {
      const inactive: TaskRecord = { ...task, unreachableInactive: true };
      try {
        await tasks.put(inactive);
      } catch (err) {
        logger.error({ err: toAgoraError(err).toJSON(), taskId: task.id }, 'cannot store an inactive task');
        continue;
      }
      logger.info({ taskId: task.id, appId }, 'unreachable task inactive; it will be replaced');
      publishCondition(ctx, inactive, 'UnreachableInactive');
    }
  }
}

/**
 * Tasks to reconcile now, at most every `UNREACHABLE_RECONCILE_MS`: the
 * unreachable ones, and the expunged ones still watched (until the next
 * periodic reconciliation would find them), so one that comes back is killed.
 */
export class UnreachableReconciler {
  private last = Number.NEGATIVE_INFINITY;

  due(ctx: SchedulerContext): Array<{ taskId: string; agentId: string }> {
    const now = ctx.parts.clock.now();
    if (now - this.last < UNREACHABLE_RECONCILE_MS) return [];
    const { tasks } = ctx.parts;
    const due = [
      ...tasks
        .all()
        .filter((t) => t.state === 'TASK_UNREACHABLE')
        .map((t) => ({ taskId: t.id, agentId: t.agentId })),
      ...tasks.watchedExpunged(now),
    ];
    if (due.length > 0) this.last = now;
    return due;
  }
}
