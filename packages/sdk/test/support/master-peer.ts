/**
 * A protocol-level peer for driver tests: a real HTTP + WebSocket server on
 * 127.0.0.1 speaking the master's side of the scheduler protocol (Call in,
 * Event out, one protobuf per frame). It records every call, answers
 * SUBSCRIBE with SUBSCRIBED (keeping a given framework id, else minting
 * one), and can drop its connections or answer upgrades with a 307 like a
 * standby master. Events beyond SUBSCRIBED are sent by the test.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { agora, type SchedulerEvent } from '@agora/proto';
import { type FrameChannel, wrapSocket } from '@agora/transport';
import { WebSocketServer } from 'ws';

type Call = agora.v1.scheduler.Call;
const CallType = agora.v1.scheduler.Call.Type;
const EventType = agora.v1.scheduler.Event.Type;

export interface PeerConnection {
  readonly channel: FrameChannel<Call, SchedulerEvent>;
  readonly calls: Call[];
  closed: { code: number; reason: string } | undefined;
}

export interface MasterPeerOptions {
  /** Answer SUBSCRIBE with SUBSCRIBED. @default true */
  autoSubscribe?: boolean;
  /** Announced in SUBSCRIBED. @default 15 */
  heartbeatIntervalSeconds?: number;
  /** Framework id minted for a SUBSCRIBE without one. @default 'fw-0001' */
  newFrameworkId?: string;
}

export class MasterPeer {
  readonly connections: PeerConnection[] = [];
  /** When set, every upgrade is answered `307 Location: <redirectTo>` (a standby). */
  redirectTo: string | undefined;
  autoSubscribe: boolean;
  private readonly heartbeatIntervalSeconds: number;
  private readonly newFrameworkId: string;
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly sockets = new Set<Duplex>();

  private constructor(
    private readonly server: Server,
    options: MasterPeerOptions,
  ) {
    this.autoSubscribe = options.autoSubscribe ?? true;
    this.heartbeatIntervalSeconds = options.heartbeatIntervalSeconds ?? 15;
    this.newFrameworkId = options.newFrameworkId ?? 'fw-0001';
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
  }

  static async start(options: MasterPeerOptions = {}, port = 0): Promise<MasterPeer> {
    const server = createServer((_req, res) => {
      res.statusCode = 404;
      res.end();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return new MasterPeer(server, options);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Every call received, over all connections, in order. */
  get calls(): Call[] {
    return this.connections.flatMap((c) => c.calls);
  }

  callsOf(type: agora.v1.scheduler.Call.Type): Call[] {
    return this.calls.filter((c) => c.type === type);
  }

  get latest(): PeerConnection | undefined {
    return this.connections.at(-1);
  }

  /** Send an event on the newest open connection. */
  send(event: SchedulerEvent): void {
    const conn = this.latest;
    if (conn === undefined || !conn.channel.isOpen) throw new Error('master peer: no open connection');
    conn.channel.send(event);
  }

  /** Cut every connection abruptly (a crashed master or a broken network). */
  dropConnections(): void {
    for (const ws of this.wss.clients) ws.terminate();
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.redirectTo !== undefined) {
      socket.end(`HTTP/1.1 307 Temporary Redirect\r\nLocation: ${this.redirectTo}\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    if (req.url !== '/agora/v1/scheduler') {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const channel = wrapSocket(ws, agora.v1.scheduler.Call, agora.v1.scheduler.Event, 'driver');
      const conn: PeerConnection = { channel, calls: [], closed: undefined };
      this.connections.push(conn);
      channel.onDidReceive((call) => {
        conn.calls.push(call);
        if (call.type === CallType.SUBSCRIBE && this.autoSubscribe) {
          const id = call.subscribe?.framework_info.id?.value || this.newFrameworkId;
          channel.trySend({
            type: EventType.SUBSCRIBED,
            subscribed: {
              framework_id: { value: id },
              heartbeat_interval_seconds: this.heartbeatIntervalSeconds,
              master_info: { id: 'peer-master', ip: 0, port: this.port, hostname: '127.0.0.1' },
            },
          });
        }
      });
      channel.onDidClose((close) => {
        conn.closed = close;
      });
    });
  }
}

/** A plain HTTP server that answers every request and upgrade with `307 Location: <location>` (a standby). */
export async function startRedirector(location: string): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((_req, res) => {
    res.writeHead(307, { Location: location, 'Content-Length': '0' });
    res.end();
  });
  const sockets = new Set<Duplex>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (_req, socket) => {
    socket.end(`HTTP/1.1 307 Temporary Redirect\r\nLocation: ${location}\r\nContent-Length: 0\r\n\r\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
