/**
 * One custom executor's run (its container) and the tasks on it: the
 * executor's launch, its WebSocket session (SUBSCRIBE → SUBSCRIBED, LAUNCH,
 * KILL, MESSAGE, SHUTDOWN, HEARTBEAT; UPDATE → ACKNOWLEDGED), the registration
 * and re-registration timeouts, and its end (its tasks fail).
 */
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { type Disposable, type Logger, newUuid, systemClock } from '@agora/common';
import { agora, TaskState, TaskStatusReason } from '@agora/proto';
import type { FrameChannel } from '@agora/transport';
import { latestRunLink, sandboxDir } from '../checkpoint/paths.js';
import { type Container, type ContainerUsage, describeExit, type VolumeMount } from '../containerizer/containerizer.js';
import {
  DEFAULT_EXECUTOR_HEARTBEAT_INTERVAL_MS,
  DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS,
  DEFAULT_EXECUTOR_REREGISTRATION_TIMEOUT_MS,
  DEFAULT_EXECUTOR_SHUTDOWN_GRACE_MS,
  type ExecutorManagerOptions,
  executorEnvironment,
} from './executor-options.js';
import { ExecutorVolumes } from './executor-volumes.js';
import {
  CustomExecutorTask,
  type ExecutorRunCheckpoint,
  type ExecutorRunHandle,
  fromExecutor,
} from './executor-task.js';

type TaskInfo = agora.v1.TaskInfo.$Properties;
type FrameworkInfo = agora.v1.FrameworkInfo.$Properties;
type TaskStatus = agora.v1.TaskStatus.$Properties;
export type ExecutorCall = agora.v1.executor.ExecutorCall;
export type EventProps = agora.v1.executor.ExecutorEvent.$Properties;
const EventType = agora.v1.executor.ExecutorEvent.Type;

/** One running executor (a container) and its tasks. */
export class ExecutorRun implements ExecutorRunHandle {
  readonly containerId: string;
  readonly sandbox: string;
  private container: Container | undefined;
  private channel: FrameChannel<ExecutorCall, EventProps> | undefined;
  private readonly tasks = new Map<string, CustomExecutorTask>();
  /** The volumes in the executor's container. */
  private readonly volumes: ExecutorVolumes;
  private registrationTimer: Disposable | undefined;
  private terminated = false;
  private subscribed = false;
  /** Re-attached after an agent restart; the executor has not re-subscribed yet. */
  private recovering = false;
  private heartbeat: Disposable | undefined;
  /** Kills of tasks the executor runs, made while it was not connected: sent when it subscribes. */
  private readonly pendingKills = new Map<string, number>();
  readonly exited: Promise<void>;
  private resolveExited!: () => void;

  constructor(
    /** Called once when the run has ended. */
    private readonly onTerminated: (run: ExecutorRun) => void,
    private readonly options: ExecutorManagerOptions,
    readonly info: agora.v1.ExecutorInfo.$Properties,
    readonly framework: FrameworkInfo,
    readonly frameworkId: string,
    readonly agentId: string,
    private readonly logger: Logger,
    recovered?: { containerId: string; sandbox: string; volumes?: readonly VolumeMount[] | undefined },
  ) {
    this.exited = new Promise((resolve) => {
      this.resolveExited = resolve;
    });
    this.containerId = recovered?.containerId ?? newUuid();
    this.sandbox =
      recovered?.sandbox ?? sandboxDir(options.workDir, agentId, frameworkId, this.executorId, this.containerId);
    this.volumes = new ExecutorVolumes(recovered?.volumes);
  }

  usage(): Promise<ContainerUsage> | undefined {
    if (this.terminated || this.container === undefined) return undefined;
    return this.container.usage?.();
  }

  checkpoint(): ExecutorRunCheckpoint | undefined {
    const container = this.container?.checkpoint?.();
    if (container === undefined) return undefined;
    return {
      kind: 'agora-executor/1',
      executorInfo: this.info,
      containerId: this.containerId,
      sandbox: this.sandbox,
      container,
      volumes: this.volumes.list(),
    };
  }

  get executorId(): string {
    return this.info.executor_id.value;
  }
  get pid(): number | undefined {
    return this.container?.pid;
  }
  get isTerminated(): boolean {
    return this.terminated;
  }

