/**
 * The built-in command executor (Mesos' `mesos-executor`), one per task, run
 * inside the agent: it launches the task's command through the containerizer
 * and reports TASK_STARTING, TASK_RUNNING once the process is spawned, then
 * TASK_FINISHED (exit 0), TASK_FAILED (`Command exited with status N` /
 * `Command terminated with signal X`) or, after a kill, TASK_KILLED
 * (preceded by TASK_KILLING for frameworks with the TASK_KILLING_STATE
 * capability).
 */
import { type Disposable, type Logger, silentLogger, toAgoraError } from '@agora/common';
import { agora, isTerminalState, TaskState, TaskStatusReason, TaskStatusSource } from '@agora/proto';
import {
  type Container,
  type ContainerExit,
  type Containerizer,
  describeExit,
  type VolumeMount,
} from '../containerizer/containerizer.js';
import type { CheckHooks } from '../checks/checker.js';
import { type CheckStatusInfo, checkConfig, emptyCheckStatus } from '../checks/policy.js';

/** Mesos' default kill grace period. */
export const DEFAULT_KILL_GRACE_PERIOD_MS = 3000;

export interface CommandExecutorOptions {
  task: agora.v1.TaskInfo.$Properties;
  framework: agora.v1.FrameworkInfo.$Properties;
  frameworkId: string;
  agentId: string;
  containerId: string;
  sandbox: string;
  env: Record<string, string>;
  containerizer: Containerizer;
  /** The task's persistent volumes, for the containerizer to put in the sandbox. */
  volumes?: readonly VolumeMount[] | undefined;
  /** Receives every status this executor produces, in order (without uuid and timestamp). */
  onStatus: (status: agora.v1.TaskStatus.$Properties) => void;
  logger?: Logger;
  /**
   * Runs before the command starts (the fetcher). A rejection ends the task
   * TASK_FAILED with REASON_FETCHER_FAILED and the error's message.
   */
  prepare?: (() => Promise<void>) | undefined;
  /**
   * Starts health checking once the task runs (see `health/`); the hooks report
   * health changes (TASK_RUNNING with `healthy`) and kill the task.
   */
  healthCheck?: ((hooks: HealthHooks, container: Container) => Disposable) | undefined;
  /**
   * Starts the task's generalized check (`TaskInfo.check`) once it runs (see
   * `checks/`); each new result is reported as TASK_RUNNING with `check_status`
   * and REASON_TASK_CHECK_STATUS_UPDATED. Checks never kill the task.
   */
  check?: ((hooks: CheckHooks, container: Container) => Disposable) | undefined;
}

/** How a health checker talks back to the executor. */
export interface HealthHooks {
  onHealthChange(healthy: boolean, message: string): void;
  onKill(message: string): void;
}

/** The grace period of a kill: the kill's policy, else the task's, else 3 s. */
export function killGracePeriodMs(
  task: agora.v1.TaskInfo.$Properties,
  killPolicy?: agora.v1.KillPolicy.$Properties | null,
): number {
  const ns = killPolicy?.grace_period?.nanoseconds ?? task.kill_policy?.grace_period?.nanoseconds;
  if (ns === undefined || ns === null) return DEFAULT_KILL_GRACE_PERIOD_MS;
  return Math.max(0, Math.round(Number(ns) / 1e6));
}

export class CommandExecutor {
  private currentState: TaskState = TaskState.TASK_STAGING;
  private container: Container | undefined;
  private killGraceMs: number | undefined;
  private launched = false;
  private health: Disposable | undefined;
  private checker: Disposable | undefined;
  /** The last check status reported; every later update carries it (as Mesos' executors do). */
  private checkStatus: CheckStatusInfo | undefined;
  /** Set when health checks killed the task: the TASK_KILLED message, with healthy=false. */
  private healthKillMessage: string | undefined;
  private resolveDone!: () => void;
  /** Resolves once the task has reached a terminal state. */
  readonly done: Promise<void> = new Promise((resolve) => {
    this.resolveDone = resolve;
  });
  private readonly logger: Logger;

  constructor(private readonly options: CommandExecutorOptions) {
    this.logger = (options.logger ?? silentLogger()).child({ taskId: this.taskId });
  }

  get taskId(): string {
    return this.options.task.task_id.value;
  }

  get state(): TaskState {
    return this.currentState;
  }

