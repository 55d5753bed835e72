/**
 * The tasks on this agent: runs each RunTask through a command executor in
 * its own sandbox, routes kills and acknowledgements, feeds every status
 * change into the status update manager, and keeps what the agent reports
 * (re-registration, `/state`). A task stays "live" until its terminal update
 * is acknowledged; then it moves to the bounded list of completed tasks.
 */
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { type Clock, type Logger, newUuid, silentLogger, systemClock } from '@agora/common';
import { agora, isTerminalState, TaskState, TaskStatusReason, TaskStatusSource } from '@agora/proto';
import { latestRunLink, sandboxDir } from '../checkpoint/paths.js';
import type { Containerizer } from '../containerizer/containerizer.js';
import { buildTaskEnvironment } from '../containerizer/environment.js';
import { CommandExecutor, killGracePeriodMs } from '../executor/command-executor.js';
import type { CustomExecutorTask, ExecutorManager } from '../custom-executor/executor-manager.js';
import type { Fetcher } from '../fetcher/fetcher.js';
import { HealthChecker, healthCheckKind } from '../health/health-checker.js';
import type { StatusUpdateManager } from '../status-updates/status-update-manager.js';
import type { Checkpointer, TaskCheckpoint } from '../checkpoint/checkpoint.js';
import type { Container, ContainerUsage } from '../containerizer/containerizer.js';

/** Completed tasks kept for `/state` (Mesos keeps a bounded history too). @default 1000 */
export const DEFAULT_MAX_COMPLETED_TASKS = 1000;

type TaskInfo = agora.v1.TaskInfo.$Properties;
type FrameworkInfo = agora.v1.FrameworkInfo.$Properties;
type TaskStatus = agora.v1.TaskStatus.$Properties;

export interface TaskManagerOptions {
  workDir: string;
  /** The agent id (tasks only arrive once registered). */
  agentId: () => string | undefined;
  /** The agent's HTTP `host:port`, for MESOS_AGENT_ENDPOINT. */
  agentEndpoint: () => string;
  /** The agent's advertised hostname, for HOST. */
  hostname: string;
  containerizer: Containerizer;
  statusUpdates: StatusUpdateManager;
  logger?: Logger;
  /** The environment tasks inherit. @default process.env */
  baseEnv?: Readonly<Record<string, string | undefined>>;
  /** @default DEFAULT_MAX_COMPLETED_TASKS */
  maxCompletedTasks?: number;
  /** Fetches CommandInfo.uris into the sandbox before the task starts; without it URIs are refused. */
  fetcher?: Fetcher | undefined;
  /** For health-check timers. @default systemClock */
  clock?: Clock | undefined;
  /** Runs tasks whose TaskInfo has an `executor` (custom executors); without it such tasks are refused. */
  executors?: ExecutorManager | undefined;
  /** Checkpoints every task change (recovery after an agent restart); none when undefined. */
  checkpointer?: Checkpointer | undefined;
}

/** One container's usage, for `/monitor/statistics`. */
export interface TaskUsage {
  frameworkId: string;
  taskId: string;
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

interface TaskRecord extends TaskSnapshot {
  statuses: TaskStatus[];
  executor: CommandExecutor | undefined;
  /** Set instead of `executor` for a task on a custom executor. */
  custom?: CustomExecutorTask | undefined;
  /** The container checkpoint of a recovered task without an executor. */
  container?: unknown;
}

export class TaskManager {
  private readonly live = new Map<string, TaskRecord>();
  private readonly completed: TaskRecord[] = [];
  private readonly frameworks = new Map<string, FrameworkInfo>();
  private readonly logger: Logger;
  private readonly maxCompleted: number;

