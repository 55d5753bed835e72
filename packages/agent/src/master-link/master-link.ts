/**
 * The agent's link to the leading master. It follows the detector, opens
 * `ws://<leader>/agora/v1/agent`, sends the registration the agent builds
 * (Register or Reregister) as the first frame, answers Ping with Pong, and
 * hands every other message to the agent once registered. When the
 * connection drops, the leader changes, no message arrives within the master
 * ping timeout, or the master answers the upgrade with 307 (not the leader),
 * it reconnects with backoff, forever, until `close()`. Tasks are not its
 * business: they keep running throughout.
 */
import {
  type Clock,
  type Disposable,
  DisposableStore,
  Emitter,
  hasErrorCode,
  type Logger,
  silentLogger,
  systemClock,
} from '@agora/common';
import type { LeaderDetector } from '@agora/coordination';
import { agora } from '@agora/proto';
import { Backoff, type BackoffOptions, connectChannel, type FrameChannel } from '@agora/transport';
import { type Endpoint, formatEndpoint, leaderEndpoint, parseEndpoint } from './leader.js';

/** The path of the agent endpoint on the master. */
export const AGENT_ENDPOINT_PATH = '/agora/v1/agent';
/** Mesos' DEFAULT_MASTER_PING_TIMEOUT: 15 s × 5. */
export const DEFAULT_MASTER_PING_TIMEOUT_MS = 75_000;

type MasterToAgent = agora.v1.agent.MasterToAgent;
type AgentToMasterProps = agora.v1.agent.AgentToMaster.$Properties;
type Channel = FrameChannel<MasterToAgent, AgentToMasterProps>;

export interface MasterLinkOptions {
  detector: LeaderDetector<unknown>;
  /** The first message of every connection (Register or Reregister), built at that moment. */
  registration: () => AgentToMasterProps;
  clock?: Clock;
  logger?: Logger;
  /** Reconnect delays. @default { initialMs: 1000, maxMs: 60000 } (Mesos: 1 s factor, doubling up to 1 min) */
  backoff?: BackoffOptions;
  /** @default 5000 */
  connectTimeoutMs?: number;
  /** Reconnect when the master sends nothing for this long. @default DEFAULT_MASTER_PING_TIMEOUT_MS */
  masterPingTimeoutMs?: number;
}

export interface Registration {
  agentId: string;
  /** The master answered with Reregistered. */
  reregistered: boolean;
  masterInfo: agora.v1.MasterInfo | null;
  /** The master's `host:port`. */
  master: string;
}

export interface Refusal {
  message: string;
  code: string | null;
}

export class MasterLink {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly backoff: Backoff;
  private readonly connectTimeoutMs: number;
  private readonly pingTimeoutMs: number;
  private readonly disposables = new DisposableStore();
  private channel: Channel | undefined;
  private channelEndpoint: string | undefined;
  private isRegistered = false;
  /** close() was called. */
  private closed = false;
  /** The loop must end (closed, or refused by the master). */
  private stopping = false;
  /** Reconnect without waiting (the leader just changed). */
  private skipNextSleep = false;
  private started = false;
  private redirect: Endpoint | undefined;
  private wake: (() => void) | undefined;
  /** Drops the current connection and ends its session at once. */
  private endSession: ((why: string) => void) | undefined;
  private loop: Promise<void> | undefined;

  private readonly registeredEmitter = new Emitter<Registration>();
  private readonly receivedEmitter = new Emitter<MasterToAgent>();
  private readonly disconnectedEmitter = new Emitter<void>();
  private readonly refusedEmitter = new Emitter<Refusal>();
  /** Registered or re-registered with a master. */
  readonly onDidRegister = this.registeredEmitter.event;
  /** A message from the master after registration (RunTask, KillTask, acks, ...). */
  readonly onDidReceive = this.receivedEmitter.event;
  /** The registered connection ended (the link is reconnecting). */
  readonly onDidDisconnect = this.disconnectedEmitter.event;
  /** The master refused this agent; the link has stopped. */
  readonly onDidRefuse = this.refusedEmitter.event;