  addTask(
    task: TaskInfo,
    onStatus: (status: TaskStatus) => void,
    persist?: () => void,
    volumes: readonly VolumeMount[] = [],
  ): CustomExecutorTask {
    const runner = new CustomExecutorTask(task, this, onStatus, persist, volumes);
    this.tasks.set(runner.taskId, runner);
    return runner;
  }

  /** After an agent restart: volumes a task's checkpoint lists as in the container (each task file may be older). */
  knowVolumes(volumes: readonly VolumeMount[] | undefined): void {
    this.volumes.know(volumes);
  }

  /** After an agent restart: watch the executor's container again and wait for it to re-subscribe. */
  recoverContainer(container: Container): void {
    this.container = container;
    this.recovering = true;
    const timeoutMs = this.options.reregistrationTimeoutMs ?? DEFAULT_EXECUTOR_REREGISTRATION_TIMEOUT_MS;
    this.registrationTimer = (this.options.clock ?? systemClock).setTimeout(
      () => this.reregistrationTimedOut(timeoutMs),
      timeoutMs,
    );
    this.logger.info({ pid: container.pid, timeoutMs }, 'executor recovered; waiting for it to re-subscribe');
    void container.exited.then((exit) =>
      this.terminate(TaskStatusReason.REASON_EXECUTOR_TERMINATED, `Executor terminated: ${describeExit(exit)}`),
    );
  }

  async start(): Promise<void> {
    const clock = this.options.clock ?? systemClock;
    let volumes: VolumeMount[] = [];
    try {
      mkdirSync(this.sandbox, { recursive: true });
      const latest = latestRunLink(this.options.workDir, this.agentId, this.frameworkId, this.executorId);
      rmSync(latest, { force: true });
      symlinkSync(basename(this.sandbox), latest);
      const env = executorEnvironment(this.options, this.info, this.frameworkId, this.agentId, this.sandbox);
      this.registrationTimer = clock.setTimeout(
        () => this.registrationTimedOut(),
        this.options.registrationTimeoutMs ?? DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS,
      );
      // The executor's own volumes and those of the tasks given to it so far (Mesos mounts a task's
      // volumes into its executor's sandbox).
      volumes = this.volumes.missing([
        ...(this.options.volumes?.(this.info.resources ?? []) ?? []),
        ...[...this.tasks.values()].flatMap((t) => t.volumes),
      ]);
      this.container = await this.options.containerizer.launch({
        containerId: this.containerId,
        sandbox: this.sandbox,
        volumes,
        command: this.info.command ?? {},
        env,
        resources: this.info.resources ?? [],
      });
    } catch (err) {
      this.logger.warn({ err }, 'cannot launch the executor');
      this.terminate(
        TaskStatusReason.REASON_CONTAINER_LAUNCH_FAILED,
        `Failed to launch the executor: ${(err as Error).message}`,
      );
      return;
    }
    this.volumes.know(volumes);
    this.logger.info({ pid: this.container.pid, sandbox: this.sandbox }, 'executor started');
    this.persistRun();
    for (const task of this.tasks.values()) task.persist();
    void this.container.exited.then((exit) =>
      this.terminate(TaskStatusReason.REASON_EXECUTOR_TERMINATED, `Executor terminated: ${describeExit(exit)}`),
    );
  }