  constructor(private readonly options: TaskManagerOptions) {
    this.logger = options.logger ?? silentLogger();
    this.maxCompleted = options.maxCompletedTasks ?? DEFAULT_MAX_COMPLETED_TASKS;
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
    const containerId = newUuid();
    const record: TaskRecord = {
      frameworkId,
      info: task,
      state: TaskState.TASK_STAGING,
      statuses: [],
      containerId,
      sandbox: undefined,
      pid: undefined,
      executor: undefined,
    };
    this.live.set(taskId, record);
    if (task.executor) {
      this.runOnCustomExecutor(record, framework, frameworkId, agentId, task);
      return;
    }
    let sandbox: string;
    try {
      sandbox = sandboxDir(this.options.workDir, agentId, frameworkId, taskId, containerId);
      mkdirSync(sandbox, { recursive: true });
      const latest = latestRunLink(this.options.workDir, agentId, frameworkId, taskId);
      rmSync(latest, { force: true });
      symlinkSync(basename(sandbox), latest);
    } catch (err) {
      this.logger.warn({ taskId, err }, 'cannot create the sandbox');
      this.report(record, {
        task_id: { value: taskId },
        state: TaskState.TASK_FAILED,
        message: `Cannot create the sandbox: ${(err as Error).message}`,
        reason: TaskStatusReason.REASON_CONTAINER_LAUNCH_FAILED,
        source: TaskStatusSource.SOURCE_AGENT,
        agent_id: { value: agentId },
      });
      return;
    }
    record.sandbox = sandbox;
    if (task.health_check) {
      try {
        healthCheckKind(task.health_check);
      } catch (err) {
        this.report(record, {
          task_id: { value: taskId },
          state: TaskState.TASK_ERROR,
          message: (err as Error).message,
          reason: TaskStatusReason.REASON_TASK_INVALID,
          source: TaskStatusSource.SOURCE_AGENT,
          agent_id: { value: agentId },
        });
        return;
      }
    }
    const env = buildTaskEnvironment({
      taskId,
      frameworkId,
      executorId: taskId,
      sandbox,
      agentEndpoint: this.options.agentEndpoint(),
      hostname: this.options.hostname,
      resources: task.resources ?? [],
      environment: task.command?.environment,
      base: this.options.baseEnv ?? process.env,
    });
    const executor = new CommandExecutor({
      task,
      framework,
      frameworkId,
      agentId,
      containerId,
      sandbox,
      env,
      containerizer: this.options.containerizer,
      logger: this.logger,
      prepare: this.fetchStep(task, sandbox),
      healthCheck: task.health_check
        ? (hooks) =>
            HealthChecker.start(
              task.health_check as agora.v1.HealthCheck.$Properties,
              { sandbox, env },
              this.options.clock ?? systemClock,
              hooks,
              this.logger.child({ taskId }),
            )
        : undefined,
      onStatus: (status) => {
        record.pid = executor.pid;
        this.report(record, status);
      },
    });
    record.executor = executor;
    this.logger.info({ taskId, frameworkId, sandbox }, 'launching task');
    void executor.launch();
  }

  /** The fetch before launch, when the task has URIs. */
  private fetchStep(task: TaskInfo, sandbox: string): (() => Promise<void>) | undefined {
    const uris = task.command?.uris ?? [];
    if (uris.length === 0) return undefined;
    const fetcher = this.options.fetcher;
    if (fetcher === undefined) {
      return () => Promise.reject(new Error('this agent has no fetcher: CommandInfo.uris cannot be fetched'));
    }
    return () => fetcher.fetchAll(uris, sandbox);
  }