  get pid(): number | undefined {
    return this.container?.pid;
  }

  get isTerminal(): boolean {
    return isTerminalState(this.currentState);
  }

  /** Start the task. Never throws: a failure becomes TASK_FAILED. */
  async launch(): Promise<void> {
    if (this.launched) return;
    this.launched = true;
    const { task } = this.options;
    if (this.killGraceMs !== undefined) {
      this.report(
        TaskState.TASK_KILLED,
        'Task killed before it was launched',
        TaskStatusReason.REASON_TASK_KILLED_DURING_LAUNCH,
      );
      return;
    }
    this.report(TaskState.TASK_STARTING);
    const command = task.command;
    if (command === undefined || command === null) {
      this.report(TaskState.TASK_FAILED, 'Task has no command', TaskStatusReason.REASON_CONTAINER_LAUNCH_FAILED);
      return;
    }
    if (this.options.prepare !== undefined) {
      try {
        await this.options.prepare();
      } catch (err) {
        const error = toAgoraError(err, 'AGORA_ERR_FETCH_FAILED');
        this.logger.warn({ err: error }, 'fetching the URIs failed');
        if (!this.killedDuringLaunch()) {
          this.report(TaskState.TASK_FAILED, error.message, TaskStatusReason.REASON_FETCHER_FAILED);
        }
        return;
      }
      if (this.killedDuringLaunch()) return;
    }
    let container: Container;
    try {
      container = await this.options.containerizer.launch({
        containerId: this.options.containerId,
        sandbox: this.options.sandbox,
        command,
        env: this.options.env,
        resources: task.resources,
        volumes: this.options.volumes,
      });
    } catch (err) {
      const error = toAgoraError(err, 'AGORA_ERR_LAUNCH_FAILED');
      this.logger.warn({ err: error }, 'launch failed');
      if (this.killedDuringLaunch()) return;
      this.report(
        TaskState.TASK_FAILED,
        `Failed to launch the command: ${error.message}`,
        TaskStatusReason.REASON_CONTAINER_LAUNCH_FAILED,
      );
      return;
    }
    this.container = container;
    this.logger.info({ pid: container.pid }, 'task process started');
    if (this.killGraceMs !== undefined) {
      // Killed while launching: go straight to the kill, no RUNNING.
      void container.kill(this.killGraceMs);
    } else {
      // With a check, TASK_RUNNING carries its type and no result yet (Mesos).
      if (task.check) this.checkStatus = emptyCheckStatusOf(task.check);
      this.report(TaskState.TASK_RUNNING);
      this.startHealthChecks();
    }
    void container.exited.then((exit) => this.onExit(exit));
  }

  /**
   * Kill the task: TASK_KILLING (when the framework understands it), SIGTERM
   * to its process group, SIGKILL after the grace period, then TASK_KILLED.
   * Resolves when the task is terminal.
   */
  kill(gracePeriodMs: number): Promise<void> {
    if (this.isTerminal || this.killGraceMs !== undefined) return this.done;
    this.killGraceMs = gracePeriodMs;
    if (this.supportsKillingState() && this.container !== undefined) {
      this.report(TaskState.TASK_KILLING, `Killing the task (grace period ${gracePeriodMs} ms)`);
    }
    if (this.container !== undefined) void this.container.kill(gracePeriodMs);
    else if (!this.launched) void this.launch();
    return this.done;
  }

  /** The task's container, once launched (for usage and checkpoints). */
  get containerHandle(): Container | undefined {
    return this.container;
  }

  /**
   * Re-attach to a container recovered after an agent restart (the task was in
   * `state`): watch it again, resume health checks, finish a kill in progress.
   */
  recover(container: Container, state: TaskState): void {
    this.launched = true;
    this.currentState = state;
    this.container = container;
    if (state === TaskState.TASK_KILLING) {
      this.killGraceMs = killGracePeriodMs(this.options.task);
      void container.kill(this.killGraceMs);
    } else if (state === TaskState.TASK_RUNNING) {
      this.startHealthChecks();
    }
    void container.exited.then((exit) => this.onExit(exit));
  }

  /** Leave the process running and stop holding the agent's process open for it. */
  detach(): void {
    this.health?.dispose();
    this.checker?.dispose();
    this.container?.detach();
  }