  constructor(private readonly options: MasterLinkOptions) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger();
    this.backoff = new Backoff({ initialMs: 1000, maxMs: 60_000, ...options.backoff });
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    this.pingTimeoutMs = options.masterPingTimeoutMs ?? DEFAULT_MASTER_PING_TIMEOUT_MS;
  }

  /** Registered with a master right now. */
  get registered(): boolean {
    return this.isRegistered;
  }

  /** The master (`host:port`) of the current connection, if any. */
  get master(): string | undefined {
    return this.channelEndpoint;
  }

  /** Start following the leader and connecting. Resolves once the detector runs (not when registered). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.disposables.add(this.options.detector.onDidChangeLeader((leader) => this.onLeaderChanged(leader)));
    await this.options.detector.start();
    this.loop = this.run();
  }

  /** Send a message to the master; false when not registered or the connection is gone. */
  send(message: AgentToMasterProps): boolean {
    if (!this.isRegistered || this.channel === undefined) return false;
    return this.channel.trySend(message);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopping = true;
    this.endSession?.('agent shutting down');
    this.wakeUp();
    this.disposables.dispose();
    await this.loop;
    await this.options.detector.close();
    this.registeredEmitter.dispose();
    this.receivedEmitter.dispose();
    this.disconnectedEmitter.dispose();
    this.refusedEmitter.dispose();
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const endpoint = this.redirect ?? leaderEndpoint(this.options.detector.leader);
      this.redirect = undefined;
      if (endpoint === undefined) {
        this.logger.info('no leading master detected; waiting');
        await this.sleep(this.backoff.next());
        continue;
      }
      const address = formatEndpoint(endpoint);
      const url = `ws://${address}${AGENT_ENDPOINT_PATH}`;
      let channel: Channel;
      try {
        channel = await connectChannel(url, agora.v1.agent.MasterToAgent, agora.v1.agent.AgentToMaster, {
          timeoutMs: this.connectTimeoutMs,
        });
      } catch (err) {
        if (hasErrorCode(err, 'AGORA_ERR_NOT_LEADER')) {
          const location = (err as { data?: { location?: unknown } }).data?.location;
          const hinted = typeof location === 'string' ? parseEndpoint(location) : undefined;
          this.logger.info({ master: address, location }, 'not the leading master; detecting again');
          this.redirect = hinted;
        } else {
          this.logger.warn({ master: address, err: (err as Error).message }, 'cannot connect to the master');
        }
        await this.sleep(this.backoff.next());
        continue;
      }
      if (this.stopping) {
        channel.close(1000, 'agent shutting down');
        break;
      }
      await this.runSession(channel, address);
      if (!this.stopping) await this.sleep(this.backoff.next());
    }
  }

  /**
   * One connection: register, then serve it until it closes or is dropped
   * (ping timeout, leader change, close). A dropped connection ends the
   * session at once; its socket finishes closing on its own.
   */
  private runSession(channel: Channel, address: string): Promise<void> {
    return new Promise<void>((resolve) => {
      const session = new DisposableStore();
      this.channel = channel;
      this.channelEndpoint = address;
      let ended = false;
      const end = (why: string) => {
        if (ended) return;
        ended = true;
        session.dispose();
        if (this.endSession === drop) this.endSession = undefined;
        const wasRegistered = this.isRegistered;
        this.channel = undefined;
        this.channelEndpoint = undefined;
        this.isRegistered = false;
        this.logger.info({ master: address, why }, 'disconnected from the master');
        if (wasRegistered) this.disconnectedEmitter.fire();
        resolve();
      };
      const drop = (why: string) => {
        channel.close(1000, why);
        end(why);
      };
      this.endSession = drop;
      let pingTimer: Disposable | undefined;
      const armPingTimer = () => {
        pingTimer?.dispose();
        pingTimer = this.clock.setTimeout(() => {
          this.logger.warn({ master: address, timeoutMs: this.pingTimeoutMs }, 'no ping from the master; reconnecting');
          drop('master ping timeout');
        }, this.pingTimeoutMs);
      };
      session.add({ dispose: () => pingTimer?.dispose() });
      session.add(
        channel.onDidReceive((message) => {
          armPingTimer();
          this.onMessage(channel, address, message);
        }),
      );
      session.add(
        channel.onDidReceiveBadFrame((err) => this.logger.warn({ master: address, err: err.message }, 'bad frame')),
      );
      session.add(channel.onDidClose(({ code, reason }) => end(`closed (${code} ${reason})`)));
      armPingTimer();
      try {
        channel.send(this.options.registration());
        this.logger.info({ master: address }, 'connected; registering');
      } catch (err) {
        this.logger.warn({ master: address, err: (err as Error).message }, 'cannot send the registration');
        drop('registration failed');
      }
    });
  }

  private onMessage(channel: Channel, address: string, message: MasterToAgent): void {
    if (message.ping) {
      channel.trySend({ pong: {} });
      return;
    }
    const accepted = message.registered ?? message.reregistered;
    if (accepted) {
      this.isRegistered = true;
      this.backoff.reset();
      const registration: Registration = {
        agentId: accepted.agent_id.value,
        reregistered: message.reregistered !== null && message.reregistered !== undefined,
        masterInfo: accepted.master_info ?? null,
        master: address,
      };
      this.logger.info(
        { master: address, agentId: registration.agentId, reregistered: registration.reregistered },
        'registered',
      );
      this.registeredEmitter.fire(registration);
      return;
    }
    if (message.refused) {
      const refusal: Refusal = { message: message.refused.message, code: message.refused.code ?? null };
      this.logger.error({ master: address, ...refusal }, 'the master refused this agent; no longer connecting');
      this.stopping = true;
      this.refusedEmitter.fire(refusal);
      this.endSession?.('refused');
      this.wakeUp();
      return;
    }
    if (!this.isRegistered) {
      this.logger.warn({ master: address }, 'message before registration ignored');
      return;
    }
    this.receivedEmitter.fire(message);
  }

  private onLeaderChanged(leader: unknown): void {
    const endpoint = leaderEndpoint(leader);
    if (endpoint === undefined) {
      this.logger.info('no leading master detected');
      return;
    }
    const address = formatEndpoint(endpoint);
    this.logger.info({ master: address }, 'leading master detected');
    this.backoff.reset();
    this.skipNextSleep = true;
    if (this.channel !== undefined && this.channelEndpoint !== address) this.endSession?.('leader changed');
    this.wakeUp();
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopping || this.skipNextSleep) {
      this.skipNextSleep = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = this.clock.setTimeout(() => done(), ms);
      const done = () => {
        timer.dispose();
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      this.wake = done;
    });
  }

  private wakeUp(): void {
    this.wake?.();
  }
}
