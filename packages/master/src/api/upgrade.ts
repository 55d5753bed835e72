/**
 * WebSocket upgrades of the master's HTTP server: the scheduler and agent
 * endpoints. Only the serving leader accepts; a standby answers 307 to the
 * leader (or 503 while none is known) and any other path 404, before the
 * upgrade, so clients follow the leader as they do for HTTP.
 */
import type { IncomingMessage } from 'node:http';
import { isIPv4 } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '@agora/common';
import type { WebSocketServer } from 'ws';
import { AGENT_PATH, type AgentMessageHandler, acceptAgentSocket } from './agent-ws.js';
import { acceptSchedulerSocket, SCHEDULER_PATH, type SchedulerCallHandler } from './scheduler-ws.js';

export interface UpgradeDeps {
  wss: WebSocketServer;
  /** Serving as the leader. */
  isLeader(): boolean;
  /** `host:port` of the leader, when one is known. */
  leaderAuthority(): string | undefined;
  schedulerCalls: SchedulerCallHandler;
  agentMessages: AgentMessageHandler;
  logger: Logger;
}

/** Handle one HTTP upgrade request (the server's 'upgrade' event). */
export function handleUpgrade(deps: UpgradeDeps, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== SCHEDULER_PATH && path !== AGENT_PATH) {
    refuseUpgrade(socket, 404, 'Not Found');
    return;
  }
  if (!deps.isLeader()) {
    const leader = deps.leaderAuthority();
    if (leader === undefined) refuseUpgrade(socket, 503, 'No leader elected');
    else refuseUpgrade(socket, 307, 'Temporary Redirect', `//${leader}${req.url ?? path}`);
    return;
  }
  deps.wss.handleUpgrade(req, socket, head, (ws) => {
    const remoteAddress = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const remote = `${remoteAddress}:${req.socket.remotePort ?? 0}`;
    if (path === SCHEDULER_PATH) {
      acceptSchedulerSocket(ws, remote, deps.schedulerCalls, deps.logger.child({ component: 'master.scheduler-api' }));
    } else {
      const ip = isIPv4(remoteAddress) ? remoteAddress : undefined;
      acceptAgentSocket(ws, remote, ip, deps.agentMessages, deps.logger.child({ component: 'master.agent-api' }));
    }
  });
}

function refuseUpgrade(socket: Duplex, status: number, text: string, location?: string): void {
  const headers = [`HTTP/1.1 ${status} ${text}`, 'Connection: close', 'Content-Length: 0'];
  if (location !== undefined) headers.push(`Location: ${location}`);
  socket.end(`${headers.join('\r\n')}\r\n\r\n`);
}
