/**
 * Tasks after an agent restart: a checkpointed task is recovered (its
 * unacknowledged updates queued again with the same uuids, its container —
 * or its custom executor's run — re-attached and watched); a task whose
 * container cannot be recovered ends TASK_FAILED; a task whose checkpoint is
 * corrupt is reported TASK_LOST.
 */
import { type agora, isTerminalState, TaskState, TaskStatusReason, TaskStatusSource } from '@agora/proto';
import type { TaskCheckpoint } from '../checkpoint/checkpoint.js';
import type { Container } from '../containerizer/containerizer.js';
import { isExecutorRunCheckpoint } from '../custom-executor/executor-manager.js';
import { commandExecutorFor } from './task-launch.js';
import type { TaskContext, TaskRecord } from './task-context.js';

type FrameworkInfo = agora.v1.FrameworkInfo.$Properties;

/** Recover a checkpointed task. Terminal tasks just wait for their acknowledgements. */
export function recoverTask(
  ctx: TaskContext,
  framework: FrameworkInfo,
  saved: TaskCheckpoint,
  recoverContainer: (checkpoint: unknown) => Container | undefined,
): void {
  const taskId = saved.info.task_id.value;
  const agentId = ctx.options.agentId();
  ctx.frameworks.set(saved.frameworkId, framework);
  const record: TaskRecord = {
    frameworkId: saved.frameworkId,
    info: saved.info,
    state: saved.state,
    statuses: saved.statuses.slice(),
    containerId: saved.containerId,
    sandbox: saved.sandbox,
    pid: undefined,
    executor: undefined,
    container: saved.container,
  };
  ctx.live.set(taskId, record);
  for (const status of saved.pending) ctx.options.statusUpdates.update(saved.frameworkId, status);
  if (isTerminalState(saved.state) || saved.state === TaskState.TASK_LOST) {
    ctx.persist(record);
    return;
  }
  if (
    saved.info.executor &&
    isExecutorRunCheckpoint(saved.container) &&
    recoverCustomTask(ctx, framework, saved, record)
  ) {
    return;
  }
  const container =
    saved.container === undefined || saved.sandbox === undefined || saved.info.executor
      ? undefined
      : recoverContainer(saved.container);
  if (container === undefined || saved.sandbox === undefined || agentId === undefined) {
    ctx.logger.warn({ taskId }, 'the task had no recoverable container');
    ctx.report(record, {
      task_id: { value: taskId },
      state: TaskState.TASK_FAILED,
      message: saved.info.executor
        ? "The agent restarted and cannot recover the task's executor"
        : 'The agent restarted while the task was launching',
      reason: TaskStatusReason.REASON_AGENT_RESTARTED,
      source: TaskStatusSource.SOURCE_AGENT,
      ...(agentId === undefined ? {} : { agent_id: { value: agentId } }),
    });
    return;
  }
  const executor = commandExecutorFor(ctx, record, framework, agentId, saved.sandbox, true);
  record.executor = executor;
  record.pid = container.pid;
  ctx.logger.info({ taskId, pid: container.pid, state: TaskState[saved.state] }, 'task recovered');
  executor.recover(container, saved.state);
}

/** A task on a custom executor after a restart: back on its recovered executor run. False when that failed. */
function recoverCustomTask(
  ctx: TaskContext,
  framework: FrameworkInfo,
  saved: TaskCheckpoint,
  record: TaskRecord,
): boolean {
  const agentId = ctx.options.agentId();
  if (ctx.options.executors === undefined || agentId === undefined || !isExecutorRunCheckpoint(saved.container)) {
    return false;
  }
  const custom = ctx.options.executors.recoverTask(
    framework,
    saved.frameworkId,
    agentId,
    saved.info,
    saved.state,
    saved.container,
    (status) => {
      record.pid = custom?.pid;
      ctx.report(record, status);
    },
    () => ctx.persist(record),
  );
  if (custom === undefined) return false;
  record.custom = custom;
  record.pid = custom.pid;
  ctx.logger.info({ taskId: saved.info.task_id.value, state: TaskState[saved.state] }, 'task on an executor recovered');
  return true;
}

/** A task whose checkpoint is corrupt: reported TASK_LOST (its container cannot be found). */
export function recoverLostTask(ctx: TaskContext, framework: FrameworkInfo, taskId: string, message: string): void {
  const frameworkId = framework.id?.value ?? '';
  const agentId = ctx.options.agentId();
  ctx.frameworks.set(frameworkId, framework);
  const record: TaskRecord = {
    frameworkId,
    info: { name: taskId, task_id: { value: taskId }, agent_id: { value: agentId ?? '' } },
    state: TaskState.TASK_STAGING,
    statuses: [],
    containerId: '',
    sandbox: undefined,
    pid: undefined,
    executor: undefined,
  };
  ctx.live.set(taskId, record);
  ctx.report(record, {
    task_id: { value: taskId },
    state: TaskState.TASK_LOST,
    message,
    reason: TaskStatusReason.REASON_AGENT_RESTARTED,
    source: TaskStatusSource.SOURCE_AGENT,
    ...(agentId === undefined ? {} : { agent_id: { value: agentId } }),
  });
}
