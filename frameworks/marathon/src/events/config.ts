/** Options of the event system (`MarathonConfig.events`), checked at `createMarathon` (AGORA_ERR_BAD_FLAG). */
import { AgoraError } from '@agora/common';
import { DEFAULT_EVENT_LOG_OPTIONS } from './event-log.js';
import { DEFAULT_HTTP_CALLBACK_OPTIONS, validateCallbackUrl } from './http-callbacks.js';
import { DEFAULT_EVENT_STREAM_OPTIONS } from './sse.js';

export interface MarathonEventsConfig {
  /** Events waiting per HTTP subscriber before the oldest are dropped (`--event_subscriber_queue_size`). @default 10000 */
  subscriberQueueSize?: number;
  /** A callback POST that has not answered after this long failed (`--http_event_request_timeout`). @default 10000 */
  callbackTimeoutMs?: number;
  /** First retry delay of a failing callback, doubled per failure. @default 500 */
  callbackBackoffMs?: number;
  /** Cap of the retry delay. @default 30000 */
  callbackBackoffMaxMs?: number;
  /** SSE keep-alive comment period. @default 5000 */
  streamHeartbeatMs?: number;
  /** Frames waiting for a slow SSE reader before it is cut off (`--event_stream_max_outstanding_messages`). @default 1024 */
  streamMaxOutstandingMessages?: number;
  /** Recent events kept for SSE `Last-Event-ID` replay. @default 1000 */
  streamReplayBufferSize?: number;
  /**
   * Events kept in the durable event log (Redis stream or file, with a store): how far a callback subscriber
   * can fall behind, or stay unreachable, before it misses events. @default 100000
   */
  eventLogSize?: number;
}

export type ResolvedEventsConfig = Required<MarathonEventsConfig>;

function bad(flag: string, why: string): AgoraError {
  return new AgoraError('AGORA_ERR_BAD_FLAG', `marathon option '${flag}' ${why}`, { data: { flag } });
}

/** Fill in defaults and check every value; `httpEndpoints` must be http(s) URLs. */
export function resolveEventsConfig(
  events: MarathonEventsConfig | undefined,
  httpEndpoints: readonly string[] | undefined,
): ResolvedEventsConfig {
  const e = events ?? {};
  const c: ResolvedEventsConfig = {
    subscriberQueueSize: e.subscriberQueueSize ?? DEFAULT_HTTP_CALLBACK_OPTIONS.queueSize,
    callbackTimeoutMs: e.callbackTimeoutMs ?? DEFAULT_HTTP_CALLBACK_OPTIONS.requestTimeoutMs,
    callbackBackoffMs: e.callbackBackoffMs ?? DEFAULT_HTTP_CALLBACK_OPTIONS.backoffInitialMs,
    callbackBackoffMaxMs: e.callbackBackoffMaxMs ?? DEFAULT_HTTP_CALLBACK_OPTIONS.backoffMaxMs,
    streamHeartbeatMs: e.streamHeartbeatMs ?? DEFAULT_EVENT_STREAM_OPTIONS.heartbeatMs,
    streamMaxOutstandingMessages: e.streamMaxOutstandingMessages ?? DEFAULT_EVENT_STREAM_OPTIONS.maxOutstandingMessages,
    streamReplayBufferSize: e.streamReplayBufferSize ?? DEFAULT_EVENT_STREAM_OPTIONS.replayBufferSize,
    eventLogSize: e.eventLogSize ?? DEFAULT_EVENT_LOG_OPTIONS.maxEntries,
  };
  for (const [name, value] of Object.entries(c)) {
    if (!Number.isInteger(value) || value < 1) throw bad(`events.${name}`, `must be a positive integer, got ${value}`);
  }
  for (const url of httpEndpoints ?? []) {
    try {
      validateCallbackUrl(url);
    } catch (err) {
      throw bad('httpEndpoints', (err as Error).message);
    }
  }
  return c;
}