  /** The executor subscribed on `channel`. */
  attach(channel: FrameChannel<ExecutorCall, EventProps>, call: ExecutorCall): void {
    if (this.terminated) {
      channel.send({ type: EventType.ERROR, error: { message: 'this executor has terminated' } });
      channel.close(4403, 'executor terminated');
      return;
    }
    this.channel?.close(4409, 'replaced by a new subscription');
    this.channel = channel;
    this.subscribed = true;
    this.registrationTimer?.dispose();
    this.heartbeat?.dispose();
    const heartbeat = (this.options.clock ?? systemClock).setInterval(
      () => channel.trySend({ type: EventType.HEARTBEAT }),
      this.options.heartbeatIntervalMs ?? DEFAULT_EXECUTOR_HEARTBEAT_INTERVAL_MS,
    );
    this.heartbeat = heartbeat;
    channel.onDidClose(() => {
      heartbeat.dispose();
      if (this.channel === channel) this.channel = undefined;
    });
    channel.onDidReceive((next) => this.onCall(next));
    channel.send({
      type: EventType.SUBSCRIBED,
      subscribed: {
        executor_info: this.info,
        framework_info: this.framework,
        agent_id: { value: this.agentId },
        container_id: this.containerId,
      },
    });
    // Updates the executor still holds from before a reconnect.
    const updates = call.subscribe?.unacknowledged_updates ?? [];
    for (const update of updates) this.onUpdate(update.status);
    // Every task the executor runs is in one list or the other.
    const known = new Set([
      ...(call.subscribe?.unacknowledged_tasks ?? []).map((t) => t.task_id.value),
      ...updates.map((u) => u.status.task_id.value),
    ]);
    const recovering = this.recovering;
    this.recovering = false;
    if (recovering) this.logger.info({ tasks: known.size }, 'executor re-subscribed after the agent restart');
    for (const task of [...this.tasks.values()]) {
      if (task.isTerminal) continue;
      if (recovering && task.sent && !known.has(task.taskId)) {
        // Mesos: a recovered task the executor does not know of after a restart never reached it. (A task
        // given to the executor since the restart has not been sent yet: it is launched below.)
        this.tasks.delete(task.taskId);
        task.fail(
          this.partitionAware() ? TaskState.TASK_DROPPED : TaskState.TASK_LOST,
          TaskStatusReason.REASON_AGENT_RESTARTED,
          'The agent restarted and the executor does not know of the task',
        );
      } else if (!task.sent || !known.has(task.taskId)) {
        this.sendLaunch(task);
      }
    }
    for (const [taskId, graceMs] of this.pendingKills) {
      if (this.tasks.get(taskId)?.isTerminal === false) this.sendKill(taskId, graceMs);
    }
    this.pendingKills.clear();
  }

  launchTask(task: CustomExecutorTask): void {
    if (this.channel !== undefined && this.subscribed) this.sendLaunch(task);
  }

  killTask(task: CustomExecutorTask, gracePeriodMs: number): void {
    if (task.sent && this.channel === undefined && !this.terminated) {
      // The executor runs it but is not connected (reconnecting, or re-subscribing after an agent restart).
      this.pendingKills.set(task.taskId, gracePeriodMs);
      return;
    }
    if (!task.sent || this.channel === undefined) {
      this.tasks.delete(task.taskId);
      task.fail(
        TaskState.TASK_KILLED,
        TaskStatusReason.REASON_TASK_KILLED_DURING_LAUNCH,
        'Task killed before the executor received it',
      );
      return;
    }
    this.sendKill(task.taskId, gracePeriodMs);
  }

  private sendKill(taskId: string, gracePeriodMs: number): void {
    this.channel?.send({
      type: EventType.KILL,
      kill: {
        task_id: { value: taskId },
        kill_policy: { grace_period: { nanoseconds: gracePeriodMs * 1e6 } },
      },
    });
  }

  message(data: Uint8Array): boolean {
    if (this.channel === undefined) return false;
    this.channel.send({ type: EventType.MESSAGE, message: { data } });
    return true;
  }

  /** SHUTDOWN, then kill the container after the shutdown grace period. */
  async shutdown(): Promise<void> {
    if (this.terminated) return;
    this.channel?.trySend({ type: EventType.SHUTDOWN });
    const graceMs = this.options.shutdownGraceMs ?? DEFAULT_EXECUTOR_SHUTDOWN_GRACE_MS;
    if (this.container !== undefined) await this.container.kill(graceMs);
    await this.exited;
  }

  detach(): void {
    this.registrationTimer?.dispose();
    this.heartbeat?.dispose();
    this.container?.detach();
  }

  private sendLaunch(task: CustomExecutorTask): void {
    if (!this.mountVolumes(task)) return;
    task.sent = true;
    this.channel?.send({ type: EventType.LAUNCH, launch: { task: task.task } });
  }

