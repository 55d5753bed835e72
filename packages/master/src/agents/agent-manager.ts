/**
 * AgentManager: the agents registered with this master, their WebSocket
 * channels, total resources and attributes, and their health (the master pings
 * every `pingIntervalMs`; an agent that misses `maxPingTimeouts` pongs in a
 * row — connected but silent, or disconnected — has timed out: it is
 * deactivated and `onDidTimeOutAgent` fires once, after which the agent
 * lifecycle marks it unreachable and removes it).
 *
 * It owns agent records only. What runs on an agent (tasks) is the
 * TaskTracker's; what is offered from it, the OfferManager's.
 */
import {
  AgoraError,
  type Clock,
  type Disposable,
  DisposableStore,
  Emitter,
  type IdGenerator,
  type Logger,
  Resources,
} from '@agora/common';
import type { AgentInfo, Attribute, agora, MasterToAgent } from '@agora/proto';
import { CLOSE_REPLACED, type FrameChannel } from '@agora/transport';
import { closeConnections } from '../connections.js';

/** AgentInfo.domain (Mesos' DomainInfo: fault_domain.region.name / zone.name). */
export type DomainInfo = agora.v1.DomainInfo.$Properties;

export type AgentChannel = FrameChannel<agora.v1.agent.AgentToMaster, MasterToAgent>;

export interface AgentRecord {
  readonly id: string;
  hostname: string;
  port: number;
  /** The agent's IPv4 as seen by the master (from the socket), when known. */
  ip: string | undefined;
  total: Resources;
  attributes: Attribute[];
  /** The agent's fault domain (AgentInfo.domain), when it reports one. */
  domain: DomainInfo | undefined;
  version: string;
  channel: AgentChannel | undefined;
  /** A live WebSocket is bound to this agent. */
  connected: boolean;
  /** Connected and answering pings: its resources may be offered. */
  active: boolean;
  /** ms epoch */
  registeredTime: number;
  reregisteredTime: number | undefined;
  disconnectedTime: number | undefined;
  /** Pings sent since the last pong. */
  missedPongs: number;
  /** It missed `maxPingTimeouts` pongs; it is being marked unreachable. */
  timedOut?: boolean;
}

export interface AgentManagerOptions {
  clock: Clock;
  logger: Logger;
  ids: IdGenerator;
  /** Ping interval (Mesos agent_ping_timeout). */
  pingIntervalMs: number;
  /** Missed pongs before the agent is marked inactive (Mesos max_agent_ping_timeouts). */
  maxPingTimeouts: number;
}

/** Why an agent stopped being offerable. */
export type AgentDeactivation = 'DISCONNECTED' | 'PING_TIMEOUT' | 'REPLACED' | 'REMOVED';

export class AgentManager implements Disposable {
  private readonly agents = new Map<string, AgentRecord>();
  private readonly store = new DisposableStore();
  private readonly added = new Emitter<{ agent: AgentRecord; reregistered: boolean }>();
  private readonly deactivated = new Emitter<{ agent: AgentRecord; reason: AgentDeactivation }>();
  private readonly reactivated = new Emitter<AgentRecord>();
  private readonly timedOutEmitter = new Emitter<AgentRecord>();
  private readonly disconnectedEmitter = new Emitter<AgentRecord>();

  /** An agent registered, re-registered or reconnected (its resources can be offered). */
  readonly onDidAddAgent = this.added.event;
  /** An agent became inactive (disconnected or stopped answering pings). */
  readonly onDidDeactivateAgent = this.deactivated.event;
  /** An inactive but connected agent answered a ping again. */
  readonly onDidReactivateAgent = this.reactivated.event;
  /** An agent missed `maxPingTimeouts` pongs in a row (fires once per agent record). */
  readonly onDidTimeOutAgent = this.timedOutEmitter.event;
  /** An agent's connection broke (its current channel closed), whether or not it was active. */
  readonly onDidDisconnectAgent = this.disconnectedEmitter.event;

  constructor(private readonly options: AgentManagerOptions) {}

