/**
 * A TCP proxy on 127.0.0.1 for fault injection: put it between a client and
 * a server, then cut the network (`partition`) and restore it (`heal`).
 */
import { type Server, type Socket, connect, createServer } from 'node:net';

export type PartitionMode =
  /** Connections stay open but no byte gets through, either way; new connections are accepted and starved. */
  | 'blackhole'
  /** Every connection is reset, and new ones are reset at once. */
  | 'reset';

export interface TcpProxy {
  /** The port clients connect to. */
  readonly port: number;
  /** `127.0.0.1:<port>` */
  readonly address: string;
  /** Connections open now. */
  readonly connectionCount: number;
  /** Cut the network between clients and the target. */
  partition(mode?: PartitionMode): void;
  /** Restore it; connections that lived through a blackhole are reset (their streams lost bytes). */
  heal(): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  starved: boolean;
}

/** Start a proxy forwarding every connection to `targetHost:targetPort`. */
export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let mode: PartitionMode | undefined;

  const server: Server = createServer((client) => {
    if (mode === 'reset') {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect({ host: targetHost, port: targetPort });
    const pair: Pair = { client, upstream, starved: mode === 'blackhole' };
    pairs.add(pair);
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk) => {
      if (mode === undefined && !pair.starved) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (mode === undefined && !pair.starved) client.write(chunk);
    });
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;

  return {
    port,
    address: `127.0.0.1:${port}`,
    get connectionCount() {
      return pairs.size;
    },
    partition(next: PartitionMode = 'blackhole') {
      mode = next;
      for (const pair of [...pairs]) {
        if (next === 'reset') {
          pair.client.resetAndDestroy();
          pair.upstream.destroy();
          pairs.delete(pair);
        } else {
          pair.starved = true;
        }
      }
    },
    heal() {
      mode = undefined;
      for (const pair of [...pairs]) {
        if (pair.starved) {
          pair.client.resetAndDestroy();
          pair.upstream.destroy();
          pairs.delete(pair);
        }
      }
    },
    async close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
