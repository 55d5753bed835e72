/**
 * The tasks on this agent: runs each RunTask through a command executor in
 * its own sandbox, routes kills and acknowledgements, feeds every status
 * change into the status update manager, and keeps what the agent reports
 * (re-registration, `/state`). A task stays "live" until its terminal update
 * is acknowledged; then it moves to the bounded list of completed tasks.
 *
 * The parts: `task-launch.ts` (sandbox, command executor, custom executor),
 * `task-recovery.ts` (after an agent restart), `task-reports.ts`
 * (Reregister, `/state`, usage); `task-context.ts` holds what they share.
 */
import { type Logger, newUuid, silentLogger } from '@agora/common';
import { type agora, isTerminalState, TaskState, TaskStatusReason, TaskStatusSource } from '@agora/proto';
import type { TaskCheckpoint } from '../checkpoint/checkpoint.js';
import type { Container } from '../containerizer/containerizer.js';
import { validateTaskChecks } from '../checks/task-checks.js';
import { killGracePeriodMs } from '../executor/command-executor.js';
import type { FrameworkSnapshot, TaskUsage } from './snapshots.js';
import type { TaskContext, TaskManagerOptions, TaskRecord } from './task-context.js';
import { commandExecutorFor, createCommandSandbox, runOnCustomExecutor } from './task-launch.js';
import { recoverLostTask, recoverTask } from './task-recovery.js';
import {
  frameworksForReregistration,
  isPartitionAware,
  snapshotTasks,
  tasksForReregistration,
  tasksUsage,
} from './task-reports.js';

/** Completed tasks kept for `/state` (Mesos keeps a bounded history too). @default 1000 */
export const DEFAULT_MAX_COMPLETED_TASKS = 1000;

type TaskInfo = agora.v1.TaskInfo.$Properties;
type FrameworkInfo = agora.v1.FrameworkInfo.$Properties;
type TaskStatus = agora.v1.TaskStatus.$Properties;

export type { FrameworkSnapshot, TaskSnapshot, TaskUsage } from './snapshots.js';
export type { TaskManagerOptions } from './task-context.js';

export class TaskManager {
  private readonly ctx: TaskContext;
  private readonly live = new Map<string, TaskRecord>();
  private readonly completed: TaskRecord[] = [];
  private readonly frameworks = new Map<string, FrameworkInfo>();
  private readonly logger: Logger;
  private readonly maxCompleted: number;

  constructor(private readonly options: TaskManagerOptions) {
    this.logger = options.logger ?? silentLogger();
    this.maxCompleted = options.maxCompletedTasks ?? DEFAULT_MAX_COMPLETED_TASKS;
    this.ctx = {
      options,
      logger: this.logger,
      live: this.live,
      completed: this.completed,
      frameworks: this.frameworks,
      report: (record, status) => this.report(record, status),
      persist: (record) => this.persist(record),
    };
    options.statusUpdates.onDidEndStream(({ taskId }) => this.onStreamEnded(taskId));
  }

  /** The latest state of a live task. */
  latestState(taskId: string): TaskState | undefined {
    return this.live.get(taskId)?.state;
  }