  start(): void {
    this.store.add(this.options.clock.setInterval(() => this.pingAll(), this.options.pingIntervalMs));
  }

  get(id: string): AgentRecord | undefined {
    return this.agents.get(id);
  }

  all(): AgentRecord[] {
    return [...this.agents.values()];
  }

  /** A fresh agent id (for an agent admitted to the registry before its record is made). */
  newAgentId(): string {
    return this.options.ids.agentId();
  }

  /**
   * A new agent (Register): under `id` when given (already admitted to the registry), else a fresh id.
   * Throws AGORA_ERR_BAD_RESOURCES / _BAD_REQUEST and changes nothing.
   */
  register(
    channel: AgentChannel,
    info: agora.v1.AgentInfo,
    version: string,
    ip: string | undefined,
    id?: string,
  ): AgentRecord {
    const total = checkAgentInfo(info);
    const existing = info.id?.value ? this.agents.get(info.id.value) : undefined;
    if (existing !== undefined) {
      // A Register carrying a known id is a reconnect; treat it like a re-registration.
      return this.reregister(channel, info, version, ip).agent;
    }
    const now = this.options.clock.now();
    const agent: AgentRecord = {
      id: id ?? this.options.ids.agentId(),
      hostname: info.hostname,
      port: info.port ?? 5051,
      ip,
      total,
      attributes: [...info.attributes],
      domain: domainOf(info),
      version,
      channel,
      connected: true,
      active: true,
      registeredTime: now,
      reregisteredTime: undefined,
      disconnectedTime: undefined,
      missedPongs: 0,
    };
    this.agents.set(agent.id, agent);
    this.options.logger.info(
      { agentId: agent.id, hostname: agent.hostname, port: agent.port, resources: total.toString() },
      'agent registered',
    );
    this.added.fire({ agent, reregistered: false });
    return agent;
  }

  /**
   * A known agent (Reregister, with its id): after a master failover the id is new to this master and the
   * agent is admitted under it; after a reconnect the record is updated and the new channel replaces the old.
   */
  reregister(
    channel: AgentChannel,
    info: agora.v1.AgentInfo,
    version: string,
    ip: string | undefined,
  ): { agent: AgentRecord; known: boolean } {
    const id = info.id?.value;
    if (!id) throw new AgoraError('AGORA_ERR_BAD_REQUEST', 'Reregister must carry agent_info.id');
    const total = checkAgentInfo(info);
    const now = this.options.clock.now();
    const existing = this.agents.get(id);
    if (existing !== undefined) {
      const old = existing.channel;
      if (old !== undefined && old !== channel && old.isOpen) {
        this.options.logger.warn({ agentId: id }, 'agent connected again; closing its previous connection');
        existing.channel = undefined;
        old.close(CLOSE_REPLACED, 'AGORA_ERR_BAD_REQUEST: replaced by a newer connection of the same agent');
      }
      existing.hostname = info.hostname;
      existing.port = info.port ?? existing.port;
      existing.ip = ip ?? existing.ip;
      existing.total = total;
      existing.attributes = [...info.attributes];
      existing.domain = domainOf(info);
      existing.version = version;
      existing.channel = channel;
      existing.connected = true;
      existing.active = true;
      existing.reregisteredTime = now;
      existing.disconnectedTime = undefined;
      existing.missedPongs = 0;
      existing.timedOut = false;
      this.options.logger.info({ agentId: id }, 'agent re-registered');
      this.added.fire({ agent: existing, reregistered: true });
      return { agent: existing, known: true };
    }
    const agent: AgentRecord = {
      id,
      hostname: info.hostname,
      port: info.port ?? 5051,
      ip,
      total,
      attributes: [...info.attributes],
      domain: domainOf(info),
      version,
      channel,
      connected: true,
      active: true,
      registeredTime: now,
      reregisteredTime: now,
      disconnectedTime: undefined,
      missedPongs: 0,
    };
    this.agents.set(id, agent);
    this.options.logger.info(
      { agentId: id, hostname: agent.hostname, resources: total.toString() },
      'agent re-registered (new to this master)',
    );
    this.added.fire({ agent, reregistered: true });
    return { agent, known: false };
  }

