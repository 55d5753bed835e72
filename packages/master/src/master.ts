/**
 * The master daemon: builds the components and wires them to the HTTP server,
 * the two WebSocket endpoints and the leadership election. No business logic
 * lives here (see routing/ for how messages move between components).
 *
 *   scheduler ws ──► SchedulerCalls ──┐             ┌──► AgentManager ──► agent ws
 *                                     ├─► FrameworkManager / OfferManager / TaskTracker
 *   agent ws ─────► AgentMessages ────┘             └──► AllocationCycle (pure allocator)
 *   HTTP (koa): /state, /health, /master/redirect; standby → 307 to the leader
 */
import { createServer, type Server } from 'node:http';
import {
  type Clock,
  createLogger,
  DisposableStore,
  Emitter,
  type Event,
  IdGenerator,
  type Logger,
  newUuid,
  systemClock,
} from '@agora/common';
import { redactZkUrl } from '@agora/coordination';
import type { MasterInfo } from '@agora/proto';
import { CLOSE_NOT_LEADER } from '@agora/transport';
import { WebSocketServer } from 'ws';
import { createHttpApp } from './api/http/app.js';
import { MasterEventStream } from './api/http/events.js';
import { masterHttpDeps } from './api/http/master-deps.js';
import { handleUpgrade } from './api/upgrade.js';
import { type MasterConfig, type ResolvedMasterConfig, resolveMasterConfig } from './config.js';
import { Leadership } from './leadership.js';
import { buildMasterInfo, masterAuthority, publishedIp } from './master-info.js';
import { AgentMessages } from './routing/agent-messages.js';
import { wireComponentEvents } from './routing/component-events.js';
import { createMasterParts, type MasterParts } from './routing/parts.js';
import { SchedulerCalls } from './routing/scheduler-calls.js';
import { MasterViews } from './state/views.js';

/** Why a master stopped serving on its own (the CLI exits non-zero on it). */
export interface MasterAbort {
  code: 'AGORA_ERR_NOT_LEADER';
  reason: string;
}

export interface Master {
  /** Listen, then join the election (standalone: lead at once). */
  start(): Promise<void>;
  /** Close every connection, stop timers, leave the election. Idempotent. */
  close(): Promise<void>;
  /** The bound port (after start). */
  readonly port: number;
  /** `http://<ip>:<port>` of this master. */
  readonly url: string;
  readonly isLeader: boolean;
  readonly info: MasterInfo;
  /**
   * Fires once when this master, having led, loses leadership: it has already closed every agent and
   * scheduler connection and stopped allocating; the process should exit with a non-zero code (Mesos aborts).
   */
  readonly onDidLoseLeadership: Event<MasterAbort>;
}

export interface MasterDeps {
  clock?: Clock;
  logger?: Logger;
  /** Randomness for the allocator. @default Math.random */
  random?: () => number;
}

export function createMaster(config: MasterConfig, deps: MasterDeps = {}): Master {
  return new MasterDaemon(resolveMasterConfig(config), deps);
}

class MasterDaemon implements Master {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly ids = new IdGenerator(newUuid());
  private readonly store = new DisposableStore();
  private readonly aborted = new Emitter<MasterAbort>();
  private readonly server: Server;
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly parts: MasterParts;
  private readonly schedulerCalls: SchedulerCalls;
  private readonly agentMessages: AgentMessages;
  private readonly startTime: number;
  private readonly views: MasterViews;
  private masterInfo: MasterInfo;
  private leadership: Leadership | undefined;
  private recovery: Promise<void> | undefined;
  private electedTime: number | undefined;
  private boundPort: number;
  private stopped = false;
  private closing: Promise<void> | undefined;

  readonly onDidLoseLeadership = this.aborted.event;

  constructor(
    private readonly config: ResolvedMasterConfig,
    deps: MasterDeps,
  ) {
    this.clock = deps.clock ?? systemClock;
    this.logger = deps.logger ?? createLogger({ component: 'master' });
    this.startTime = this.clock.now();
    this.boundPort = config.port;
    this.masterInfo = this.buildInfo();
    this.parts = createMasterParts({
      config,
      clock: this.clock,
      logger: this.logger,
      ids: this.ids,
      ...(deps.random === undefined ? {} : { random: deps.random }),
      masterInfo: () => this.masterInfo,
      electedTime: () => this.electedTime,
    });
    for (const part of [
      this.parts.agents,
      this.parts.frameworks,
      this.parts.offers,
      this.parts.allocation,
      this.parts.agentLifecycle,
      this.parts.frameworkLifecycle,
      this.parts.maintenance,
    ]) {
      this.store.add(part);
    }
    this.store.add(this.parts.registrar.onDidFail((err) => this.abort(`registry: ${err.message}`)));
    this.store.add(
      this.parts.agentLifecycle.onDidExceedRemovalLimit(({ missing, expected }) =>
        this.abort(`${missing} of ${expected} agents did not re-register (over recoveryAgentRemovalLimit)`),
      ),
    );
    this.store.add(wireComponentEvents(this.parts));
    this.views = new MasterViews({
      parts: this.parts,
      config,
      clock: this.clock,
      startTime: this.startTime,
      info: () => this.masterInfo,
      leader: () => this.leadership?.leader,
      electedTime: () => this.electedTime,
      elected: () => this.isLeader,
      boundPort: () => this.boundPort,
      redactedZk: () => this.redactedZk(),
    });
    this.schedulerCalls = new SchedulerCalls(this.parts);
    this.agentMessages = new AgentMessages(this.parts);

    const events = this.store.add(
      new MasterEventStream(this.parts, {
        heartbeatIntervalSeconds: config.heartbeatIntervalSeconds,
        logger: this.logger,
      }),
    );
    const app = createHttpApp(
      masterHttpDeps({
        parts: this.parts,
        views: this.views,
        events,
        isLeader: () => this.isLeader,
        // While recovering the registry this master leads but does not serve yet: 503, not a redirect to itself.
        leaderAuthority: () => (this.recovering ? undefined : masterAuthority(this.leadership?.leader)),
      }),
    );
    this.server = createServer(app.callback());
    const upgrades = {
      wss: this.wss,
      isLeader: () => this.isLeader,
      leaderAuthority: () => masterAuthority(this.leadership?.leader),
      schedulerCalls: this.schedulerCalls,
      agentMessages: this.agentMessages,
      logger: this.logger,
    };
    this.server.on('upgrade', (req, socket, head) => handleUpgrade(upgrades, req, socket, head));
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `http://${publishedIp(this.config.host)}:${this.boundPort}`;
  }

