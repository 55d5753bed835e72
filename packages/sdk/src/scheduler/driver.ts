/**
 * The scheduler driver: what a framework uses to talk to the leading master.
 *
 * It finds the leader (fixed addresses following a standby's 307, or
 * ZooKeeper), opens `ws://<leader>/agora/v1/scheduler`, SUBSCRIBEs, turns
 * events into typed callbacks and calls into frames. When the connection
 * drops, the leader moves or no event (not even a HEARTBEAT) arrives for
 * `maxMissedHeartbeats` intervals, it reconnects with backoff and
 * re-SUBSCRIBEs with the framework id it was given, until `close()`, a
 * `teardown()`, or the master says the framework is gone or replaced.
 */
import {
  AgoraError,
  type Clock,
  type Disposable,
  DisposableStore,
  Emitter,
  ERROR_CODES,
  type ErrorCode,
  type Event,
  type Logger,
  createLogger,
  hasErrorCode,
  systemClock,
  toAgoraError,
} from '@agora/common';
import {
  agora,
  type Filters,
  type FrameworkInfo,
  type OfferOperation,
  type SchedulerCall,
  type TaskInfo,
} from '@agora/proto';
import { Backoff, type ChannelClose, CLOSE_REPLACED, connectChannel, type FrameChannel } from '@agora/transport';
import * as calls from './calls.js';
import {
  DEFAULT_SCHEDULER_DRIVER_OPTIONS,
  type ExecutorMessage,
  FATAL_ERROR_CODES,
  type FailureInfo,
  SCHEDULER_PATH,
  type SchedulerDriverOptions,
  type SubscribedInfo,
} from './options.js';
import { createLeaderLocator, type LeaderLocator } from './leader-locator.js';
import { addressFromLocation, parseMasterOption } from './master-address.js';

type SchedulerChannel = FrameChannel<agora.v1.scheduler.Event, SchedulerCall>;

interface Connection {
  readonly channel: SchedulerChannel;
  readonly address: string;
  readonly store: DisposableStore;
  /** Settles when the socket is closed. */
  readonly closed: Promise<ChannelClose>;
  /** The framework id sent in this connection's SUBSCRIBE. */
  readonly sentFrameworkId: string | undefined;
  subscribed: boolean;
  errorReported: boolean;
  watchdog: Disposable | undefined;
}

type DriverState = 'idle' | 'running' | 'closed';

const EventType = agora.v1.scheduler.Event.Type;

export class SchedulerDriver {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly implicitAcks: boolean;
  private readonly connectTimeoutMs: number;
  private readonly maxMissedHeartbeats: number;
  private readonly subscribeTimeoutMs: number;
  private readonly maxRedirects: number;
  private framework: FrameworkInfo;
  private readonly backoff: Backoff;
  private readonly locator: LeaderLocator;

  private readonly subscribed = new Emitter<SubscribedInfo>();
  private readonly offers = new Emitter<agora.v1.Offer[]>();
  private readonly rescinded = new Emitter<string>();
  private readonly updated = new Emitter<agora.v1.TaskStatus>();
  private readonly messaged = new Emitter<ExecutorMessage>();
  private readonly failed = new Emitter<FailureInfo>();
  private readonly errored = new Emitter<AgoraError>();
  private readonly disconnected = new Emitter<void>();

  /** SUBSCRIBED: the framework id (new or kept) and the master. */
  readonly onDidSubscribe: Event<SubscribedInfo> = this.subscribed.event;
  readonly onDidReceiveOffers: Event<agora.v1.Offer[]> = this.offers.event;
  /** An offer id that is no longer valid. */
  readonly onDidRescindOffer: Event<string> = this.rescinded.event;
  /** A status update. With implicit acknowledgements it is acked after every listener returned without throwing. */
  readonly onDidUpdateStatus: Event<agora.v1.TaskStatus> = this.updated.event;
  readonly onDidReceiveMessage: Event<ExecutorMessage> = this.messaged.event;
  readonly onDidReceiveFailure: Event<FailureInfo> = this.failed.event;
  /** An ERROR from the master (or a replaced connection). `data.fatal` says whether the driver stopped. */
  readonly onDidReceiveError: Event<AgoraError> = this.errored.event;
  /** A subscribed connection was lost; the driver is reconnecting. */
  readonly onDidDisconnect: Event<void> = this.disconnected.event;

