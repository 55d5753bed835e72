/**
 * The executor driver: what a custom executor uses to talk to its agent
 * (Mesos' v1 executor API over a WebSocket; `proto/agora/v1/executor.proto`).
 * The agent starts the executor with MESOS_FRAMEWORK_ID, MESOS_EXECUTOR_ID and
 * MESOS_AGENT_ENDPOINT (or AGORA_EXECUTOR_ENDPOINT) set; the driver connects
 * to `ws://<agent>/agora/v1/executor`, SUBSCRIBEs, and turns the agent's
 * events into `onDid*` events. Status updates carry a uuid and are kept until
 * the agent answers ACKNOWLEDGED (they are resent in a re-SUBSCRIBE).
 *
 * ```ts
 * const driver = ExecutorDriver.fromEnvironment();
 * driver.onDidLaunch((task) => {
 *   driver.sendStatusUpdate({ task_id: task.task_id, state: TaskState.TASK_RUNNING });
 *   // ... do the work ...
 *   driver.sendStatusUpdate({ task_id: task.task_id, state: TaskState.TASK_FINISHED });
 * });
 * driver.onDidShutdown(() => process.exit(0));
 * await driver.start();
 * ```
 */
import { AgoraError, Emitter, type Logger, silentLogger, uuidBytes, uuidToString } from '@agora/common';
import { agora, isTerminalState, TaskStatusSource } from '@agora/proto';
import { connectChannel, type FrameChannel } from '@agora/transport';

/** The agent's WebSocket path for executors. */
export const EXECUTOR_PATH = '/agora/v1/executor';

type ExecutorEvent = agora.v1.executor.ExecutorEvent;
type CallProps = agora.v1.executor.ExecutorCall.$Properties;
const EventType = agora.v1.executor.ExecutorEvent.Type;
const CallType = agora.v1.executor.ExecutorCall.Type;

export interface ExecutorDriverOptions {
  /** `ws://host:port/agora/v1/executor` of the agent. */
  endpoint: string;
  frameworkId: string;
  executorId: string;
  logger?: Logger;
  /** @default 5000 */
  connectTimeoutMs?: number;
}

export interface ExecutorSubscribed {
  executorInfo: agora.v1.ExecutorInfo;
  frameworkInfo: agora.v1.FrameworkInfo;
  agentId: string;
  containerId: string | undefined;
}

export interface ExecutorKill {
  taskId: string;
  /** From the kill's policy, when given. */
  gracePeriodMs: number | undefined;
}

/** A status update to send: the driver fills in uuid, timestamp, source and executor id. */
export type ExecutorStatusUpdate = Omit<agora.v1.TaskStatus.$Properties, 'uuid' | 'timestamp' | 'source'>;

export class ExecutorDriver {
  private channel: FrameChannel<ExecutorEvent, CallProps> | undefined;
  private readonly unacked = new Map<string, agora.v1.TaskStatus.$Properties>();
  private readonly launched = new Map<string, agora.v1.TaskInfo>();
  private readonly logger: Logger;
  private stopped = false;

  private readonly subscribed = new Emitter<ExecutorSubscribed>();
  private readonly launch = new Emitter<agora.v1.TaskInfo>();
  private readonly kill = new Emitter<ExecutorKill>();
  private readonly message = new Emitter<Uint8Array>();
  private readonly shutdown = new Emitter<void>();
  private readonly acknowledged = new Emitter<{ taskId: string; uuid: string }>();
  private readonly error = new Emitter<string>();
  private readonly disconnect = new Emitter<void>();

  readonly onDidSubscribe = this.subscribed.event;
  /** LAUNCH: run this task (send TASK_RUNNING, then a terminal state). */
  readonly onDidLaunch = this.launch.event;
  /** KILL: kill this task (send TASK_KILLED). */
  readonly onDidKill = this.kill.event;
  /** A framework message from the scheduler. */
  readonly onDidReceiveMessage = this.message.event;
  /** SHUTDOWN: kill every task and exit (the agent kills the executor after its grace period). */
  readonly onDidShutdown = this.shutdown.event;
  readonly onDidAcknowledge = this.acknowledged.event;
  readonly onDidReceiveError = this.error.event;
  /** The connection to the agent closed (an executor usually exits then). */
  readonly onDidDisconnect = this.disconnect.event;

  constructor(private readonly options: ExecutorDriverOptions) {
    this.logger = options.logger ?? silentLogger();
  }