  /** The channel closed: if it is still the agent's channel, mark the agent disconnected and inactive. */
  disconnected(agentId: string, channel: AgentChannel): void {
    const agent = this.agents.get(agentId);
    if (agent === undefined || agent.channel !== channel) return;
    agent.channel = undefined;
    agent.connected = false;
    agent.disconnectedTime = this.options.clock.now();
    const wasActive = agent.active;
    agent.active = false;
    this.options.logger.warn({ agentId }, 'agent disconnected; its tasks are kept until it re-registers');
    if (wasActive) this.deactivated.fire({ agent, reason: 'DISCONNECTED' });
    this.disconnectedEmitter.fire(agent);
  }

  pong(agentId: string): void {
    const agent = this.agents.get(agentId);
    if (agent === undefined || agent.timedOut === true) return;
    agent.missedPongs = 0;
    if (!agent.active && agent.connected) {
      agent.active = true;
      this.options.logger.info({ agentId }, 'agent answers pings again; active');
      this.reactivated.fire(agent);
    }
  }

  /**
   * Forget an agent (marked unreachable or gone): its record is deleted and its connection, if any, closed with
   * `code` (an unreachable agent reconnects and re-registers; a gone one is refused). Returns the record.
   */
  remove(agentId: string, code: number, reason: string): AgentRecord | undefined {
    const agent = this.agents.get(agentId);
    if (agent === undefined) return undefined;
    this.agents.delete(agentId);
    const channel = agent.channel;
    const wasActive = agent.active;
    agent.channel = undefined;
    agent.connected = false;
    agent.active = false;
    if (wasActive) this.deactivated.fire({ agent, reason: 'REMOVED' });
    channel?.close(code, reason);
    return agent;
  }

  /** Send to an agent; false when it is not connected. */
  send(agentId: string, message: MasterToAgent): boolean {
    const channel = this.agents.get(agentId)?.channel;
    return channel?.trySend(message) ?? false;
  }

  /** Close every agent connection (shutdown or loss of leadership). */
  closeAll(code: number, reason: string): void {
    closeConnections(this.agents.values(), code, reason);
  }

  dispose(): void {
    this.store.dispose();
    this.added.dispose();
    this.deactivated.dispose();
    this.reactivated.dispose();
    this.timedOutEmitter.dispose();
    this.disconnectedEmitter.dispose();
  }

  private pingAll(): void {
    for (const agent of [...this.agents.values()]) {
      if (agent.timedOut === true) continue;
      if (agent.missedPongs >= this.options.maxPingTimeouts) {
        agent.timedOut = true;
        this.options.logger.warn(
          { agentId: agent.id, missedPongs: agent.missedPongs, connected: agent.connected },
          'agent missed too many pongs; it is unreachable',
        );
        if (agent.active) {
          agent.active = false;
          this.deactivated.fire({ agent, reason: 'PING_TIMEOUT' });
        }
        this.timedOutEmitter.fire(agent);
        continue;
      }
      // A disconnected agent cannot answer either: its silence counts the same (Mesos' health check).
      agent.missedPongs++;
      if (agent.connected) agent.channel?.trySend({ ping: {} });
    }
  }
}

/** The agent's fault domain, when it reports a region and zone. */
function domainOf(info: AgentInfo): DomainInfo | undefined {
  const fd = info.domain?.fault_domain;
  if (!fd?.region?.name || !fd.zone?.name) return undefined;
  return { fault_domain: { region: { name: fd.region.name }, zone: { name: fd.zone.name } } };
}

/** Validate an AgentInfo; returns its resources. Throws AgoraError and changes nothing. */
export function checkAgentInfo(info: AgentInfo): Resources {
  if (!info.hostname) throw new AgoraError('AGORA_ERR_BAD_REQUEST', 'agent_info.hostname must not be empty');
  const port = info.port ?? 5051;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new AgoraError('AGORA_ERR_BAD_REQUEST', `agent_info.port must be in 0..65535, got ${port}`);
  }
  return Resources.fromProto(info.resources ?? []);
}