  private state: DriverState = 'idle';
  private knownFrameworkId: string | undefined;
  private heartbeatMs: number = DEFAULT_SCHEDULER_DRIVER_OPTIONS.heartbeatIntervalSeconds * 1000;
  private current: Connection | undefined;
  /** Connections dropped by the driver whose sockets have not finished closing. */
  private readonly lingering = new Set<Connection>();
  private attempt: Promise<void> | undefined;
  private retryTimer: Disposable | undefined;
  private started: Promise<void> | undefined;
  private settleStart: { resolve: () => void; reject: (err: AgoraError) => void } | undefined;
  private closing: Promise<void> | undefined;
  private readonly stopSignal: Promise<void>;
  private fireStop!: () => void;

  constructor(options: SchedulerDriverOptions) {
    const d = DEFAULT_SCHEDULER_DRIVER_OPTIONS;
    calls.checkFrameworkInfo(options.framework);
    const target = parseMasterOption(options.master);
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? createLogger({ component: 'scheduler-driver' });
    this.implicitAcks = options.implicitAcknowledgements ?? d.implicitAcknowledgements;
    this.connectTimeoutMs = positive('connectTimeoutMs', options.connectTimeoutMs ?? d.connectTimeoutMs);
    this.maxMissedHeartbeats = positive('maxMissedHeartbeats', options.maxMissedHeartbeats ?? d.maxMissedHeartbeats);
    this.subscribeTimeoutMs = positive('subscribeTimeoutMs', options.subscribeTimeoutMs ?? d.subscribeTimeoutMs);
    this.maxRedirects = positive('maxRedirects', options.maxRedirects ?? d.maxRedirects);
    const leaderWaitMs = positive('leaderWaitMs', options.leaderWaitMs ?? d.leaderWaitMs);
    this.backoff = new Backoff({ ...d.backoff, ...options.backoff });
    this.framework = { ...options.framework };
    const id = options.framework.id?.value;
    if (typeof id === 'string' && id !== '') this.knownFrameworkId = id;
    this.locator = createLeaderLocator(target, { leaderWaitMs, logger: this.logger });
    this.stopSignal = new Promise<void>((resolve) => {
      this.fireStop = resolve;
    });
  }

  /** The framework id, once SUBSCRIBED (or as given in `framework.id`). */
  get frameworkId(): string | undefined {
    return this.knownFrameworkId;
  }

  /** Whether the driver is subscribed on a live connection (calls can be sent). */
  get connected(): boolean {
    return this.current?.subscribed === true && this.current.channel.isOpen;
  }

  /**
   * Find the leader, connect and SUBSCRIBE. Resolves at the first SUBSCRIBED;
   * until then (and afterwards) it retries with backoff. Rejects when the
   * master refuses the subscription (ERROR) or the driver is closed first.
   */
  start(): Promise<void> {
    if (this.state === 'closed') return Promise.reject(closedError('the driver is closed'));
    if (this.started !== undefined) return this.started;
    this.state = 'running';
    this.started = new Promise<void>((resolve, reject) => {
      this.settleStart = { resolve, reject };
    });
    // A caller that does not await start() must not crash on an unhandled rejection when closing early.
    this.started.catch(() => {});
    this.locator.onDidChangeLeader((address) => this.leaderChanged(address));
    this.locator.start().then(
      () => this.connect(),
      (err: unknown) => this.fail(toAgoraError(err, 'AGORA_ERR_COORDINATION'), 'cannot start leader detection'),
    );
    return this.started;
  }