  /** Options from the environment the agent gives an executor. */
  static fromEnvironment(env: NodeJS.ProcessEnv = process.env, logger?: Logger): ExecutorDriver {
    const need = (name: string) => {
      const v = env[name];
      if (v === undefined || v === '') {
        throw new AgoraError('AGORA_ERR_BAD_REQUEST', `${name} is not set: is this process started by an agent?`);
      }
      return v;
    };
    const endpoint = env['AGORA_EXECUTOR_ENDPOINT'] ?? `ws://${need('MESOS_AGENT_ENDPOINT')}${EXECUTOR_PATH}`;
    return new ExecutorDriver({
      endpoint,
      frameworkId: need('MESOS_FRAMEWORK_ID'),
      executorId: need('MESOS_EXECUTOR_ID'),
      ...(logger ? { logger } : {}),
    });
  }

  /** Connect and SUBSCRIBE; resolves on SUBSCRIBED. */
  async start(): Promise<ExecutorSubscribed> {
    const channel = await connectChannel(
      this.options.endpoint,
      agora.v1.executor.ExecutorEvent,
      agora.v1.executor.ExecutorCall,
      { timeoutMs: this.options.connectTimeoutMs ?? 5000 },
    );
    this.channel = channel;
    const subscribed = new Promise<ExecutorSubscribed>((resolve, reject) => {
      const sub = this.subscribed.event((s) => {
        sub.dispose();
        resolve(s);
      });
      const err = this.error.event((m) => {
        err.dispose();
        reject(new AgoraError('AGORA_ERR_BAD_REQUEST', `the agent refused the executor: ${m}`));
      });
      channel.onDidClose(() => reject(new AgoraError('AGORA_ERR_CLOSED', 'the agent closed the connection')));
    });
    channel.onDidReceive((event) => this.onEvent(event));
    channel.onDidClose(() => {
      if (this.channel === channel) this.channel = undefined;
      if (!this.stopped) this.disconnect.fire();
    });
    channel.send({
      ...this.ids(),
      type: CallType.SUBSCRIBE,
      subscribe: {
        unacknowledged_tasks: [...this.launched.values()].filter(
          (t) => ![...this.unacked.values()].some((u) => u.task_id.value === t.task_id.value),
        ),
        unacknowledged_updates: [...this.unacked.values()].map((status) => ({ status })),
      },
    });
    return subscribed;
  }

  /** Send a status update; returns its uuid. It is kept until the agent acknowledges it. */
  sendStatusUpdate(update: ExecutorStatusUpdate): string {
    const uuid = uuidBytes();
    const status: agora.v1.TaskStatus.$Properties = {
      ...update,
      uuid,
      timestamp: Date.now() / 1000,
      source: TaskStatusSource.SOURCE_EXECUTOR,
      executor_id: { value: this.options.executorId },
    };
    const key = uuidToString(uuid);
    this.unacked.set(key, status);
    this.send({ ...this.ids(), type: CallType.UPDATE, update: { status } });
    return key;
  }

  /** Data for the framework's scheduler. */
  sendFrameworkMessage(data: Uint8Array): void {
    this.send({ ...this.ids(), type: CallType.MESSAGE, message: { data } });
  }

  /** Updates not yet acknowledged by the agent. */
  get unacknowledgedCount(): number {
    return this.unacked.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.channel?.close(1000, 'executor stopping');
    this.channel = undefined;
  }

  private ids() {
    return {
      framework_id: { value: this.options.frameworkId },
      executor_id: { value: this.options.executorId },
    };
  }

  private send(call: CallProps): void {
    if (this.channel === undefined) {
      throw new AgoraError('AGORA_ERR_CLOSED', 'the executor is not connected to its agent');
    }
    this.channel.send(call);
  }

  private onEvent(event: ExecutorEvent): void {
    if (event.subscribed) {
      const s = event.subscribed;
      this.subscribed.fire({
        executorInfo: s.executor_info,
        frameworkInfo: s.framework_info,
        agentId: s.agent_id.value,
        containerId: s.container_id ?? undefined,
      });
    } else if (event.launch) {
      this.launched.set(event.launch.task.task_id.value, event.launch.task);
      this.launch.fire(event.launch.task);
    } else if (event.kill) {
      const ns = event.kill.kill_policy?.grace_period?.nanoseconds;
      this.kill.fire({
        taskId: event.kill.task_id.value,
        gracePeriodMs: ns === null || ns === undefined ? undefined : Number(ns) / 1e6,
      });
    } else if (event.acknowledged) {
      const key = uuidToString(event.acknowledged.uuid);
      const status = this.unacked.get(key);
      this.unacked.delete(key);
      if (status !== undefined && isTerminalState(status.state)) this.launched.delete(status.task_id.value);
      this.acknowledged.fire({ taskId: event.acknowledged.task_id.value, uuid: key });
    } else if (event.message) {
      this.message.fire(event.message.data);
    } else if (event.type === EventType.SHUTDOWN) {
      this.shutdown.fire();
    } else if (event.error) {
      this.logger.warn({ message: event.error.message }, 'error from the agent');
      this.error.fire(event.error.message);
    }
  }
}
