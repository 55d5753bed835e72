/**
 * What the agent reports about its tasks: the tasks and frameworks of a
 * Reregister, the `/state` snapshot, and the usage of running containers.
 */
import { agora, isTerminalState } from '@agora/proto';
import { type FrameworkSnapshot, snapshotOf, type TaskUsage } from './snapshots.js';
import type { TaskContext } from './task-context.js';

/** The tasks to report in Reregister: live tasks with their latest state. */
export function tasksForReregistration(ctx: TaskContext, agentId: string): agora.v1.Task.$Properties[] {
  return [...ctx.live.values()].map((record) => {
    const head = ctx.options.statusUpdates.pending(record.info.task_id.value)[0];
    const last = head ?? record.statuses[record.statuses.length - 1];
    const task: agora.v1.Task.$Properties = {
      name: record.info.name,
      task_id: { value: record.info.task_id.value },
      framework_id: { value: record.frameworkId },
      executor_id: { value: record.info.task_id.value },
      agent_id: { value: agentId },
      state: record.state,
      resources: record.info.resources ?? [],
      statuses: record.statuses,
    };
    if (last !== undefined) {
      task.status_update_state = last.state;
      if (last.uuid !== undefined && last.uuid !== null) task.status_update_uuid = last.uuid;
    }
    if (record.info.labels) task.labels = record.info.labels;
    if (record.info.health_check) task.health_check = record.info.health_check;
    return task;
  });
}

/** The frameworks of the live tasks, for Reregister. */
export function frameworksForReregistration(ctx: TaskContext): agora.v1.agent.FrameworkRecord.$Properties[] {
  const ids = new Set([...ctx.live.values()].map((r) => r.frameworkId));
  return [...ids].flatMap((id) => {
    const info = ctx.frameworks.get(id);
    return info === undefined ? [] : [{ framework_info: info }];
  });
}

/** Frameworks with their live and completed tasks, for `/state`. */
export function snapshotTasks(ctx: TaskContext): FrameworkSnapshot[] {
  const byFramework = new Map<string, FrameworkSnapshot>();
  const entry = (id: string): FrameworkSnapshot | undefined => {
    const info = ctx.frameworks.get(id);
    if (info === undefined) return undefined;
    let fw = byFramework.get(id);
    if (fw === undefined) {
      fw = { id, info, live: [], completed: [] };
      byFramework.set(id, fw);
    }
    return fw;
  };
  for (const r of ctx.live.values()) entry(r.frameworkId)?.live.push(snapshotOf(r));
  for (const r of ctx.completed) entry(r.frameworkId)?.completed.push(snapshotOf(r));
  return [...byFramework.values()];
}

/** Usage of every running container that can report it. */
export async function tasksUsage(ctx: TaskContext): Promise<TaskUsage[]> {
  const out: TaskUsage[] = [];
  for (const record of ctx.live.values()) {
    if (isTerminalState(record.state)) continue;
    const taskId = record.info.task_id.value;
    const container = record.executor?.containerHandle;
    // A task on a custom executor: its executor's container (shared by the executor's tasks).
    const measure = container?.usage?.bind(container) ?? record.custom?.usage.bind(record.custom);
    const usage = measure?.();
    if (usage === undefined) continue;
    try {
      const executor = record.info.executor;
      out.push({
        frameworkId: record.frameworkId,
        taskId,
        ...(executor ? { executorId: executor.executor_id.value } : {}),
        executorName: executor
          ? executor.name || `Executor ${executor.executor_id.value}`
          : `Command Executor (Task: ${taskId}) (Command: sh -c '${record.info.command?.value ?? ''}')`,
        usage: await usage,
      });
    } catch (err) {
      ctx.logger.debug({ err, taskId }, 'usage unavailable');
    }
  }
  return out;
}

/** Whether the framework opted in to partition awareness (TASK_DROPPED / TASK_GONE rather than TASK_LOST). */
export function isPartitionAware(ctx: TaskContext, frameworkId: string): boolean {
  return (ctx.frameworks.get(frameworkId)?.capabilities ?? []).some(
    (c) => c.type === agora.v1.FrameworkInfo.Capability.Type.PARTITION_AWARE,
  );
}
