/**
 * Custom executors (Mesos' executor API, over a WebSocket): a task whose
 * TaskInfo has an `executor` with a command runs on that executor. The agent
 * starts the executor once per (framework, executor id) in its own sandbox
 * (`executors/<executor id>/runs/<container>`) through the containerizer; the
 * executor connects back to `ws://<MESOS_AGENT_ENDPOINT>/agora/v1/executor`
 * and SUBSCRIBEs, then receives LAUNCH / KILL / MESSAGE / SHUTDOWN and sends
 * UPDATEs (answered ACKNOWLEDGED once the agent's status update manager holds
 * them) and MESSAGEs (forwarded to the framework through the master).
 *
 * An executor that does not subscribe within `registrationTimeoutMs` (Mesos'
 * `--executor_registration_timeout`, 1 min) is killed and its tasks fail
 * (REASON_EXECUTOR_REGISTRATION_TIMEOUT); when an executor exits, its tasks
 * that are not terminal fail (REASON_EXECUTOR_TERMINATED).
 */
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { basename } from 'node:path';
import type { Duplex } from 'node:stream';
import { type Clock, type Disposable, type Logger, newUuid, silentLogger, systemClock } from '@agora/common';
import { agora, isTerminalState, TaskState, TaskStatusReason, TaskStatusSource } from '@agora/proto';
import { type FrameChannel, wrapSocket } from '@agora/transport';
import { WebSocketServer } from 'ws';
import { latestRunLink, sandboxDir } from '../checkpoint/paths.js';
import { type Container, type Containerizer, describeExit } from '../containerizer/containerizer.js';
import { buildTaskEnvironment } from '../containerizer/environment.js';

/** The agent's WebSocket path for executors. */
export const EXECUTOR_PATH = '/agora/v1/executor';
/** Mesos' `--executor_registration_timeout`. */
export const DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS = 60_000;
/** Mesos' `--executor_shutdown_grace_period`. */
export const DEFAULT_EXECUTOR_SHUTDOWN_GRACE_MS = 5_000;

type TaskInfo = agora.v1.TaskInfo.$Properties;
type FrameworkInfo = agora.v1.FrameworkInfo.$Properties;
type TaskStatus = agora.v1.TaskStatus.$Properties;
type ExecutorCall = agora.v1.executor.ExecutorCall;
type EventProps = agora.v1.executor.ExecutorEvent.$Properties;
const EventType = agora.v1.executor.ExecutorEvent.Type;

export interface ExecutorManagerOptions {
  workDir: string;
  agentId: () => string | undefined;
  agentEndpoint: () => string;
  hostname: string;
  containerizer: Containerizer;
  /** Forward an executor's message to the master. */
  sendToMaster: (message: agora.v1.agent.AgentToMaster.$Properties) => boolean;
  baseEnv?: Readonly<Record<string, string | undefined>>;
  clock?: Clock;
  logger?: Logger;
  /** @default DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS */
  registrationTimeoutMs?: number;
  /** @default DEFAULT_EXECUTOR_SHUTDOWN_GRACE_MS */
  shutdownGraceMs?: number;
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
    private readonly run: ExecutorRun,
    private readonly onStatus: (status: TaskStatus) => void,
  ) {}

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

/** One running executor (a container) and its tasks. */
class ExecutorRun {
  readonly containerId = newUuid();
  readonly sandbox: string;
  private container: Container | undefined;
  private channel: FrameChannel<ExecutorCall, EventProps> | undefined;
  private readonly tasks = new Map<string, CustomExecutorTask>();
  private registrationTimer: Disposable | undefined;
  private terminated = false;
  private subscribed = false;
  readonly exited: Promise<void>;
  private resolveExited!: () => void;

