/**
 * The agent endpoint, `ws://<leader>/agora/v1/agent`: the agent sends
 * `agent.AgentToMaster`, the master sends `agent.MasterToAgent`, one binary
 * protobuf per frame.
 *
 * Protocol rules enforced here (the business of each message is the handler's):
 * - A malformed frame closes the connection (4400, by the transport); nothing changes.
 * - The first message must be Register or Reregister; otherwise close 4400.
 * - A (re-)registration the handler refuses (AgoraError, nothing changed) gets `Refused` and close 4403.
 */
import { type Logger, toAgoraError } from '@agora/common';
import { agora } from '@agora/proto';
import { CLOSE_PROTOCOL_ERROR, CLOSE_REFUSED, wrapSocket } from '@agora/transport';
import type WebSocket from 'ws';
import type { AgentChannel } from '../agents/agent-manager.js';

export const AGENT_PATH = '/agora/v1/agent';

export interface AgentMessageHandler {
  /**
   * Register (a new agent); returns the agent id, or a promise of it when the registry must be written first.
   * Throws (or rejects with) AgoraError to refuse.
   */
  register(
    channel: AgentChannel,
    message: agora.v1.agent.AgentToMaster.Register,
    ip: string | undefined,
  ): string | Promise<string>;
  /** Reregister (a known agent); returns the agent id (or a promise of it). Throws AgoraError to refuse. */
  reregister(
    channel: AgentChannel,
    message: agora.v1.agent.AgentToMaster.Reregister,
    ip: string | undefined,
  ): string | Promise<string>;
  /** Any other message of a registered agent. */
  message(agentId: string, message: agora.v1.agent.AgentToMaster, channel: AgentChannel): void;
  disconnected(agentId: string, channel: AgentChannel): void;
}

/** Serve one agent WebSocket. `ip` is the agent's IPv4 as the socket shows it. */
export function acceptAgentSocket(
  ws: WebSocket,
  remote: string,
  ip: string | undefined,
  handler: AgentMessageHandler,
  logger: Logger,
): AgentChannel {
  const channel: AgentChannel = wrapSocket(ws, agora.v1.agent.AgentToMaster, agora.v1.agent.MasterToAgent, remote);
  let agentId: string | undefined;
  /** A registration is waiting for the registry; messages meanwhile are ignored (the agent retries). */
  let registering = false;

  const refuse = (err: unknown): void => {
    const error = toAgoraError(err);
    logger.warn({ remote, err: error }, 'agent registration refused');
    channel.trySend({ refused: { message: error.message, code: error.code } });
    channel.close(CLOSE_REFUSED, `${error.code}: ${error.message}`.slice(0, 120));
  };

  const registration = (message: agora.v1.agent.AgentToMaster): void => {
    let result: string | Promise<string> | undefined;
    try {
      if (message.register) result = handler.register(channel, message.register, ip);
      else if (message.reregister) result = handler.reregister(channel, message.reregister, ip);
    } catch (err) {
      refuse(err);
      return;
    }
    if (typeof result === 'string') {
      agentId = result;
      return;
    }
    if (result === undefined) return;
    registering = true;
    result.then(
      (id) => {
        registering = false;
        agentId = id;
      },
      (err) => {
        registering = false;
        refuse(err);
      },
    );
  };

  channel.onDidReceive((message) => {
    if (registering) return;
    if (agentId === undefined) {
      if (!message.register && !message.reregister) {
        logger.warn({ remote }, 'agent connection began with a message other than Register/Reregister');
        channel.close(CLOSE_PROTOCOL_ERROR, 'AGORA_ERR_BAD_REQUEST: the first message must be Register or Reregister');
        return;
      }
      registration(message);
      return;
    }
    if (message.register || message.reregister) {
      // The agent retried its registration (e.g. it missed our answer); answer again.
      registration(message);
      return;
    }
    try {
      handler.message(agentId, message, channel);
    } catch (err) {
      logger.error({ err, agentId }, 'agent message failed');
    }
  });
  channel.onDidReceiveBadFrame((err) => {
    logger.warn({ remote, agentId, err }, 'malformed frame from agent; closing the connection');
  });
  channel.onDidClose(({ code, reason }) => {
    logger.info({ remote, agentId, code, reason }, 'agent connection closed');
    if (agentId !== undefined) handler.disconnected(agentId, channel);
  });
  return channel;
}
