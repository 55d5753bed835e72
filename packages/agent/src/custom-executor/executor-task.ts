/**
 * One task on a custom executor, as the task manager drives it, and what such
 * a task checkpoints (its executor's run).
 */
import type { agora } from '@agora/proto';
import type { ContainerUsage, VolumeMount } from '../containerizer/containerizer.js';
import { isTerminalState, TaskState, type TaskStatusReason, TaskStatusSource } from '@agora/proto';

type TaskInfo = agora.v1.TaskInfo.$Properties;
type TaskStatus = agora.v1.TaskStatus.$Properties;

/** What a task on a custom executor checkpoints as its `container`: the executor's run. */
export interface ExecutorRunCheckpoint {
  kind: 'agora-executor/1';
  executorInfo: agora.v1.ExecutorInfo.$Properties;
  containerId: string;
  sandbox: string;
  /** The containerizer's checkpoint of the executor's container. */
  container: unknown;
  /** The volumes in the executor's container (its own and its tasks'), once mounted; absent in older checkpoints. */
  volumes?: VolumeMount[] | undefined;
}

export function isExecutorRunCheckpoint(cp: unknown): cp is ExecutorRunCheckpoint {
  return typeof cp === 'object' && cp !== null && (cp as { kind?: unknown }).kind === 'agora-executor/1';
}

/** The container checkpoint in a task checkpoint: the executor's for a custom-executor task, else the task's own. */
export function containerCheckpointOf(cp: unknown): unknown {
  return isExecutorRunCheckpoint(cp) ? cp.container : cp;
}

/** What a task needs of its executor's run. */
export interface ExecutorRunHandle {
  readonly agentId: string;
  readonly executorId: string;
  readonly pid: number | undefined;
  readonly sandbox: string;
  launchTask(task: CustomExecutorTask): void;
  killTask(task: CustomExecutorTask, gracePeriodMs: number): void;
  checkpoint(): ExecutorRunCheckpoint | undefined;
  /** The executor container's usage, when it runs and can measure it. */
  usage(): Promise<ContainerUsage> | undefined;
}

/** One task on a custom executor, as the task manager drives it. */
export class CustomExecutorTask {
  private currentState: TaskState = TaskState.TASK_STAGING;
  private resolveDone!: () => void;
  readonly done: Promise<void> = new Promise((resolve) => {
    this.resolveDone = resolve;
  });
  /** Sent to the executor (LAUNCH). */
  sent = false;

  constructor(
    readonly task: TaskInfo,
    private readonly run: ExecutorRunHandle,
    private readonly onStatus: (status: TaskStatus) => void,
    /** Checkpoint the task again (its executor's container is now known). */
    readonly persist: () => void = () => {},
    /** The task's persistent volumes, put into the executor's sandbox before the task is sent to it. */
    readonly volumes: readonly VolumeMount[] = [],
  ) {}

  /** The usage of the executor's container (shared by its tasks), when it runs. */
  usage(): Promise<ContainerUsage> | undefined {
    return this.run.usage();
  }

  /** The executor run's checkpoint, once its container runs. */
  checkpoint(): ExecutorRunCheckpoint | undefined {
    return this.run.checkpoint();
  }

  /** A recovered task: its last state, and LAUNCH was sent before the restart. */
  restore(state: TaskState): void {
    this.currentState = state;
    this.sent = true;
  }

  get taskId(): string {
    return this.task.task_id.value;
  }
  get state(): TaskState {
    return this.currentState;
  }
  get isTerminal(): boolean {
    return isTerminalState(this.currentState);
  }
  get pid(): number | undefined {
    return this.run.pid;
  }
  get sandbox(): string {
    return this.run.sandbox;
  }

  launch(): void {
    this.run.launchTask(this);
  }

  kill(gracePeriodMs: number): Promise<void> {
    if (!this.isTerminal) this.run.killTask(this, gracePeriodMs);
    return this.done;
  }

  /** A status from the executor or the agent. */
  report(status: TaskStatus): void {
    if (this.isTerminal) return;
    this.currentState = status.state;
    this.onStatus(status);
    if (this.isTerminal) this.resolveDone();
  }

  /** The agent ends the task (the executor failed, was never reached, ...). */
  fail(state: TaskState, reason: TaskStatusReason, message: string): void {
    this.report({
      task_id: { value: this.taskId },
      state,
      reason,
      message,
      source: TaskStatusSource.SOURCE_AGENT,
      agent_id: { value: this.run.agentId },
      executor_id: { value: this.run.executorId },
    });
  }
}

/** A status from the executor as the agent forwards it (source executor, its agent and executor ids). */
export function fromExecutor(status: agora.v1.TaskStatus, agentId: string, executorId: string): TaskStatus {
  const forwarded: TaskStatus = {
    task_id: { value: status.task_id.value },
    state: status.state,
    source: TaskStatusSource.SOURCE_EXECUTOR,
    agent_id: { value: agentId },
    executor_id: { value: executorId },
  };
  if (status.uuid !== null && status.uuid.length > 0) forwarded.uuid = status.uuid;
  if (status.message !== null) forwarded.message = status.message;
  if (status.reason !== null) forwarded.reason = status.reason;
  if (status.data !== null) forwarded.data = status.data;
  if (status.healthy !== null) forwarded.healthy = status.healthy;
  if (status.labels !== null) forwarded.labels = status.labels;
  return forwarded;
}
