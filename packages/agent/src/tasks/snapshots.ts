/** What the task manager reports about its tasks: `/state` snapshots and container usage. */
import type { agora, TaskState } from '@agora/proto';
import type { ContainerUsage } from '../containerizer/containerizer.js';

type TaskInfo = agora.v1.TaskInfo.$Properties;
type FrameworkInfo = agora.v1.FrameworkInfo.$Properties;
type TaskStatus = agora.v1.TaskStatus.$Properties;

/** One container's usage, for `/monitor/statistics`. */
export interface TaskUsage {
  frameworkId: string;
  taskId: string;
  /** The executor's id when it is not the task's (custom executors). */
  executorId?: string;
  executorName: string;
  usage: ContainerUsage;
}

/** One task as the agent knows it. */
export interface TaskSnapshot {
  frameworkId: string;
  info: TaskInfo;
  state: TaskState;
  /** Every status sent for the task, oldest first. */
  statuses: readonly TaskStatus[];
  containerId: string;
  sandbox: string | undefined;
  pid: number | undefined;
}

export interface FrameworkSnapshot {
  id: string;
  info: FrameworkInfo;
  /** Tasks not yet terminal, or terminal but not yet acknowledged. */
  live: TaskSnapshot[];
  completed: TaskSnapshot[];
}

/** A copy of a task's record, for `/state`. */
export function snapshotOf(record: TaskSnapshot): TaskSnapshot {
  return {
    frameworkId: record.frameworkId,
    info: record.info,
    state: record.state,
    statuses: record.statuses.slice(),
    containerId: record.containerId,
    sandbox: record.sandbox,
    pid: record.pid,
  };
}
