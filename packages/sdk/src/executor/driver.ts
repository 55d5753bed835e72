/**
 * The executor driver: what a custom executor uses to talk to its agent
 * (Mesos' v1 executor API over a WebSocket; `proto/agora/v1/executor.proto`).
 * The agent starts the executor with MESOS_FRAMEWORK_ID, MESOS_EXECUTOR_ID and
 * MESOS_AGENT_ENDPOINT (or AGORA_EXECUTOR_ENDPOINT) set; the driver connects
 * to `ws://<agent>/agora/v1/executor`, SUBSCRIBEs, and turns the agent's
 * events into `onDid*` events. Status updates carry a uuid and are kept until
 * the agent answers ACKNOWLEDGED (they are resent in a re-SUBSCRIBE).
 *
 * When the connection to the agent drops after a subscription (the agent
 * restarted, e.g. after `kill -9`), the driver keeps trying to re-subscribe,
 * for up to `recoveryTimeoutMs` (Mesos' MESOS_RECOVERY_TIMEOUT, 15 min), with
 * its launched tasks and unacknowledged updates; updates sent meanwhile are
 * kept and delivered then. Only when it gives up (or the agent refuses it)
 * does `onDidDisconnect` fire. The agent sends HEARTBEAT events
 * (`onDidReceiveHeartbeat`).
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
  /** How long to keep trying to re-subscribe after losing the agent (MESOS_RECOVERY_TIMEOUT). @default 15 min */
  recoveryTimeoutMs?: number;
  /** Longest wait between re-subscription attempts (MESOS_SUBSCRIPTION_BACKOFF_MAX). @default 2000 */
  subscriptionBackoffMaxMs?: number;
}

/** Mesos' executor defaults. */
export const DEFAULT_EXECUTOR_RECOVERY_TIMEOUT_MS = 15 * 60_000;
export const DEFAULT_SUBSCRIPTION_BACKOFF_MAX_MS = 2_000;

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  ms: 1,
  secs: 1000,
  mins: 60_000,
  hrs: 3_600_000,
  days: 86_400_000,
  weeks: 604_800_000,
};