  /** RunTask from the master: start the task in a new sandbox. */
  runTask(framework: FrameworkInfo, task: TaskInfo): void {
    const agentId = this.options.agentId();
    const frameworkId = framework.id?.value;
    const taskId = task.task_id.value;
    if (agentId === undefined || frameworkId === undefined || frameworkId === '') {
      this.logger.error({ taskId, frameworkId }, 'RunTask without an agent id or framework id ignored');
      return;
    }
    if (this.live.has(taskId)) {
      this.logger.warn({ taskId, frameworkId }, 'RunTask for a task that is already running ignored');
      return;
    }
    this.frameworks.set(frameworkId, framework);
    this.persistFramework(framework);
    const record: TaskRecord = {
      frameworkId,
      info: task,
      state: TaskState.TASK_STAGING,
      statuses: [],
      containerId: newUuid(),
      sandbox: undefined,
      pid: undefined,
      executor: undefined,
    };
    this.live.set(taskId, record);
    if (task.executor) {
      runOnCustomExecutor(this.ctx, record, framework, agentId);
      return;
    }
    const fail = (state: TaskState, reason: TaskStatusReason, message: string): void =>
      this.report(record, {
        task_id: { value: taskId },
        state,
        message,
        reason,
        source: TaskStatusSource.SOURCE_AGENT,
        agent_id: { value: agentId },
      });
    try {
      record.sandbox = createCommandSandbox(this.ctx, agentId, record);
    } catch (err) {
      this.logger.warn({ taskId, err }, 'cannot create the sandbox');
      const message = `Cannot create the sandbox: ${(err as Error).message}`;
      fail(TaskState.TASK_FAILED, TaskStatusReason.REASON_CONTAINER_LAUNCH_FAILED, message);
      return;
    }
    if (task.health_check || task.check) {
      try {
        validateTaskChecks(task);
      } catch (err) {
        fail(TaskState.TASK_ERROR, TaskStatusReason.REASON_TASK_INVALID, (err as Error).message);
        return;
      }
    }
    const executor = commandExecutorFor(this.ctx, record, framework, agentId, record.sandbox, false);
    record.executor = executor;
    this.logger.info({ taskId, frameworkId, sandbox: record.sandbox }, 'launching task');
    void executor.launch();
  }

  /** KillTask from the master. An unknown task gets TASK_LOST (TASK_DROPPED for partition-aware frameworks). */
  killTask(frameworkId: string, taskId: string, killPolicy?: agora.v1.KillPolicy.$Properties | null): void {
    const record = this.live.get(taskId);
    if (record === undefined || record.frameworkId !== frameworkId) {
      if (this.completed.some((r) => r.info.task_id.value === taskId && r.frameworkId === frameworkId)) {
        this.logger.info({ taskId }, 'kill for a task that has already ended ignored');
        return;
      }
      this.reportUnknownTask(frameworkId, taskId);
      return;
    }
    if (record.custom !== undefined && !record.custom.isTerminal) {
      void record.custom.kill(killGracePeriodMs(record.info, killPolicy));
      return;
    }
    if (record.executor === undefined || isTerminalState(record.state)) {
      this.logger.info({ taskId, state: record.state }, 'kill for a task that has already ended ignored');
      return;
    }
    const graceMs = killGracePeriodMs(record.info, killPolicy);
    this.logger.info({ taskId, graceMs }, 'killing task');
    void record.executor.kill(graceMs);
  }

  /** ShutdownFramework: kill all the framework's tasks. */
  shutdownFramework(frameworkId: string): void {
    for (const record of this.live.values()) {
      if (record.frameworkId === frameworkId) this.killTask(frameworkId, record.info.task_id.value);
    }
  }

  /** The tasks to report in Reregister: live tasks with their latest state. */
  tasksForReregistration(agentId: string): agora.v1.Task.$Properties[] {
    return tasksForReregistration(this.ctx, agentId);
  }

  /** The frameworks of the live tasks, for Reregister. */
  frameworksForReregistration(): agora.v1.agent.FrameworkRecord.$Properties[] {
    return frameworksForReregistration(this.ctx);
  }

  /** Frameworks with their live and completed tasks, for `/state`. */
  snapshot(): FrameworkSnapshot[] {
    return snapshotTasks(this.ctx);
  }

  /** Live tasks that have not reached a terminal state. */
  get runningCount(): number {
    return [...this.live.values()].filter((r) => !isTerminalState(r.state)).length;
  }

