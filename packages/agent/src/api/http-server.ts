/**
 * The agent's HTTP server (koa): `GET /state` (also `/state.json` and Mesos'
 * `/slave(1)/state`) and `GET /health` (200, empty). Listens on host:port;
 * port 0 picks a free one.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { Router } from '@koa/router';
import { AgoraError } from '@agora/common';
import Koa from 'koa';

export interface AgentHttpServerOptions {
  host: string;
  port: number;
  state: () => Record<string, unknown>;
  /** Extra routes (e.g. `/files/*`), added after the built-in ones. */
  routes?: ReadonlyArray<(router: Router) => void>;
  /** WebSocket upgrades (e.g. `/agora/v1/executor`); returns false to refuse (the socket is destroyed). */
  onUpgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => boolean;
}

export interface AgentHttpServer {
  readonly port: number;
  close(): Promise<void>;
}

export function createAgentHttpHandler(
  state: () => Record<string, unknown>,
  routes: ReadonlyArray<(router: Router) => void> = [],
): ReturnType<Koa['callback']> {
  const app = new Koa();
  const router = new Router();
  const serveState = (ctx: Koa.Context) => {
    ctx.body = state();
  };
  router.get('/state', serveState);
  router.get('/state.json', serveState);
  router.get('/health', (ctx) => {
    ctx.status = 200;
    ctx.body = '';
  });
  for (const mount of routes) mount(router);
  // Mesos' own path for the agent's state; parentheses are not route syntax, so match it directly.
  app.use(async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path === '/slave(1)/state') serveState(ctx);
    else await next();
  });
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app.callback();
}

export async function startAgentHttpServer(options: AgentHttpServerOptions): Promise<AgentHttpServer> {
  const server: Server = createServer(createAgentHttpHandler(options.state, options.routes));
  server.on('upgrade', (req, socket, head) => {
    if (options.onUpgrade?.(req, socket, head) !== true) socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(
        new AgoraError(
          'AGORA_ERR_INTERNAL',
          `the agent cannot listen on ${options.host}:${options.port}: ${err.message}`,
          {
            cause: err,
          },
        ),
      ),
    );
    server.listen(options.port, options.host, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
