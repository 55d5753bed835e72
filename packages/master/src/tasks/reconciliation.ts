/**
 * Task reconciliation (Mesos docs/reconciliation.md), as a pure function:
 * the framework's request and what the master knows in, the UPDATEs to send
 * out. Answers carry REASON_RECONCILIATION, SOURCE_MASTER and no uuid (they
 * are not acknowledged).
 *
 * - Implicit (empty list): the latest state of every task of the framework the master knows.
 * - Explicit, known task: its latest state (with the agent it is on, even if the request named another).
 * - Tasks on an agent marked unreachable (kept by the master): TASK_UNREACHABLE to PARTITION_AWARE frameworks,
 *   TASK_LOST to others — in implicit and explicit reconciliation. An explicit request naming an agent marked
 *   unreachable gets the same; naming an agent marked gone: TASK_GONE (TASK_LOST).
 * - Explicit, unknown task: TASK_LOST (TASK_UNKNOWN for PARTITION_AWARE frameworks) when the master can tell
 *   the task does not exist: its agent is registered with this master (an agent re-registers with all its
 *   tasks), or the re-registration window after this master's election has passed. Inside that window, for
 *   an agent not (yet) registered, no answer: the agent may still come back with the task, and a master
 *   failover must not make a task look lost.
 */
import { agora, TaskState, TaskStatusReason, TaskStatusSource, type TaskStatus } from '@agora/proto';
import type { TaskRecord } from './task-tracker.js';

export interface ReconcileInput {
  /** The requested tasks; empty = implicit reconciliation. */
  requested: ReadonlyArray<{ taskId: string; agentId: string | undefined }>;
  /** Every known (not completed) task of the framework. */
  tasks: readonly TaskRecord[];
  partitionAware: boolean;
  /** Whether the agent has registered with this master. */
  isAgentRegistered(agentId: string): boolean;
  /** The framework's tasks on agents marked unreachable. */
  unreachable?: readonly TaskRecord[];
  /** What the registry says of an agent that is not registered: unreachable, gone, or nothing. */
  agentStatus?(agentId: string): 'unreachable' | 'gone' | undefined;
  /** Agents may still be re-registering after this master's election. */
  inReregistrationWindow: boolean;
  /** ms epoch */
  now: number;
}

export function reconcileTasks(input: ReconcileInput): TaskStatus[] {
  const byId = new Map(input.tasks.map((t) => [t.taskId, t]));
  const unreachable = new Map((input.unreachable ?? []).map((t) => [t.taskId, t]));
  const timestamp = input.now / 1000;
  const partitioned = (taskId: string, agentId: string | undefined, state: 'unreachable' | 'gone'): TaskStatus => ({
    task_id: { value: taskId },
    state: !input.partitionAware
      ? TaskState.TASK_LOST
      : state === 'unreachable'
        ? TaskState.TASK_UNREACHABLE
        : TaskState.TASK_GONE,
    source: TaskStatusSource.SOURCE_MASTER,
    reason: TaskStatusReason.REASON_RECONCILIATION,
    message: `Reconciliation: Task is ${state === 'unreachable' ? 'unreachable' : 'gone'}`,
    timestamp,
    ...(agentId === undefined ? {} : { agent_id: { value: agentId } }),
  });
  if (input.requested.length === 0) {
    return [
      ...input.tasks.map((t) => latestStatus(t, timestamp)),
      ...[...unreachable.values()].map((t) => partitioned(t.taskId, t.agentId, 'unreachable')),
    ];
  }
  const out: TaskStatus[] = [];
  for (const { taskId, agentId } of input.requested) {
    const task = byId.get(taskId);
    if (task !== undefined) {
      out.push(latestStatus(task, timestamp));
      continue;
    }
    const lost = unreachable.get(taskId);
    if (lost !== undefined) {
      out.push(partitioned(taskId, lost.agentId, 'unreachable'));
      continue;
    }
    const agentStatus = agentId === undefined ? undefined : input.agentStatus?.(agentId);
    if (agentStatus !== undefined) {
      out.push(partitioned(taskId, agentId, agentStatus));
      continue;
    }
    const knownAbsent = agentId !== undefined && input.isAgentRegistered(agentId);
    if (!knownAbsent && input.inReregistrationWindow) continue;
    out.push({
      task_id: { value: taskId },
      state: input.partitionAware ? TaskState.TASK_UNKNOWN : TaskState.TASK_LOST,
      source: TaskStatusSource.SOURCE_MASTER,
      reason: TaskStatusReason.REASON_RECONCILIATION,
      message: 'Reconciliation: Task is unknown',
      timestamp,
      ...(agentId === undefined ? {} : { agent_id: { value: agentId } }),
    });
  }
  return out;
}

function latestStatus(task: TaskRecord, timestamp: number): TaskStatus {
  const last = task.statuses[task.statuses.length - 1];
  const status: TaskStatus = {
    task_id: { value: task.taskId },
    state: task.state,
    source: TaskStatusSource.SOURCE_MASTER,
    reason: TaskStatusReason.REASON_RECONCILIATION,
    message: 'Reconciliation: Latest task state',
    agent_id: { value: task.agentId },
    timestamp,
  };
  if (task.executorId !== undefined) status.executor_id = { value: task.executorId };
  if (last?.healthy !== undefined && last.healthy !== null) status.healthy = last.healthy;
  if (last?.labels) status.labels = agora.v1.Labels.fromObject(last.labels);
  return status;
}