  /**
   * Disconnect without tearing the framework down: its tasks keep running
   * until the framework's failover_timeout, and a new driver with the same
   * `framework.id` takes over. Releases every timer and socket.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown(closedError('the driver was closed before it subscribed'));
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Change the FrameworkInfo (e.g. its `roles`): used for every later
   * SUBSCRIBE and, when subscribed, sent now as a SUBSCRIBE with the
   * framework id on the live connection — the master updates the framework
   * in place and answers SUBSCRIBED again (Mesos' UPDATE_FRAMEWORK).
   * `onDidSubscribe` fires again with `resubscribed`. Throws on a bad info.
   */
  updateFramework(framework: FrameworkInfo): void {
    calls.checkFrameworkInfo(framework);
    this.framework = { ...framework };
    const conn = this.current;
    if (conn?.subscribed === true && conn.channel.isOpen && this.knownFrameworkId !== undefined) {
      conn.channel.send(calls.subscribeCall(this.framework, this.knownFrameworkId));
    }
  }

  /** TEARDOWN: the master kills every task and removes the framework; then close. */
  async teardown(): Promise<void> {
    this.send(calls.teardownCall(this.knownFrameworkId ?? ''));
    this.logger.info({ frameworkId: this.knownFrameworkId }, 'framework teardown sent');
    await this.close();
  }

  /** ACCEPT the offers with one LAUNCH operation. */
  launch(offerIds: string[], tasks: TaskInfo[], filters?: Filters): void {
    this.accept(offerIds, [calls.launchOperation(tasks)], filters);
  }

  /** ACCEPT: offers (all on one agent) and operations; unused resources count as declined. */
  accept(offerIds: string[], operations: OfferOperation[], filters?: Filters): void {
    this.send(calls.acceptCall(this.knownFrameworkId ?? '', offerIds, operations, filters));
  }

  /** DECLINE offers; `filters.refuse_seconds` keeps the agent from being re-offered for that long. */
  decline(offerIds: string[], filters?: Filters): void {
    this.send(calls.declineCall(this.knownFrameworkId ?? '', offerIds, filters));
  }

  /** KILL a task; `gracePeriodMs` between SIGTERM and SIGKILL (agent default 3 s). */
  kill(taskId: string, agentId?: string, gracePeriodMs?: number): void {
    this.send(calls.killCall(this.knownFrameworkId ?? '', taskId, agentId, gracePeriodMs));
  }

  /** ACKNOWLEDGE an update's uuid. Dropped while disconnected: the agent resends the update. */
  acknowledge(agentId: string, taskId: string, uuid: Uint8Array): void {
    const call = calls.acknowledgeCall(this.knownFrameworkId ?? '', agentId, taskId, uuid);
    if (!this.connected) {
      this.logger.debug({ taskId }, 'acknowledgement dropped while disconnected; the agent will resend the update');
      return;
    }
    this.send(call);
  }

  /** RECONCILE the given tasks; `[]` asks for every non-terminal task (implicit). */
  reconcile(tasks: Array<{ taskId: string; agentId?: string }>): void {
    this.send(calls.reconcileCall(this.knownFrameworkId ?? '', tasks));
  }

  /** REVIVE offers for the roles (all when none) and clear their refuse filters. */
  revive(roles?: string[]): void {
    this.send(calls.reviveCall(this.knownFrameworkId ?? '', roles));
  }

  /** SUPPRESS offers for the roles (all when none); updates keep flowing. */
  suppress(roles?: string[]): void {
    this.send(calls.suppressCall(this.knownFrameworkId ?? '', roles));
  }

  /** MESSAGE: opaque bytes to an executor, without delivery guarantee. */
  message(agentId: string, executorId: string, data: Uint8Array): void {
    this.send(calls.messageCall(this.knownFrameworkId ?? '', agentId, executorId, data));
  }

  private send(call: SchedulerCall): void {
    const conn = this.current;
    if (conn === undefined || !conn.subscribed || !conn.channel.isOpen || this.knownFrameworkId === undefined) {
      throw closedError('not subscribed to a master; retry after onDidSubscribe');
    }
    conn.channel.send(call);
  }

  // ---- connecting ---------------------------------------------------------

  private connect(): void {
    if (this.state !== 'running' || this.attempt !== undefined || this.current !== undefined) return;
    this.attempt = this.connectOnce().finally(() => {
      this.attempt = undefined;
    });
  }

