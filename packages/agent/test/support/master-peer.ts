/**
 * The master side of the agent protocol, for agent tests: a real WebSocket
 * server on 127.0.0.1 at /agora/v1/agent that decodes AgentToMaster frames and
 * lets the test send MasterToAgent frames. It makes no decisions itself; the
 * test drives it (Registered, RunTask, KillTask, acks).
 */
import type { AddressInfo } from 'node:net';
import { agora } from '@agora/proto';
import { type FrameChannel, wrapSocket } from '@agora/transport';
import { WebSocketServer } from 'ws';
import { waitFor } from './wait.js';

type AgentToMaster = agora.v1.agent.AgentToMaster;
type MasterToAgentProps = agora.v1.agent.MasterToAgent.$Properties;

export class MasterPeer {
  readonly received: AgentToMaster[] = [];
  private channel: FrameChannel<AgentToMaster, MasterToAgentProps> | undefined;
  private connections = 0;

  private constructor(private readonly server: WebSocketServer) {
    server.on('connection', (ws) => {
      this.connections++;
      this.channel?.close(1000, 'replaced');
      const channel = wrapSocket(ws, agora.v1.agent.AgentToMaster, agora.v1.agent.MasterToAgent, 'agent');
      this.channel = channel;
      channel.onDidReceive((m) => this.received.push(m));
      channel.onDidClose(() => {
        if (this.channel === channel) this.channel = undefined;
      });
    });
  }

  static async start(port = 0): Promise<MasterPeer> {
    const server = new WebSocketServer({ host: '127.0.0.1', port, path: '/agora/v1/agent' });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    return new MasterPeer(server);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get connectionCount(): number {
    return this.connections;
  }

  get connected(): boolean {
    return this.channel?.isOpen ?? false;
  }

  send(message: MasterToAgentProps): void {
    if (this.channel === undefined) throw new Error('no agent connected');
    this.channel.send(message);
  }

  /** Wait for the first received message (from index `from`) that matches. */
  async next<T>(
    pick: (m: AgentToMaster) => T | null | undefined,
    what: string,
    from = 0,
    timeoutMs = 10_000,
  ): Promise<T> {
    return waitFor(
      () => {
        for (const m of this.received.slice(from)) {
          const v = pick(m);
          if (v !== null && v !== undefined) return v;
        }
        return undefined;
      },
      what,
      timeoutMs,
    );
  }

  /** Status updates received so far for a task, in order. */
  updates(taskId: string): agora.v1.agent.AgentToMaster.StatusUpdate[] {
    return this.received.flatMap((m) =>
      m.status_update && m.status_update.status.task_id.value === taskId ? [m.status_update] : [],
    );
  }

  /** Wait until the task has reported `state`; returns that update. */
  async update(taskId: string, state: agora.v1.TaskState, timeoutMs = 10_000) {
    return waitFor(
      () => this.updates(taskId).find((u) => u.status.state === state),
      `${taskId} ${agora.v1.TaskState[state]}`,
      timeoutMs,
    );
  }

  ack(update: agora.v1.agent.AgentToMaster.StatusUpdate): void {
    this.send({
      ack: {
        framework_id: update.framework_id,
        task_id: update.status.task_id,
        uuid: update.status.uuid ?? new Uint8Array(),
      },
    });
  }

  /** Drop the agent's connection (it reconnects and re-registers). */
  disconnect(): void {
    for (const ws of this.server.clients) ws.terminate();
  }

  async close(): Promise<void> {
    for (const ws of this.server.clients) ws.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
