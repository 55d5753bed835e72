/**
 * Status updates: store the task's new state (or remove it when it is gone
 * for good, recording failures and launch backoff), publish it, then
 * acknowledge. Invariant: an update is acknowledged only after the store
 * write, so an update lost to a crash is resent by the agent.
 */
import { toAgoraError } from '@agora/common';
import { type agora, taskStateName } from '@agora/proto';
import { publishTaskUpdate, publishUnknownTerminated } from '../events/publishers.js';
import { appIdOfTaskId } from '../model/path-id.js';
import { countsAsLaunchFailure, isGoneForGood, type TaskRecord, type TaskStateName } from '../model/task.js';
import { noteResidentStatus } from './resident-offers.js';
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
    if (!isGoneForGood(state, false)) {
      logger.warn({ taskId, state }, 'update for a task Marathon does not know; killing it');
      ctx.call('kill unknown task', (d) => d.kill(taskId, agentId));
    } else publishUnknownTerminated(events, taskId, appIdOfTaskId(taskId), state);
    acknowledge(ctx, agentId, taskId, uuid);
    return;
  }

  const app = apps.get(task.appId);
  if (typeof status.healthy === 'boolean') ctx.parts.health?.noteMesosHealth(taskId, status.healthy);
  const unreachableDisabled = app?.unreachableStrategy === 'disabled';
  const message = status.message ?? undefined;
  const notStored = (err: unknown): void =>
    logger.error({ err: toAgoraError(err).toJSON(), taskId, state }, 'cannot store a task update; not acknowledged');
  if (isGoneForGood(state, unreachableDisabled)) {
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
    const updated: TaskRecord = { ...task, state };
    if (state === 'TASK_RUNNING' && updated.startedAt === undefined) updated.startedAt = new Date(now).toISOString();
    if (agentId !== undefined && agentId !== '') updated.agentId = agentId;
    if (message !== undefined && message !== '') updated.message = message;
    if (updated.state !== task.state || updated.startedAt !== task.startedAt || updated.agentId !== task.agentId) {
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
  acknowledge(ctx, agentId, taskId, uuid);
  await ctx.review();
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