/** A Mesos duration (`15mins`, `500ms`); throws AGORA_ERR_BAD_REQUEST naming the variable. */
function envDuration(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const m = /^(\d+(?:\.\d+)?)(ns|us|ms|secs|mins|hrs|days|weeks)$/.exec(value.trim());
  const unit = m?.[2] === undefined ? undefined : DURATION_UNITS[m[2]];
  if (m === null || unit === undefined) {
    throw new AgoraError('AGORA_ERR_BAD_REQUEST', `${name} '${value}' is not a duration such as 500ms or 15mins`);
  }
  return Number(m[1]) * unit;
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
  /** SUBSCRIBED on the current connection (frames other than SUBSCRIBE may be sent). */
  private ready = false;
  private everSubscribed = false;
  private reconnecting = false;
  /** The agent refused this executor (ERROR): no more attempts. */
  private refused = false;
  private gaveUp = false;
  /** Updates made after the last SUBSCRIBE went out and before SUBSCRIBED: sent once subscribed. */
  private readonly pendingSend = new Set<string>();

  private readonly subscribed = new Emitter<ExecutorSubscribed>();
  private readonly launch = new Emitter<agora.v1.TaskInfo>();
  private readonly kill = new Emitter<ExecutorKill>();
  private readonly message = new Emitter<Uint8Array>();
  private readonly shutdown = new Emitter<void>();
  private readonly acknowledged = new Emitter<{ taskId: string; uuid: string }>();
  private readonly error = new Emitter<string>();
  private readonly disconnect = new Emitter<void>();
  private readonly heartbeat = new Emitter<void>();

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
  /**
   * The driver lost its agent for good: the connection closed before the first
   * subscription, the agent refused it, or re-subscribing failed for
   * `recoveryTimeoutMs` (an executor usually exits then).
   */
  readonly onDidDisconnect = this.disconnect.event;
  /** A HEARTBEAT from the agent. */
  readonly onDidReceiveHeartbeat = this.heartbeat.event;

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
    const recoveryTimeoutMs = envDuration('MESOS_RECOVERY_TIMEOUT', env['MESOS_RECOVERY_TIMEOUT']);
    const backoffMaxMs = envDuration('MESOS_SUBSCRIPTION_BACKOFF_MAX', env['MESOS_SUBSCRIPTION_BACKOFF_MAX']);
    return new ExecutorDriver({
      endpoint,
      frameworkId: need('MESOS_FRAMEWORK_ID'),
      executorId: need('MESOS_EXECUTOR_ID'),
      ...(logger ? { logger } : {}),
      ...(recoveryTimeoutMs === undefined ? {} : { recoveryTimeoutMs }),
      ...(backoffMaxMs === undefined ? {} : { subscriptionBackoffMaxMs: backoffMaxMs }),
    });
  }

  /** Connect and SUBSCRIBE; resolves on SUBSCRIBED. */
  async start(): Promise<ExecutorSubscribed> {
    const subscribed = await this.subscribe();
    this.everSubscribed = true;
    return subscribed;
  }

  /** One connection: connect, SUBSCRIBE with what is unacknowledged, resolve on SUBSCRIBED. */
  private async subscribe(): Promise<ExecutorSubscribed> {
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
        err.dispose();
        resolve(s);
      });
      const err = this.error.event((m) => {
        err.dispose();
        sub.dispose();
        this.refused = true;
        reject(new AgoraError('AGORA_ERR_BAD_REQUEST', `the agent refused the executor: ${m}`));
      });
      channel.onDidClose(() => {
        sub.dispose();
        err.dispose();
        reject(new AgoraError('AGORA_ERR_CLOSED', 'the agent closed the connection'));
      });
    });
    channel.onDidReceive((event) => this.onEvent(event));
    channel.onDidClose(() => {
      if (this.channel !== channel) return;
      this.channel = undefined;
      this.ready = false;
      if (this.stopped || this.reconnecting) return;
      if (this.everSubscribed && !this.refused) void this.reconnect();
      else this.giveUp();
    });
    this.pendingSend.clear();
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
    const result = await subscribed;
    this.ready = true;
    // Updates made while the SUBSCRIBE was on its way.
    for (const key of [...this.pendingSend]) {
      const status = this.unacked.get(key);
      if (status !== undefined) channel.trySend({ ...this.ids(), type: CallType.UPDATE, update: { status } });
    }
    this.pendingSend.clear();
    return result;
  }

  /** The agent went away after a subscription: re-subscribe until it is back or the recovery timeout passes. */
  private async reconnect(): Promise<void> {
    this.reconnecting = true;
    const timeoutMs = this.options.recoveryTimeoutMs ?? DEFAULT_EXECUTOR_RECOVERY_TIMEOUT_MS;
    const maxMs = this.options.subscriptionBackoffMaxMs ?? DEFAULT_SUBSCRIPTION_BACKOFF_MAX_MS;
    const deadline = Date.now() + timeoutMs;
    this.logger.warn({ timeoutMs }, 'lost the agent; re-subscribing');
    let delay = Math.min(100, maxMs);
    while (!this.stopped && !this.refused && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, deadline - Date.now()))));
      delay = Math.min(delay * 2, maxMs);
      if (this.stopped) break;
      try {
        await this.subscribe();
        this.reconnecting = false;
        this.logger.info('re-subscribed with the agent');
        return;
      } catch (err) {
        this.logger.debug({ err: (err as Error).message }, 're-subscription attempt failed');
      }
    }
    this.reconnecting = false;
    if (!this.stopped) {
      this.logger.error({ refused: this.refused }, 'cannot re-subscribe with the agent; giving up');
      this.giveUp();
    }
  }

  /** The agent is lost for good: `onDidDisconnect`, once. */
  private giveUp(): void {
    if (this.gaveUp) return;
    this.gaveUp = true;
    this.channel?.close(1000, 'giving up');
    this.disconnect.fire();
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
    if (this.channel === undefined && !this.reconnecting) {
      throw new AgoraError('AGORA_ERR_CLOSED', 'the executor is not connected to its agent');
    }
    this.unacked.set(key, status);
    // Not subscribed right now (re-subscribing): it goes with the next SUBSCRIBE, or right after SUBSCRIBED.
    if (this.channel !== undefined && this.ready)
      this.send({ ...this.ids(), type: CallType.UPDATE, update: { status } });
    else this.pendingSend.add(key);
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
    if (this.channel === undefined || !this.ready) {
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
    } else if (event.type === EventType.HEARTBEAT) {
      this.heartbeat.fire();
    } else if (event.type === EventType.SHUTDOWN) {
      this.shutdown.fire();
    } else if (event.error) {
      this.logger.warn({ message: event.error.message }, 'error from the agent');
      this.error.fire(event.error.message);
    }
  }
}