  constructor(
    private readonly manager: ExecutorManager,
    private readonly options: ExecutorManagerOptions,
    readonly info: agora.v1.ExecutorInfo.$Properties,
    readonly framework: FrameworkInfo,
    readonly frameworkId: string,
    readonly agentId: string,
    private readonly logger: Logger,
  ) {
    this.exited = new Promise((resolve) => {
      this.resolveExited = resolve;
    });
    this.sandbox = sandboxDir(options.workDir, agentId, frameworkId, this.executorId, this.containerId);
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

  addTask(task: TaskInfo, onStatus: (status: TaskStatus) => void): CustomExecutorTask {
    const runner = new CustomExecutorTask(task, this, onStatus);
    this.tasks.set(runner.taskId, runner);
    return runner;
  }

  async start(firstTask: TaskInfo): Promise<void> {
    const clock = this.options.clock ?? systemClock;
    try {
      mkdirSync(this.sandbox, { recursive: true });
      const latest = latestRunLink(this.options.workDir, this.agentId, this.frameworkId, this.executorId);
      rmSync(latest, { force: true });
      symlinkSync(basename(this.sandbox), latest);
      const env = buildTaskEnvironment({
        taskId: firstTask.task_id.value,
        frameworkId: this.frameworkId,
        executorId: this.executorId,
        sandbox: this.sandbox,
        agentEndpoint: this.options.agentEndpoint(),
        hostname: this.options.hostname,
        resources: this.info.resources ?? [],
        environment: this.info.command?.environment,
        base: this.options.baseEnv ?? process.env,
      });
      delete env['MESOS_TASK_ID']; // an executor runs many tasks
      env['MESOS_AGENT_ID'] = this.agentId;
      env['AGORA_EXECUTOR_ENDPOINT'] = `ws://${this.options.agentEndpoint()}${EXECUTOR_PATH}`;
      this.registrationTimer = clock.setTimeout(
        () => this.registrationTimedOut(),
        this.options.registrationTimeoutMs ?? DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS,
      );
      this.container = await this.options.containerizer.launch({
        containerId: this.containerId,
        sandbox: this.sandbox,
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
    this.logger.info({ pid: this.container.pid, sandbox: this.sandbox }, 'executor started');
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
    channel.onDidClose(() => {
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
    for (const update of call.subscribe?.unacknowledged_updates ?? []) this.onUpdate(update.status);
    const known = new Set((call.subscribe?.unacknowledged_tasks ?? []).map((t) => t.task_id.value));
    for (const task of this.tasks.values()) {
      if (!task.isTerminal && (!task.sent || !known.has(task.taskId))) this.sendLaunch(task);
    }
  }

  launchTask(task: CustomExecutorTask): void {
    if (this.channel !== undefined && this.subscribed) this.sendLaunch(task);
  }

  killTask(task: CustomExecutorTask, gracePeriodMs: number): void {
    if (!task.sent || this.channel === undefined) {
      this.tasks.delete(task.taskId);
      task.fail(
        TaskState.TASK_KILLED,
        TaskStatusReason.REASON_TASK_KILLED_DURING_LAUNCH,
        'Task killed before the executor received it',
      );
      return;
    }
    this.channel.send({
      type: EventType.KILL,
      kill: {
        task_id: { value: task.taskId },
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
    this.container?.detach();
  }

  private sendLaunch(task: CustomExecutorTask): void {
    task.sent = true;
    this.channel?.send({ type: EventType.LAUNCH, launch: { task: task.task } });
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
      const forwarded: TaskStatus = {
        task_id: { value: status.task_id.value },
        state: status.state,
        source: TaskStatusSource.SOURCE_EXECUTOR,
        agent_id: { value: this.agentId },
        executor_id: { value: this.executorId },
      };
      if (uuid !== null && uuid.length > 0) forwarded.uuid = uuid;
      if (status.message !== null) forwarded.message = status.message;
      if (status.reason !== null) forwarded.reason = status.reason;
      if (status.data !== null) forwarded.data = status.data;
      if (status.healthy !== null) forwarded.healthy = status.healthy;
      if (status.labels !== null) forwarded.labels = status.labels;
      task.report(forwarded);
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
    for (const task of this.tasks.values()) {
      task.fail(TaskState.TASK_FAILED, TaskStatusReason.REASON_EXECUTOR_REGISTRATION_TIMEOUT, message);
    }
    this.tasks.clear();
    void this.container?.kill(0);
  }

  private terminate(reason: TaskStatusReason, message: string): void {
    if (this.terminated) return;
    this.terminated = true;
    this.registrationTimer?.dispose();
    this.channel?.close(1000, 'executor terminated');
    for (const task of this.tasks.values()) task.fail(TaskState.TASK_FAILED, reason, message);
    this.tasks.clear();
    this.manager.forget(this);
    this.logger.info({ reason: TaskStatusReason[reason], message }, 'executor terminated');
    this.resolveExited();
  }
}

export class ExecutorManager {
  private readonly runs = new Map<string, ExecutorRun>();
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly logger: Logger;

  constructor(private readonly options: ExecutorManagerOptions) {
    this.logger = options.logger ?? silentLogger();
  }

  /** For the agent's HTTP server: take WebSocket upgrades on EXECUTOR_PATH. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if ((req.url ?? '').split('?')[0] !== EXECUTOR_PATH) return false;
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const channel = wrapSocket(ws, agora.v1.executor.ExecutorCall, agora.v1.executor.ExecutorEvent, 'executor');
      const first = channel.onDidReceive((call) => {
        first.dispose();
        this.onFirstCall(channel, call);
      });
    });
    return true;
  }

  /** Run `task` on its executor, starting the executor if needed. The task manager calls `launch()` next. */
  createTask(
    framework: FrameworkInfo,
    frameworkId: string,
    agentId: string,
    task: TaskInfo,
    onStatus: (status: TaskStatus) => void,
  ): CustomExecutorTask {
    const info = task.executor as agora.v1.ExecutorInfo.$Properties;
    const key = `${frameworkId}/${info.executor_id.value}`;
    let run = this.runs.get(key);
    if (run === undefined || run.isTerminated) {
      run = new ExecutorRun(
        this,
        this.options,
        info,
        framework,
        frameworkId,
        agentId,
        this.logger.child({ executorId: info.executor_id.value, frameworkId }),
      );
      this.runs.set(key, run);
      const runner = run.addTask(task, onStatus);
      void run.start(task);
      return runner;
    }
    return run.addTask(task, onStatus);
  }

  /** A framework message from the master for an executor. */
  frameworkMessage(frameworkId: string, executorId: string, data: Uint8Array): boolean {
    const run = this.runs.get(`${frameworkId}/${executorId}`);
    if (run === undefined || !run.message(data)) {
      this.logger.warn({ frameworkId, executorId }, 'framework message for an executor that is not connected dropped');
      return false;
    }
    return true;
  }

  /** Shut down the framework's executors. */
  shutdownFramework(frameworkId: string): Promise<void> {
    const runs = [...this.runs.values()].filter((r) => r.frameworkId === frameworkId);
    return Promise.all(runs.map((r) => r.shutdown())).then(() => undefined);
  }

  /** Shut down every executor and wait until all have exited. */
  async shutdownAll(): Promise<void> {
    await Promise.all([...this.runs.values()].map((r) => r.shutdown()));
  }

  detachAll(): void {
    for (const run of this.runs.values()) run.detach();
  }

  /** Sandboxes of running executors (never garbage-collected). */
  sandboxes(): string[] {
    return [...this.runs.values()].filter((r) => !r.isTerminated).map((r) => r.sandbox);
  }

  /** Close the WebSocket side. */
  dispose(): void {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }

  /** @internal an executor run ended. */
  forget(run: ExecutorRun): void {
    const key = `${run.frameworkId}/${run.executorId}`;
    if (this.runs.get(key) === run) this.runs.delete(key);
  }

  private onFirstCall(channel: FrameChannel<ExecutorCall, EventProps>, call: ExecutorCall): void {
    const key = `${call.framework_id.value}/${call.executor_id.value}`;
    const run = this.runs.get(key);
    if (call.subscribe === null || run === undefined) {
      const why =
        call.subscribe === null
          ? 'the first call must be SUBSCRIBE'
          : `no executor '${call.executor_id.value}' of framework '${call.framework_id.value}' on this agent`;
      channel.send({ type: EventType.ERROR, error: { message: why } });
      channel.close(4403, why.slice(0, 100));
      return;
    }
    run.attach(channel, call);
  }
}