  private async connectOnce(): Promise<void> {
    let opened: { channel: SchedulerChannel; address: string };
    try {
      opened = await this.openChannel();
    } catch (err) {
      if (this.state !== 'running') return;
      const delay = this.backoff.next();
      const error = toAgoraError(err);
      this.logger.warn({ code: error.code, error: error.message, retryInMs: delay }, 'cannot reach the leading master');
      this.scheduleReconnect(delay);
      return;
    }
    const closed = new Promise<ChannelClose>((resolve) => opened.channel.onDidClose(resolve));
    if (this.state !== 'running') {
      opened.channel.close(1000, 'framework driver closed');
      await closed;
      return;
    }
    this.attach(opened.channel, opened.address, closed);
  }

  /** Try each candidate address, following 307s from standbys. */
  private async openChannel(): Promise<{ channel: SchedulerChannel; address: string }> {
    const candidates = await Promise.race([this.locator.locate(), this.stopSignal.then(() => [])]);
    let lastError: unknown = new AgoraError('AGORA_ERR_NO_LEADER', 'no master address to try');
    for (const candidate of candidates) {
      let address = candidate;
      for (let hop = 0; hop <= this.maxRedirects && this.state === 'running'; hop++) {
        const url = `ws://${address}${SCHEDULER_PATH}`;
        try {
          const channel = await connectChannel(url, agora.v1.scheduler.Event, agora.v1.scheduler.Call, {
            timeoutMs: this.connectTimeoutMs,
          });
          return { channel, address };
        } catch (err) {
          lastError = err;
          const next = hasErrorCode(err, 'AGORA_ERR_NOT_LEADER')
            ? addressFromLocation((err as AgoraError).data['location'])
            : undefined;
          if (next === undefined || next === address) break;
          this.logger.info({ from: address, to: next }, 'master is not the leader; following its redirect');
          address = next;
        }
      }
    }
    throw lastError;
  }

  private attach(channel: SchedulerChannel, address: string, closed: Promise<ChannelClose>): void {
    const conn: Connection = {
      channel,
      address,
      store: new DisposableStore(),
      closed,
      sentFrameworkId: this.knownFrameworkId,
      subscribed: false,
      errorReported: false,
      watchdog: undefined,
    };
    this.current = conn;
    conn.store.add(channel.onDidReceive((event) => this.received(conn, event)));
    conn.store.add(channel.onDidClose((close) => this.connectionClosed(conn, close)));
    conn.store.add(
      channel.onDidReceiveBadFrame((err) => this.logger.warn({ error: err.message, address }, 'bad frame from master')),
    );
    conn.store.add({ dispose: () => conn.watchdog?.dispose() });
    this.armWatchdog(conn);
    this.logger.info({ address, frameworkId: conn.sentFrameworkId }, 'connected to master; subscribing');
    channel.trySend(calls.subscribeCall(this.framework, conn.sentFrameworkId));
  }

