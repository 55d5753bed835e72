/**
 * Test harness for the master: a real master on 127.0.0.1:0 (FakeClock by
 * default, so periodic work only happens when a test advances time), and
 * protocol-level peers speaking protobuf frames over real WebSockets: a
 * scheduler peer and an agent peer (which answers pings by itself).
 */
import { FakeClock, silentLogger } from '@agora/common';
import { createMaster, type Master, type MasterConfig } from '../../src/index.js';
import { agora, type AgentToMaster, type SchedulerCall } from '@agora/proto';
import { waitFor } from '@agora/testkit';
import { type ChannelClose, connectChannel, type FrameChannel } from '@agora/transport';

export { waitFor };

export const EventType = agora.v1.scheduler.Event.Type;
export const CallType = agora.v1.scheduler.Call.Type;
export const OperationType = agora.v1.Offer.Operation.Type;

/** The harness' ping interval: advancing the clock by this much makes the master ping every agent. */
export const PING_MS = 100;

export interface TestMaster {
  master: Master;
  clock: FakeClock;
  wsUrl(path: 'scheduler' | 'agent'): string;
  getJson(path: string): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startMaster(config: Partial<MasterConfig> = {}): Promise<TestMaster> {
  const clock = new FakeClock();
  const master = createMaster(
    { port: 0, host: '127.0.0.1', agentPingTimeoutMs: PING_MS, maxAgentPingTimeouts: 1000, ...config },
    { clock, logger: silentLogger() },
  );
  await master.start();
  return {
    master,
    clock,
    wsUrl: (path) => `ws://127.0.0.1:${master.port}/agora/v1/${path}`,
    async getJson(path) {
      const res = await fetch(`${master.url}${path}`);
      if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status}`);
      return (await res.json()) as Record<string, unknown>;
    },
    close: () => master.close(),
  };
}

/** A typed WebSocket peer that records what it receives and lets tests wait for messages. */
export class Peer<In, Out> {
  readonly received: In[] = [];
  private consumed = new Set<number>();
  closed: ChannelClose | undefined;

  constructor(readonly channel: FrameChannel<In, Out>) {
    channel.onDidReceive((m) => this.received.push(m));
    channel.onDidClose((c) => {
      this.closed = c;
    });
  }

  send(message: Out): void {
    this.channel.send(message);
  }

  /** Wait for the first not-yet-taken message matching `pred`, and take it. */
  async next(pred: (m: In) => boolean, what = 'a message', timeoutMs = 5000): Promise<In> {
    return waitFor(
      () => {
        const i = this.received.findIndex((m, idx) => !this.consumed.has(idx) && pred(m));
        if (i < 0) return undefined;
        this.consumed.add(i);
        return { m: this.received[i]! };
      },
      { timeoutMs, message: what, intervalMs: 10 },
    ).then((x) => x.m);
  }

  /** Messages matching `pred` received so far (taken or not). */
  all(pred: (m: In) => boolean): In[] {
    return this.received.filter(pred);
  }

  async waitClosed(timeoutMs = 5000): Promise<ChannelClose> {
    return waitFor(() => this.closed, { timeoutMs, message: 'the connection to close', intervalMs: 10 });
  }

  close(): void {
    this.channel.close();
  }
}

export type SchedulerPeer = Peer<agora.v1.scheduler.Event, SchedulerCall> & { frameworkId: string };
export type AgentPeer = Peer<agora.v1.agent.MasterToAgent, AgentToMaster> & { agentId: string };

export async function connectScheduler(
  t: Pick<TestMaster, 'wsUrl'>,
): Promise<Peer<agora.v1.scheduler.Event, SchedulerCall>> {
  const ch = await connectChannel(t.wsUrl('scheduler'), agora.v1.scheduler.Event, agora.v1.scheduler.Call);
  return new Peer(ch);
}

export interface SubscribeOptions {
  name?: string;
  id?: string;
  roles?: string[];
  capabilities?: agora.v1.FrameworkInfo.Capability.Type[];
  /**
   * FrameworkInfo.failover_timeout. The harness' frameworks survive a disconnection for an hour unless a test
   * says otherwise (Mesos' default, 0, tears a framework down as soon as its connection breaks).
   */
  failoverTimeoutSeconds?: number;
  /**
   * FrameworkInfo.checkpoint. The harness' frameworks checkpoint unless a test says otherwise (Mesos' default,
   * false, makes their tasks TASK_LOST as soon as their agent's connection breaks).
   */
  checkpoint?: boolean;
}

/** Connect and SUBSCRIBE; resolves once SUBSCRIBED arrives. */
export async function subscribeScheduler(t: TestMaster, options: SubscribeOptions = {}): Promise<SchedulerPeer> {
  const peer = await connectScheduler(t);
  peer.send({
    type: CallType.SUBSCRIBE,
    subscribe: {
      framework_info: {
        user: 'tester',
        name: options.name ?? 'test-framework',
        ...(options.id === undefined ? {} : { id: { value: options.id } }),
        ...(options.roles === undefined ? {} : { roles: options.roles }),
        capabilities: (options.capabilities ?? []).map((type) => ({ type })),
        failover_timeout: options.failoverTimeoutSeconds ?? 3600,
        checkpoint: options.checkpoint ?? true,
      },
    },
  });
  const subscribed = await peer.next((e) => e.type === EventType.SUBSCRIBED, 'SUBSCRIBED');
  return Object.assign(peer, { frameworkId: subscribed.subscribed!.framework_id.value });
}

export async function connectAgentChannel(t: TestMaster): Promise<Peer<agora.v1.agent.MasterToAgent, AgentToMaster>> {
  const ch = await connectChannel(t.wsUrl('agent'), agora.v1.agent.MasterToAgent, agora.v1.agent.AgentToMaster);
  const peer = new Peer(ch);
  ch.onDidReceive((m) => {
    if (m.ping) ch.trySend({ pong: {} });
  });
  return peer;
}

export interface AgentOptions {
  resources?: agora.v1.Resource.$Properties[];
  hostname?: string;
  port?: number;
  attributes?: agora.v1.Attribute.$Properties[];
  /** AgentInfo.domain: `{ region, zone }` names of the agent's fault domain. */
  domain?: { region: string; zone: string };
}

export function scalar(name: string, value: number, role = '*'): agora.v1.Resource.$Properties {
  return { name, type: agora.v1.Value.Type.SCALAR, scalar: { value }, role };
}

export function ranges(name: string, list: Array<[number, number]>): agora.v1.Resource.$Properties {
  return { name, type: agora.v1.Value.Type.RANGES, ranges: { range: list.map(([begin, end]) => ({ begin, end })) } };
}

export const DEFAULT_AGENT_RESOURCES = [scalar('cpus', 4), scalar('mem', 4096), ranges('ports', [[31000, 31009]])];

export function agentInfo(options: AgentOptions = {}, id?: string): agora.v1.AgentInfo.$Properties {
  return {
    hostname: options.hostname ?? 'agent-1.test',
    port: options.port ?? 5051,
    resources: options.resources ?? DEFAULT_AGENT_RESOURCES,
    attributes: options.attributes ?? [],
    ...(options.domain === undefined
      ? {}
      : {
          domain: {
            fault_domain: { region: { name: options.domain.region }, zone: { name: options.domain.zone } },
          },
        }),
    ...(id === undefined ? {} : { id: { value: id } }),
  };
}

/** Connect and Register a new agent; resolves once Registered arrives. */
export async function registerAgent(t: TestMaster, options: AgentOptions = {}): Promise<AgentPeer> {
  const peer = await connectAgentChannel(t);
  peer.send({ register: { agent_info: agentInfo(options), version: '0.1.0' } });
  const registered = await peer.next((m) => m.registered !== null, 'Registered');
  return Object.assign(peer, { agentId: registered.registered!.agent_id.value });
}

/** Everything the master sent the agent before this call returns has arrived (a ping is the barrier). */
export async function agentBarrier(t: TestMaster, agent: Peer<agora.v1.agent.MasterToAgent, AgentToMaster>) {
  const before = agent.all((m) => m.ping !== null).length;
  t.clock.advance(PING_MS);
  await waitFor(() => agent.all((m) => m.ping !== null).length > before, { message: 'a ping', intervalMs: 10 });
}

/**
 * Everything the master sent the scheduler before this call returns has arrived: an explicit reconciliation
 * of a made-up task on a registered agent is answered at once (TASK_LOST), after all earlier events.
 */
export async function schedulerBarrier(scheduler: SchedulerPeer, registeredAgentId: string): Promise<void> {
  const taskId = `barrier-${Math.random().toString(36).slice(2)}`;
  scheduler.send({
    type: CallType.RECONCILE,
    framework_id: { value: scheduler.frameworkId },
    reconcile: { tasks: [{ task_id: { value: taskId }, agent_id: { value: registeredAgentId } }] },
  });
  await scheduler.next((e) => e.update?.status.task_id.value === taskId, 'the barrier reconciliation');
}

export function isOffers(e: agora.v1.scheduler.Event): boolean {
  return e.type === EventType.OFFERS;
}

export async function nextOffer(
  scheduler: SchedulerPeer,
  what = 'an offer',
  timeoutMs?: number,
): Promise<agora.v1.Offer> {
  const event = await scheduler.next(isOffers, what, timeoutMs);
  return event.offers!.offers[0]!;
}

export function taskInfo(
  id: string,
  agentId: string,
  resources: agora.v1.Resource.$Properties[],
): agora.v1.TaskInfo.$Properties {
  return {
    name: id,
    task_id: { value: id },
    agent_id: { value: agentId },
    resources,
    command: { value: 'sleep 1000', shell: true },
  };
}

export function launchCall(
  scheduler: SchedulerPeer,
  offerIds: string[],
  tasks: agora.v1.TaskInfo.$Properties[],
  refuseSeconds?: number,
): SchedulerCall {
  return {
    type: CallType.ACCEPT,
    framework_id: { value: scheduler.frameworkId },
    accept: {
      offer_ids: offerIds.map((value) => ({ value })),
      operations: [{ type: OperationType.LAUNCH, launch: { task_infos: tasks } }],
      ...(refuseSeconds === undefined ? {} : { filters: { refuse_seconds: refuseSeconds } }),
    },
  };
}

/** Close peers and the master, whatever happened. */
export async function cleanup(t: TestMaster | undefined, ...peers: Array<{ close(): void } | undefined>) {
  for (const p of peers) p?.close();
  await t?.close();
}

/** Poll /state until the framework `id` satisfies `pred`; resolves with its JSON. */
export async function waitForFramework(
  t: TestMaster,
  id: string,
  pred: (f: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  return waitFor(
    async () => {
      const state = await t.getJson('/state');
      const f = (state['frameworks'] as Array<Record<string, unknown>>).find((x) => x['id'] === id);
      return f !== undefined && pred(f) ? f : undefined;
    },
    { message: `framework ${id} in /state`, intervalMs: 20 },
  );
}
