/**
 * The scheduler endpoint, `ws://<leader>/agora/v1/scheduler`: the framework
 * sends `scheduler.Call`, the master sends `scheduler.Event`, one binary
 * protobuf per frame.
 *
 * Protocol rules enforced here (the business of each call is the handler's):
 * - A malformed frame closes the connection (4400, by the transport); nothing changes.
 * - The first call must be SUBSCRIBE; otherwise ERROR then close 4400. A SUBSCRIBE the handler refuses gets the
 *   same treatment.
 * - Later calls must carry the subscribed framework_id; otherwise ERROR and the call is ignored.
 * - A call the handler rejects (AgoraError) gets an ERROR event; the connection stays.
 */
import { hasErrorCode, type Logger, toAgoraError } from '@agora/common';
import { agora, type SchedulerEvent } from '@agora/proto';
import { CLOSE_PROTOCOL_ERROR, wrapSocket } from '@agora/transport';
import type WebSocket from 'ws';
import type { SchedulerChannel } from '../frameworks/framework-manager.js';

export const SCHEDULER_PATH = '/agora/v1/scheduler';

const CallType = agora.v1.scheduler.Call.Type;
const EventType = agora.v1.scheduler.Event.Type;

export interface SchedulerCallHandler {
  /** SUBSCRIBE on a connection; returns the framework id. Throws AgoraError to refuse (nothing changes). */
  subscribe(channel: SchedulerChannel, call: agora.v1.scheduler.Call): string;
  /** Any later call of a subscribed connection. Throws AgoraError to reject it (answered with ERROR). */
  call(frameworkId: string, call: agora.v1.scheduler.Call, channel: SchedulerChannel): void;
  /** The connection closed. */
  disconnected(frameworkId: string, channel: SchedulerChannel): void;
}

export function errorEvent(message: string, code: string): SchedulerEvent {
  return { type: EventType.ERROR, error: { message, code } };
}

/** Serve one scheduler WebSocket. */
export function acceptSchedulerSocket(
  ws: WebSocket,
  remote: string,
  handler: SchedulerCallHandler,
  logger: Logger,
): SchedulerChannel {
  const channel: SchedulerChannel = wrapSocket(ws, agora.v1.scheduler.Call, agora.v1.scheduler.Event, remote);
  let frameworkId: string | undefined;

  const refuse = (message: string, code: string) => {
    channel.trySend(errorEvent(message, code));
    channel.close(CLOSE_PROTOCOL_ERROR, `${code}: ${message}`.slice(0, 120));
  };

  channel.onDidReceive((call) => {
    if (frameworkId === undefined) {
      if (call.type !== CallType.SUBSCRIBE || !call.subscribe) {
        const name = CallType[call.type ?? CallType.UNKNOWN] ?? String(call.type);
        logger.warn({ remote, call: name }, 'scheduler connection began with a call other than SUBSCRIBE');
        refuse(`The first call must be SUBSCRIBE, got ${name}`, 'AGORA_ERR_NOT_SUBSCRIBED');
        return;
      }
      try {
        frameworkId = handler.subscribe(channel, call);
      } catch (err) {
        const error = toAgoraError(err);
        logger.warn({ remote, err: error }, 'SUBSCRIBE refused');
        refuse(error.message, error.code);
      }
      return;
    }
    const current = frameworkId;
    if (call.type === CallType.SUBSCRIBE) {
      const id = call.subscribe?.framework_info.id?.value;
      if (id !== current) {
        channel.trySend(
          errorEvent(
            `This connection is subscribed as framework ${current}; SUBSCRIBE named ${id ?? 'no id'}`,
            'AGORA_ERR_BAD_REQUEST',
          ),
        );
        return;
      }
    } else if (call.framework_id?.value !== current) {
      channel.trySend(
        errorEvent(
          `Call framework_id ${call.framework_id?.value ?? '(none)'} does not match the subscribed framework ${current}`,
          'AGORA_ERR_BAD_REQUEST',
        ),
      );
      return;
    }
    try {
      if (call.type === CallType.SUBSCRIBE) handler.subscribe(channel, call);
      else handler.call(current, call, channel);
    } catch (err) {
      const error = toAgoraError(err);
      if (hasErrorCode(error, 'AGORA_ERR_INTERNAL')) logger.error({ err: error, frameworkId: current }, 'call failed');
      else logger.warn({ err: error, frameworkId: current }, 'call rejected');
      channel.trySend(errorEvent(error.message, error.code));
    }
  });
  channel.onDidReceiveBadFrame((err) => {
    logger.warn({ remote, frameworkId, err }, 'malformed frame from scheduler; closing the connection');
  });
  channel.onDidClose(({ code, reason }) => {
    logger.info({ remote, frameworkId, code, reason }, 'scheduler connection closed');
    if (frameworkId !== undefined) handler.disconnected(frameworkId, channel);
  });
  return channel;
}