  private scheduleReconnect(delayMs: number): void {
    if (this.state !== 'running') return;
    this.retryTimer?.dispose();
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      this.connect();
    }, delayMs);
  }

  /** No event for too long: drop this connection (without waiting for its close) and connect again. */
  private armWatchdog(conn: Connection): void {
    conn.watchdog?.dispose();
    const limitMs = conn.subscribed ? this.heartbeatMs * this.maxMissedHeartbeats : this.subscribeTimeoutMs;
    conn.watchdog = this.clock.setTimeout(() => {
      conn.watchdog = undefined;
      this.logger.warn({ address: conn.address, silentForMs: limitMs }, 'no event from the master; reconnecting');
      this.drop(conn, 'heartbeat timeout');
    }, limitMs);
  }

  private drop(conn: Connection, reason: string): void {
    if (conn !== this.current) return;
    this.current = undefined;
    conn.store.dispose();
    this.lingering.add(conn);
    void conn.closed.then(() => this.lingering.delete(conn));
    conn.channel.close(1000, reason);
    if (conn.subscribed) this.fire(this.disconnected, undefined, 'onDidDisconnect');
    this.scheduleReconnect(this.backoff.next());
  }

  private leaderChanged(address: string | undefined): void {
    const conn = this.current;
    if (address === undefined || conn === undefined || conn.address === address) return;
    this.logger.info({ from: conn.address, to: address }, 'leading master moved; reconnecting');
    this.drop(conn, 'leader changed');
  }

  private connectionClosed(conn: Connection, close: ChannelClose): void {
    if (conn !== this.current) return;
    this.current = undefined;
    conn.store.dispose();
    if (this.state !== 'running') return;
    this.logger.warn({ address: conn.address, code: close.code, reason: close.reason }, 'connection to master closed');
    if (close.code === CLOSE_REPLACED) {
      const error = new AgoraError(
        'AGORA_ERR_NOT_SUBSCRIBED',
        'framework replaced: another scheduler subscribed with this framework id',
        {
          data: { fatal: true, closeCode: close.code, reason: close.reason },
        },
      );
      if (!conn.errorReported) this.fire(this.errored, error, 'onDidReceiveError');
      void this.fail(error, 'framework replaced by another connection');
      return;
    }
    if (conn.subscribed) this.fire(this.disconnected, undefined, 'onDidDisconnect');
    this.scheduleReconnect(this.backoff.next());
  }

  // ---- events -------------------------------------------------------------

  private received(conn: Connection, event: agora.v1.scheduler.Event): void {
    if (conn !== this.current || this.state !== 'running') return;
    this.armWatchdog(conn);
    if (event.type === EventType.ERROR) {
      this.receivedError(conn, event.error);
      return;
    }
    if (event.type === EventType.SUBSCRIBED) {
      this.receivedSubscribed(conn, event.subscribed);
      return;
    }
    if (!conn.subscribed) {
      if (event.type !== EventType.HEARTBEAT) this.logger.warn({ type: event.type }, 'event before SUBSCRIBED ignored');
      return;
    }
    switch (event.type) {
      case EventType.OFFERS:
        this.fire(this.offers, event.offers?.offers ?? [], 'onDidReceiveOffers');
        return;
      case EventType.RESCIND:
        if (event.rescind?.offer_id) this.fire(this.rescinded, event.rescind.offer_id.value, 'onDidRescindOffer');
        return;
      case EventType.UPDATE:
        if (event.update?.status) this.receivedUpdate(conn, event.update.status);
        return;
      case EventType.MESSAGE:
        if (event.message) {
          const { agent_id, executor_id, data } = event.message;
          this.fire(
            this.messaged,
            { agentId: agent_id.value, executorId: executor_id.value, data },
            'onDidReceiveMessage',
          );
        }
        return;
      case EventType.FAILURE:
        this.fire(
          this.failed,
          {
            agentId: event.failure?.agent_id?.value ?? undefined,
            executorId: event.failure?.executor_id?.value ?? undefined,
            status: event.failure?.status ?? undefined,
          },
          'onDidReceiveFailure',
        );
        return;
      case EventType.HEARTBEAT:
        return;
      default:
        this.logger.warn({ type: event.type }, 'unknown event type ignored');
    }
  }

  private receivedSubscribed(conn: Connection, subscribed: agora.v1.scheduler.Event.Subscribed | null): void {
    const frameworkId = subscribed?.framework_id?.value;
    if (subscribed === null || typeof frameworkId !== 'string' || frameworkId === '') {
      this.logger.warn({ address: conn.address }, 'SUBSCRIBED without a framework id; reconnecting');
      this.drop(conn, 'bad SUBSCRIBED');
      return;
    }
    if (conn.sentFrameworkId !== undefined && conn.sentFrameworkId !== frameworkId) {
      this.logger.warn({ sent: conn.sentFrameworkId, got: frameworkId }, 'master assigned a different framework id');
    }
    const interval = subscribed.heartbeat_interval_seconds;
    this.heartbeatMs =
      (typeof interval === 'number' && interval > 0
        ? interval
        : DEFAULT_SCHEDULER_DRIVER_OPTIONS.heartbeatIntervalSeconds) * 1000;
    conn.subscribed = true;
    this.knownFrameworkId = frameworkId;
    this.framework.id = { value: frameworkId };
    this.backoff.reset();
    this.armWatchdog(conn);
    this.logger.info(
      { frameworkId, address: conn.address, resubscribed: conn.sentFrameworkId !== undefined },
      'subscribed',
    );
    this.settleStart?.resolve();
    this.settleStart = undefined;
    this.fire(
      this.subscribed,
      { frameworkId, masterInfo: subscribed.master_info ?? null, resubscribed: conn.sentFrameworkId !== undefined },
      'onDidSubscribe',
    );
  }

  private receivedUpdate(conn: Connection, status: agora.v1.TaskStatus): void {
    const handled = this.fire(this.updated, status, 'onDidUpdateStatus');
    if (!this.implicitAcks || !handled || status.uuid === null || status.uuid.length === 0) return;
    const agentId = status.agent_id?.value;
    if (typeof agentId !== 'string' || agentId === '' || this.knownFrameworkId === undefined) {
      this.logger.warn({ taskId: status.task_id?.value }, 'update with a uuid but no agent id; cannot acknowledge');
      return;
    }
    if (conn !== this.current) return;
    conn.channel.trySend(calls.acknowledgeCall(this.knownFrameworkId, agentId, status.task_id.value, status.uuid));
  }

  private receivedError(conn: Connection, error: agora.v1.scheduler.Event.Error | null): void {
    const remoteCode = error?.code ?? undefined;
    const message = error?.message ?? 'the master sent an ERROR without a message';
    // An ERROR answering SUBSCRIBE means the subscription was refused; retrying would be refused again.
    const fatal = !conn.subscribed || (remoteCode !== undefined && FATAL_ERROR_CODES.has(remoteCode));
    const code: ErrorCode =
      remoteCode !== undefined && remoteCode in ERROR_CODES ? (remoteCode as ErrorCode) : 'AGORA_ERR_NOT_SUBSCRIBED';
    const err = new AgoraError(code, message, { data: { fatal, remoteCode, address: conn.address } });
    conn.errorReported = true;
    this.logger.error({ code: err.code, error: err.message, fatal }, 'error from master');
    this.fire(this.errored, err, 'onDidReceiveError');
    if (fatal) void this.fail(err, 'master ended the subscription');
  }

  /** Fire to every listener; a throwing listener is logged. Returns false when one threw. */
  private fire<T>(emitter: Emitter<T>, value: T, name: string): boolean {
    try {
      emitter.fire(value);
      return true;
    } catch (err) {
      this.logger.error({ err, listener: name }, 'a driver listener threw');
      return false;
    }
  }

  // ---- stopping -----------------------------------------------------------

  /** Stop for good after a fatal error: start() rejects with it, close() resolves when released. */
  private fail(error: AgoraError, why: string): Promise<void> {
    this.logger.error({ code: error.code, error: error.message }, `scheduler driver stopped: ${why}`);
    this.closing ??= this.shutdown(error);
    return this.closing;
  }

  private async shutdown(startError: AgoraError): Promise<void> {
    this.state = 'closed';
    this.fireStop();
    this.retryTimer?.dispose();
    this.retryTimer = undefined;
    this.settleStart?.reject(startError);
    this.settleStart = undefined;
    await this.locator.close().catch((err: unknown) => {
      this.logger.warn({ err }, 'closing leader detection failed');
    });
    if (this.attempt !== undefined) await this.attempt;
    const conns = [...this.lingering];
    if (this.current !== undefined) conns.push(this.current);
    this.current = undefined;
    for (const conn of conns) {
      conn.store.dispose();
      conn.channel.close(1000, 'framework driver closed');
    }
    await Promise.all(conns.map((c) => c.closed));
    this.lingering.clear();
    for (const emitter of [
      this.subscribed,
      this.offers,
      this.rescinded,
      this.updated,
      this.messaged,
      this.failed,
      this.errored,
      this.disconnected,
    ] as Array<Emitter<unknown>>) {
      emitter.dispose();
    }
  }
}

function closedError(message: string): AgoraError {
  return new AgoraError('AGORA_ERR_CLOSED', message);
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new AgoraError('AGORA_ERR_BAD_REQUEST', `option ${name} must be a positive number, got ${value}`, {
      data: { option: name },
    });
  }
  return value;
}
