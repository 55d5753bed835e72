/**
 * Status updates: store the task's new state (or remove it when it is gone
 * for good, recording failures and launch backoff), publish it, then
 * acknowledge. Invariant: an update is acknowledged only after the store
 * write, so an update lost to a crash is resent by the agent.
 * TASK_UNREACHABLE follows the app's `unreachableStrategy`
 * (scheduling/unreachable-policy.ts): the task is kept with the time it
 * became unreachable, unless already due for expunge ({0,0}: at once); a
 * repeated report changes nothing; a task that comes back running is
 * reachable again. Updates of expunged tasks still watched are ignored while
 * they stay unreachable; once running they are unknown and killed.
 */
import { toAgoraError } from '@agora/common';
import { type agora, taskStateName } from '@agora/proto';
import { publishTaskUpdate, publishUnknownTerminated } from '../events/publishers.js';
import { appIdOfTaskId } from '../model/path-id.js';
import { countsAsLaunchFailure, isGoneForGood, type TaskRecord, type TaskStateName } from '../model/task.js';
import { unreachablePhase, unreachableSince } from '../scheduling/unreachable-policy.js';
import { noteResidentStatus } from './resident-offers.js';
import { publishCondition } from './unreachable.js';
import type { SchedulerContext } from './scheduler-context.js';

export async function handleStatusUpdate(ctx: SchedulerContext, status: agora.v1.TaskStatus): Promise<void> {
  const { tasks, apps, launchQueue, clock, logger, events } = ctx.parts;
  const taskId = status.task_id.value;
  const state = taskStateName(status.state) as TaskStateName;
  const agentId = status.agent_id?.value ?? undefined;
  const uuid = status.uuid !== null && status.uuid !== undefined && status.uuid.length > 0 ? status.uuid : undefined;
  const now = clock.now();
  const task = tasks.get(taskId);

  if (task === undefined) {
    if (tasks.isWatchedExpunged(taskId)) {
      if (state === 'TASK_UNREACHABLE') {
        acknowledge(ctx, agentId, taskId, uuid); // expunged, still away
        return;
      }
      tasks.unwatchExpunged(taskId);
    }
    if (!isGoneForGood(state, false)) {
      logger.warn({ taskId, state }, 'update for a task Marathon does not know; killing it');
      ctx.call('kill unknown task', (d) => d.kill(taskId, agentId));
    } else publishUnknownTerminated(events, taskId, appIdOfTaskId(taskId), state);
    acknowledge(ctx, agentId, taskId, uuid);
    return;
  }

  const app = apps.get(task.appId);
  if (typeof status.healthy === 'boolean') ctx.parts.health?.noteMesosHealth(taskId, status.healthy);
  const message = status.message ?? undefined;
  const notStored = (err: unknown): void =>
    logger.error({ err: toAgoraError(err).toJSON(), taskId, state }, 'cannot store a task update; not acknowledged');
  let since: number | undefined;
  let expunge = false;
  if (state === 'TASK_UNREACHABLE') {
    if (task.state === 'TASK_UNREACHABLE' && task.unreachableSince !== undefined) {
      acknowledge(ctx, agentId, taskId, uuid); // still unreachable (reconciliation): its deadlines run on
      return;
    }
    since = unreachableSince(unreachableTimeMs(status), now);
    expunge = unreachablePhase(app?.unreachableStrategy, since, now) === 'Expunged';
  }
  if (expunge || (state !== 'TASK_UNREACHABLE' && isGoneForGood(state, true))) {
    try {
      await tasks.remove(task);
    } catch (err) {
      notStored(err);
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
    const { unreachableSince: _since, unreachableInactive: _inactive, ...reachable } = task;
    const updated: TaskRecord =
      since === undefined ? { ...reachable, state } : { ...reachable, state, unreachableSince: since };
    if (since !== undefined && unreachablePhase(app?.unreachableStrategy, since, now) === 'UnreachableInactive') {
      updated.unreachableInactive = true;
    }
    if (state === 'TASK_RUNNING' && updated.startedAt === undefined) updated.startedAt = new Date(now).toISOString();
    if (agentId !== undefined && agentId !== '') updated.agentId = agentId;
    if (message !== undefined && message !== '') updated.message = message;
    const changed =
      updated.state !== task.state ||
      updated.startedAt !== task.startedAt ||
      updated.agentId !== task.agentId ||
      updated.unreachableSince !== task.unreachableSince ||
      updated.unreachableInactive !== task.unreachableInactive;
    if (changed) {
      try {
        await tasks.put(updated);
      } catch (err) {
        notStored(err);
        return;
      }
      logger.info({ taskId, appId: task.appId, state }, 'task state changed');
    }
  }
  await noteResidentStatus(ctx, task, state);
  publishTaskUpdate(events, task, state, message);
  if (since !== undefined && !expunge && unreachablePhase(app?.unreachableStrategy, since, now) !== 'Unreachable') {
    publishCondition(ctx, task, 'UnreachableInactive'); // unreachable for long already (e.g. learnt after a restart)
  }
  acknowledge(ctx, agentId, taskId, uuid);
  await ctx.review();
}

/** When the task became unreachable: the master's `unreachable_time`, else the update's time. */
function unreachableTimeMs(status: agora.v1.TaskStatus): number | undefined {
  const ns = status.unreachable_time?.nanoseconds;
  if (ns !== undefined && ns !== null) return Number(ns) / 1e6;
  return typeof status.timestamp === 'number' ? status.timestamp * 1000 : undefined;
}

function acknowledge(
  ctx: SchedulerContext,
  agentId: string | undefined,
  taskId: string,
  uuid: Uint8Array | undefined,
): void {
  if (uuid === undefined || agentId === undefined || agentId === '') return;
  ctx.call('acknowledge', (d) => d.acknowledge(agentId, taskId, uuid));
}