  /** Kill every task (each with its grace period) and wait until all have ended. */
  async killAll(): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const record of this.live.values()) {
      if (record.custom !== undefined && !record.custom.isTerminal) waits.push(record.custom.done);
      if (record.executor === undefined || record.executor.isTerminal) continue;
      waits.push(record.executor.kill(killGracePeriodMs(record.info)));
    }
    await Promise.all(waits);
  }

  /** Leave every task running; the agent process no longer waits for them. */
  detachAll(): void {
    for (const record of this.live.values()) record.executor?.detach();
  }

  /** Checkpoint a task again (after an acknowledgement changed its unacknowledged updates). */
  persistTask(taskId: string): void {
    const record = this.live.get(taskId);
    if (record !== undefined) this.persist(record);
  }

  /**
   * Recover a checkpointed task after an agent restart: its unacknowledged
   * updates are queued again (same uuids), and its container is re-attached
   * and watched (`recoverContainer`); a task whose container cannot be
   * recovered ends TASK_FAILED. Terminal tasks just wait for their acks.
   */
  recoverTask(
    framework: FrameworkInfo,
    saved: TaskCheckpoint,
    recoverContainer: (checkpoint: unknown) => Container | undefined,
  ): void {
    recoverTask(this.ctx, framework, saved, recoverContainer);
  }

  /** A task whose checkpoint is corrupt: reported TASK_LOST (its container cannot be found). */
  recoverLostTask(framework: FrameworkInfo, taskId: string, message: string): void {
    recoverLostTask(this.ctx, framework, taskId, message);
  }

  /** Usage of every running container that can report it. */
  usage(): Promise<TaskUsage[]> {
    return tasksUsage(this.ctx);
  }

  private persistFramework(framework: FrameworkInfo): void {
    try {
      this.options.checkpointer?.writeFramework(framework);
    } catch (err) {
      this.logger.error({ err, frameworkId: framework.id?.value }, 'cannot checkpoint the framework');
    }
  }

  private persist(record: TaskRecord): void {
    const checkpointer = this.options.checkpointer;
    if (checkpointer === undefined || record.containerId === '') return;
    try {
      checkpointer.writeTask({
        frameworkId: record.frameworkId,
        info: record.info,
        state: record.state,
        containerId: record.containerId,
        sandbox: record.sandbox,
        statuses: record.statuses,
        pending: this.options.statusUpdates.pending(record.info.task_id.value).slice(),
        container: record.executor?.containerHandle?.checkpoint?.() ?? record.custom?.checkpoint() ?? record.container,
      });
    } catch (err) {
      this.logger.error({ err, taskId: record.info.task_id.value }, 'cannot checkpoint the task');
    }
  }

  private report(record: TaskRecord, status: TaskStatus): void {
    record.state = status.state;
    const stamped = this.options.statusUpdates.update(record.frameworkId, status);
    if (stamped !== undefined) record.statuses.push(stamped);
    this.persist(record);
    this.logger.info(
      { taskId: record.info.task_id.value, state: TaskState[status.state], message: status.message ?? undefined },
      'task status',
    );
  }

  private reportUnknownTask(frameworkId: string, taskId: string): void {
    const status: TaskStatus = {
      task_id: { value: taskId },
      state: isPartitionAware(this.ctx, frameworkId) ? TaskState.TASK_DROPPED : TaskState.TASK_LOST,
      message: 'Cannot kill the task: it is unknown to this agent',
      reason: TaskStatusReason.REASON_TASK_UNKNOWN,
      source: TaskStatusSource.SOURCE_AGENT,
    };
    const agentId = this.options.agentId();
    if (agentId !== undefined) status.agent_id = { value: agentId };
    this.logger.warn({ taskId, frameworkId }, 'kill for an unknown task');
    this.options.statusUpdates.update(frameworkId, status);
  }

  private onStreamEnded(taskId: string): void {
    const record = this.live.get(taskId);
    if (record === undefined || !(isTerminalState(record.state) || record.state === TaskState.TASK_LOST)) return;
    this.live.delete(taskId);
    try {
      this.options.checkpointer?.removeTask(record.frameworkId, taskId);
    } catch (err) {
      this.logger.error({ err, taskId }, 'cannot remove the task checkpoint');
    }
    record.executor = undefined;
    this.completed.push(record);
    if (this.completed.length > this.maxCompleted) this.completed.splice(0, this.completed.length - this.maxCompleted);
    const inUse = new Set([...this.live.values(), ...this.completed].map((r) => r.frameworkId));
    for (const id of [...this.frameworks.keys()]) if (!inUse.has(id)) this.frameworks.delete(id);
  }
}