  /** Leading, with the registry recovered (serving). */
  get isLeader(): boolean {
    return (
      !this.stopped && !this.recovering && this.parts.registrar.isRecovered && (this.leadership?.isLeader ?? false)
    );
  }

  /** Elected, but the registry is not recovered yet. */
  private get recovering(): boolean {
    return (this.leadership?.isLeader ?? false) && !this.parts.registrar.isRecovered && !this.stopped;
  }

  get info(): MasterInfo {
    return this.masterInfo;
  }

  async start(): Promise<void> {
    try {
      await this.listenAndContend();
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  private async listenAndContend(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.config.port, this.config.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address();
    if (address !== null && typeof address === 'object') this.boundPort = address.port;
    this.masterInfo = this.buildInfo();
    this.logger.info({ masterId: this.masterInfo.id, url: this.url, zk: this.redactedZk() }, 'master listening');
    const leadership = new Leadership({
      zk: this.config.zk,
      sessionTimeoutMs: this.config.zkSessionTimeoutMs,
      info: this.masterInfo,
      logger: this.logger.child({ component: 'master.leadership' }),
    });
    this.leadership = leadership;
    leadership.onDidBecomeLeader(() => {
      this.recovery = this.becomeLeader();
    });
    leadership.onDidLoseLeadership(() => this.abort('lost leadership'));
    await leadership.start();
    // Standalone: elected at once; serve only once the registry is recovered.
    await this.recovery;
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** Elected: recover the registry (which also fences off the previous leader), then serve. */
  private async becomeLeader(): Promise<void> {
    if (this.stopped) return;
    let registry: Awaited<ReturnType<typeof this.parts.registrar.recover>>;
    try {
      registry = await this.parts.registrar.recover(this.masterInfo);
    } catch (err) {
      this.logger.error({ err }, 'registry recovery failed');
      return; // The registrar's onDidFail aborts.
    }
    if (this.stopped) return;
    this.electedTime = this.clock.now();
    this.parts.agents.start();
    this.parts.allocation.start();
    this.parts.agentLifecycle.recovered(registry);
    this.parts.maintenance.start();
    this.logger.info(
      { masterId: this.masterInfo.id, registry: this.parts.registrar.location, expectedAgents: registry.agents.length },
      'leading: serving agents and frameworks',
    );
  }

  /** Stop serving after losing leadership; the owner (CLI) exits the process. */
  private abort(reason: string): void {
    if (this.stopped) return;
    this.logger.error({ reason }, 'master stops serving: it lost leadership after having led (Mesos aborts here)');
    this.stopServing('AGORA_ERR_NOT_LEADER: this master lost leadership');
    void this.leadership?.withdraw().catch((err) => this.logger.warn({ err }, 'leaving the election failed'));
    this.aborted.fire({ code: 'AGORA_ERR_NOT_LEADER', reason });
  }

  private stopServing(reason: string): void {
    this.stopped = true;
    this.parts.frameworks.closeAll(CLOSE_NOT_LEADER, reason);
    this.parts.agents.closeAll(CLOSE_NOT_LEADER, reason);
    // Connections that have not subscribed or registered yet.
    for (const client of this.wss.clients) client.close(CLOSE_NOT_LEADER, reason);
    this.store.dispose();
  }

  private async shutdown(): Promise<void> {
    if (!this.stopped) this.stopServing('master shutting down');
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await this.leadership?.close().catch((err) => this.logger.warn({ err }, 'closing the election failed'));
    await this.parts.registrar.close();
    await new Promise<void>((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    this.aborted.dispose();
    this.logger.info('master closed');
  }

  private redactedZk(): string | undefined {
    return this.config.zk === undefined ? undefined : redactZkUrl(this.config.zk);
  }

  private buildInfo(): MasterInfo {
    return buildMasterInfo({
      id: this.ids.masterId,
      host: this.config.host,
      ...(this.config.hostname === undefined ? {} : { hostname: this.config.hostname }),
      port: this.boundPort,
    });
  }
}
