/**
 * A real HTTP callback subscriber on 127.0.0.1 for the event tests: records
 * every JSON body POSTed to it, in arrival order. Its behaviour can be
 * switched: answer 200, answer 500, hang (never answer), answer garbage (not
 * HTTP), or be down (the port closed) and come back on the same port.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type SubscriberMode = 'ok' | 'fail' | 'hang' | 'garbage';

export interface ReceivedEvent {
  eventType: string;
  timestamp: string;
  // biome-ignore lint/suspicious/noExplicitAny: event payloads of many shapes
  [field: string]: any;
}

export class Subscriber {
  readonly received: ReceivedEvent[] = [];
  /** The `Agora-Event-Id` header of each received POST (undefined for markers), parallel to `received`. */
  readonly ids: Array<number | undefined> = [];
  mode: SubscriberMode = 'ok';
  /** POSTs answered with an error status or not answered. */
  refused = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly hanging: ServerResponse[] = [];
  private boundPort = 0;

  static async start(path = '/callback'): Promise<Subscriber> {
    const s = new Subscriber(path);
    await s.listen(0);
    return s;
  }

  private constructor(private readonly path: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.boundPort}${this.path}`;
  }

  /** Event types received, in order. */
  get types(): string[] {
    return this.received.map((e) => e.eventType);
  }

  /** Close the port (connections dropped); `start()` it again with `up()`. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    for (const r of this.hanging.splice(0)) r.destroy();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async up(): Promise<void> {
    await this.listen(this.boundPort);
  }

  async stop(): Promise<void> {
    await this.down();
  }

  private async listen(port: number): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      if (this.mode === 'garbage') socket.end('this is not HTTP at all\r\n\r\n');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.boundPort = (server.address() as AddressInfo).port;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (this.mode === 'hang') {
        this.refused++;
        this.hanging.push(res);
        return;
      }
      if (this.mode === 'fail') {
        this.refused++;
        res.writeHead(500).end('no');
        return;
      }
      if (this.mode === 'garbage') {
        this.refused++;
        res.socket?.end('HTTP/1.1 garbage\r\n\r\n');
        return;
      }
      this.received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as ReceivedEvent);
      const id = req.headers['agora-event-id'];
      this.ids.push(typeof id === 'string' ? Number(id) : undefined);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  }
}