  /** Checkpoint the run by itself (recovered after an agent restart even without tasks). */
  private persistRun(): void {
    const cp = this.checkpoint();
    if (cp === undefined || this.terminated) return;
    try {
      this.options.checkpoint?.writeExecutor(this.frameworkId, cp);
    } catch (err) {
      this.logger.error({ err }, 'cannot checkpoint the executor');
    }
  }

  /** Put the task's volumes into the executor's container (once each). False when that failed (the task failed). */
  private mountVolumes(task: CustomExecutorTask): boolean {
    if (task.volumes.length === 0) return true;
    try {
      if (this.volumes.addTo(this.container, this.sandbox, task.volumes).length === 0) return true;
      this.persistRun(); // the checkpoints now list the new volumes
      task.persist();
      return true;
    } catch (err) {
      this.logger.warn({ err, taskId: task.taskId }, "cannot put the task's volumes into the executor's sandbox");
      this.tasks.delete(task.taskId);
      task.fail(
        TaskState.TASK_FAILED,
        TaskStatusReason.REASON_CONTAINER_UPDATE_FAILED,
        `Cannot mount the task's volumes into the executor's sandbox: ${(err as Error).message}`,
      );
      return false;
    }
  }

  private onCall(call: ExecutorCall): void {
    if (call.update) this.onUpdate(call.update.status);
    else if (call.message) {
      this.options.sendToMaster({
        executor_message: {
          framework_id: { value: this.frameworkId },
          executor_id: { value: this.executorId },
          data: call.message.data,
        },
      });
    } else if (call.subscribe) {
      this.logger.warn('a second SUBSCRIBE on one connection ignored');
    }
  }

  private onUpdate(status: agora.v1.TaskStatus): void {
    const task = this.tasks.get(status.task_id.value);
    const uuid = status.uuid;
    if (task === undefined) {
      this.logger.warn({ taskId: status.task_id.value }, 'update for a task this executor does not run ignored');
    } else {
      task.report(fromExecutor(status, this.agentId, this.executorId));
      if (task.isTerminal) this.tasks.delete(task.taskId);
    }
    if (uuid !== null && uuid.length > 0) {
      this.channel?.trySend({ type: EventType.ACKNOWLEDGED, acknowledged: { task_id: status.task_id, uuid } });
    }
  }

  private registrationTimedOut(): void {
    if (this.subscribed || this.terminated) return;
    this.logger.warn('the executor did not subscribe in time; killing it');
    const message = 'Executor did not register within the registration timeout';
    this.failAll(TaskState.TASK_FAILED, TaskStatusReason.REASON_EXECUTOR_REGISTRATION_TIMEOUT, message);
    void this.container?.kill(0);
  }

  private reregistrationTimedOut(timeoutMs: number): void {
    if (this.subscribed || this.terminated) return;
    this.logger.warn({ timeoutMs }, 'the recovered executor did not re-subscribe in time; killing it');
    const message = `Executor did not reregister within ${timeoutMs} ms`;
    const state = this.partitionAware() ? TaskState.TASK_GONE : TaskState.TASK_LOST;
    this.failAll(state, TaskStatusReason.REASON_EXECUTOR_REREGISTRATION_TIMEOUT, message);
    void this.container?.kill(0);
  }

  /** Every task of the run fails (it is no longer the run's). */
  private failAll(state: TaskState, reason: TaskStatusReason, message: string): void {
    for (const task of this.tasks.values()) task.fail(state, reason, message);
    this.tasks.clear();
  }

  private partitionAware(): boolean {
    return (this.framework.capabilities ?? []).some(
      (c) => c.type === agora.v1.FrameworkInfo.Capability.Type.PARTITION_AWARE,
    );
  }

  private terminate(reason: TaskStatusReason, message: string): void {
    if (this.terminated) return;
    this.terminated = true;
    this.registrationTimer?.dispose();
    this.heartbeat?.dispose();
    this.channel?.close(1000, 'executor terminated');
    this.failAll(TaskState.TASK_FAILED, reason, message);
    try {
      this.options.checkpoint?.removeExecutor(this.frameworkId, this.executorId);
    } catch (err) {
      this.logger.error({ err }, 'cannot remove the executor checkpoint');
    }
    this.onTerminated(this);
    this.logger.info({ reason: TaskStatusReason[reason], message }, 'executor terminated');
    this.resolveExited();
  }
}