  /** A task with an ExecutorInfo: hand it to its custom executor (started if needed). */
  private runOnCustomExecutor(
    record: TaskRecord,
    framework: FrameworkInfo,
    frameworkId: string,
    agentId: string,
    task: TaskInfo,
  ): void {
    const taskId = task.task_id.value;
    const refuse = (message: string): void =>
      this.report(record, {
        task_id: { value: taskId },
        state: TaskState.TASK_ERROR,
        message,
        reason: TaskStatusReason.REASON_TASK_INVALID,
        source: TaskStatusSource.SOURCE_AGENT,
        agent_id: { value: agentId },
      });
    let problem: string | undefined;
    if (this.options.executors === undefined) problem = 'This agent runs no custom executors';
    else if (!task.executor?.command?.value) problem = "The task's ExecutorInfo has no command";
    else if (task.command) problem = 'A task has either a command or an executor, not both';
    if (problem !== undefined || this.options.executors === undefined) {
      refuse(problem ?? 'This agent runs no custom executors');
      return;
    }
    const custom = this.options.executors.createTask(framework, frameworkId, agentId, task, (status) => {
      record.pid = custom.pid;
      this.report(record, status);
    });
    record.custom = custom;
    record.sandbox = custom.sandbox;
    const executorId = task.executor?.executor_id.value;
    this.logger.info({ taskId, frameworkId, executorId }, 'task sent to its executor');
    custom.launch();
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
    return [...this.live.values()].map((record) => {
      const head = this.options.statusUpdates.pending(record.info.task_id.value)[0];
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
  frameworksForReregistration(): agora.v1.agent.FrameworkRecord.$Properties[] {
    const ids = new Set([...this.live.values()].map((r) => r.frameworkId));
    return [...ids].flatMap((id) => {
      const info = this.frameworks.get(id);
      return info === undefined ? [] : [{ framework_info: info }];
    });
  }

  /** Frameworks with their live and completed tasks, for `/state`. */
  snapshot(): FrameworkSnapshot[] {
    const byFramework = new Map<string, FrameworkSnapshot>();
    const entry = (id: string): FrameworkSnapshot | undefined => {
      const info = this.frameworks.get(id);
      if (info === undefined) return undefined;
      let fw = byFramework.get(id);
      if (fw === undefined) {
        fw = { id, info, live: [], completed: [] };
        byFramework.set(id, fw);
      }
      return fw;
    };
    for (const r of this.live.values()) entry(r.frameworkId)?.live.push(snapshotOf(r));
    for (const r of this.completed) entry(r.frameworkId)?.completed.push(snapshotOf(r));
    return [...byFramework.values()];
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
    const taskId = saved.info.task_id.value;
    const agentId = this.options.agentId();
    this.frameworks.set(saved.frameworkId, framework);
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
    this.live.set(taskId, record);
    for (const status of saved.pending) this.options.statusUpdates.update(saved.frameworkId, status);
    if (isTerminalState(saved.state) || saved.state === TaskState.TASK_LOST) {
      this.persist(record);
      return;
    }
    const container =
      saved.container === undefined || saved.sandbox === undefined ? undefined : recoverContainer(saved.container);
    if (container === undefined || saved.sandbox === undefined || agentId === undefined) {
      this.logger.warn({ taskId }, 'the task had no recoverable container');
      this.report(record, {
        task_id: { value: taskId },
        state: TaskState.TASK_FAILED,
        message: saved.info.executor
          ? 'The agent restarted: tasks of custom executors are not recovered'
          : 'The agent restarted while the task was launching',
        reason: TaskStatusReason.REASON_AGENT_RESTARTED,
        source: TaskStatusSource.SOURCE_AGENT,
        ...(agentId === undefined ? {} : { agent_id: { value: agentId } }),
      });
      return;
    }
    const sandbox = saved.sandbox;
    const env = buildTaskEnvironment({
      taskId,
      frameworkId: saved.frameworkId,
      executorId: taskId,
      sandbox,
      agentEndpoint: this.options.agentEndpoint(),
      hostname: this.options.hostname,
      resources: saved.info.resources ?? [],
      environment: saved.info.command?.environment,
      base: this.options.baseEnv ?? process.env,
    });
    const healthCheck = saved.info.health_check;
    const executor = new CommandExecutor({
      task: saved.info,
      framework,
      frameworkId: saved.frameworkId,
      agentId,
      containerId: saved.containerId,
      sandbox,
      env,
      containerizer: this.options.containerizer,
      logger: this.logger,
      healthCheck: healthCheck
        ? (hooks) =>
            HealthChecker.start(
              healthCheck,
              { sandbox, env },
              this.options.clock ?? systemClock,
              hooks,
              this.logger.child({ taskId }),
            )
        : undefined,
      onStatus: (status) => {
        record.pid = executor.pid;
        this.report(record, status);
      },
    });
    record.executor = executor;
    record.pid = container.pid;
    this.logger.info({ taskId, pid: container.pid, state: TaskState[saved.state] }, 'task recovered');
    executor.recover(container, saved.state);
  }

  /** A task whose checkpoint is corrupt: reported TASK_LOST (its container cannot be found). */
  recoverLostTask(framework: FrameworkInfo, taskId: string, message: string): void {
    const frameworkId = framework.id?.value ?? '';
    const agentId = this.options.agentId();
    this.frameworks.set(frameworkId, framework);
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
    this.live.set(taskId, record);
    this.report(record, {
      task_id: { value: taskId },
      state: TaskState.TASK_LOST,
      message,
      reason: TaskStatusReason.REASON_AGENT_RESTARTED,
      source: TaskStatusSource.SOURCE_AGENT,
      ...(agentId === undefined ? {} : { agent_id: { value: agentId } }),
    });
  }

  /** Usage of every running container that can report it. */
  async usage(): Promise<TaskUsage[]> {
    const out: TaskUsage[] = [];
    for (const record of this.live.values()) {
      const container = record.executor?.containerHandle;
      if (container?.usage === undefined || isTerminalState(record.state)) continue;
      try {
        const taskId = record.info.task_id.value;
        out.push({
          frameworkId: record.frameworkId,
          taskId,
          executorName: `Command Executor (Task: ${taskId}) (Command: sh -c '${record.info.command?.value ?? ''}')`,
          usage: await container.usage(),
        });
      } catch (err) {
        this.logger.debug({ err, taskId: record.info.task_id.value }, 'usage unavailable');
      }
    }
    return out;
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
        container: record.executor?.containerHandle?.checkpoint?.() ?? record.container,
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
    const partitionAware = (this.frameworks.get(frameworkId)?.capabilities ?? []).some(
      (c) => c.type === agora.v1.FrameworkInfo.Capability.Type.PARTITION_AWARE,
    );
    const status: TaskStatus = {
      task_id: { value: taskId },
      state: partitionAware ? TaskState.TASK_DROPPED : TaskState.TASK_LOST,
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

function snapshotOf(record: TaskRecord): TaskSnapshot {
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