  private startHealthChecks(): void {
    if (this.container === undefined) return;
    this.checker = this.options.check?.(
      {
        onCheckStatus: (checkStatus, message) => {
          if (this.currentState !== TaskState.TASK_RUNNING || this.killGraceMs !== undefined) return;
          this.checkStatus = checkStatus;
          this.report(TaskState.TASK_RUNNING, message, TaskStatusReason.REASON_TASK_CHECK_STATUS_UPDATED);
        },
      },
      this.container,
    );
    if (this.options.healthCheck === undefined) return;
    this.health = this.options.healthCheck(
      {
        onHealthChange: (healthy, message) => {
          if (this.currentState !== TaskState.TASK_RUNNING || this.killGraceMs !== undefined) return;
          this.report(TaskState.TASK_RUNNING, message, TaskStatusReason.REASON_TASK_HEALTH_CHECK_STATUS_UPDATED, {
            healthy,
          });
        },
        onKill: (message) => {
          if (this.isTerminal || this.killGraceMs !== undefined) return;
          this.healthKillMessage = message;
          this.logger.warn({ message }, 'killing an unhealthy task');
          void this.kill(killGracePeriodMs(this.options.task));
        },
      },
      this.container,
    );
  }

  private onExit(exit: ContainerExit): void {
    this.health?.dispose();
    this.checker?.dispose();
    if (this.healthKillMessage !== undefined && exit.limitation === undefined) {
      const reason = TaskStatusReason.REASON_TASK_HEALTH_CHECK_STATUS_UPDATED;
      this.report(TaskState.TASK_KILLED, this.healthKillMessage, reason, { healthy: false });
      return;
    }
    const message = describeExit(exit);
    this.logger.info({ code: exit.code, signal: exit.signal, killed: this.killGraceMs !== undefined }, message);
    if (exit.limitation !== undefined) {
      const reason =
        exit.limitation.kind === 'memory'
          ? TaskStatusReason.REASON_CONTAINER_LIMITATION_MEMORY
          : TaskStatusReason.REASON_CONTAINER_LIMITATION_DISK;
      this.report(TaskState.TASK_FAILED, message, reason);
      return;
    }
    if (exit.unknown === true && this.killGraceMs === undefined) {
      this.report(TaskState.TASK_FAILED, message, TaskStatusReason.REASON_EXECUTOR_TERMINATED);
      return;
    }
    if (this.killGraceMs !== undefined) this.report(TaskState.TASK_KILLED, message);
    else if (exit.code === 0) this.report(TaskState.TASK_FINISHED, message);
    else this.report(TaskState.TASK_FAILED, message);
  }

  /** A kill came while the launch was under way: report TASK_KILLED (true) or nothing (false). */
  private killedDuringLaunch(): boolean {
    if (this.killGraceMs === undefined) return false;
    this.report(TaskState.TASK_KILLED, 'Task killed during launch', TaskStatusReason.REASON_TASK_KILLED_DURING_LAUNCH);
    return true;
  }

  private supportsKillingState(): boolean {
    return (this.options.framework.capabilities ?? []).some(
      (c) => c.type === agora.v1.FrameworkInfo.Capability.Type.TASK_KILLING_STATE,
    );
  }

  private report(
    state: TaskState,
    message?: string,
    reason?: TaskStatusReason,
    extra?: Pick<agora.v1.TaskStatus.$Properties, 'healthy'>,
  ): void {
    if (this.isTerminal) return;
    this.currentState = state;
    const status: agora.v1.TaskStatus.$Properties = {
      task_id: { value: this.taskId },
      state,
      source: TaskStatusSource.SOURCE_EXECUTOR,
      agent_id: { value: this.options.agentId },
      executor_id: { value: this.taskId },
    };
    if (message !== undefined) status.message = message;
    if (reason !== undefined) status.reason = reason;
    if (extra?.healthy !== undefined && extra.healthy !== null) status.healthy = extra.healthy;
    if (this.checkStatus !== undefined) status.check_status = this.checkStatus;
    this.options.onStatus(status);
    if (isTerminalState(state)) this.resolveDone();
  }
}

function emptyCheckStatusOf(check: agora.v1.CheckInfo.$Properties): CheckStatusInfo | undefined {
  try {
    return emptyCheckStatus(checkConfig(check).kind);
  } catch {
    return undefined; // invalid checks are refused before launch
  }
}
