/**
 * Marathon's events: the bus, HTTP callback subscribers and SSE streams,
 * built and started together (`MarathonEvents`), so marathon.ts wires them
 * with a few lines. See docs/events.md.
 */
import type { Clock, Disposable, Logger } from '@agora/common';
import type { EventSubscriptionRepository } from '../storage/repositories.js';
import { type MarathonEventsConfig, resolveEventsConfig } from './config.js';
import { EventBus } from './event-bus.js';
import { DEFAULT_EVENT_LOG_OPTIONS, EventLog } from './event-log.js';
import { HttpCallbacks } from './http-callbacks.js';
import { type DeploymentEventSource, type DeploymentView, wireDeploymentEvents } from './publishers.js';
import { EventStreams } from './sse.js';

export { type MarathonEventsConfig, resolveEventsConfig } from './config.js';
export { EventBus, type EventBusOptions } from './event-bus.js';
export {
  DEFAULT_EVENT_LOG_OPTIONS,
  EventLog,
  type EventLogMetrics,
  type EventLogOptions,
} from './event-log.js';
export {
  CallbackSubscriber,
  DEFAULT_HTTP_CALLBACK_OPTIONS,
  EVENT_ID_HEADER,
  type HttpCallbackOptions,
  HttpCallbacks,
  type SubscriberMetrics,
  validateCallbackUrl,
} from './http-callbacks.js';
export * from './publishers.js';
export { DEFAULT_EVENT_STREAM_OPTIONS, EventStreams, type EventStreamOptions, sseFrame } from './sse.js';
export * from './types.js';

export interface MarathonEventsDeps {
  clock: Clock;
  logger: Logger;
  /** Where subscriptions (and, through its `log`, the durable event log and cursors) are kept; absent: memory only. */
  repository?: EventSubscriptionRepository | undefined;
  config?: MarathonEventsConfig | undefined;
  /** `--http_endpoints`, subscribed at start. */
  httpEndpoints?: readonly string[] | undefined;
}

export class MarathonEvents implements Disposable {
  readonly bus: EventBus;
  /** Between the bus and the deliverers: durable with a store. */
  readonly log: EventLog;
  readonly callbacks: HttpCallbacks;
  readonly streams: EventStreams;
  private readonly endpoints: readonly string[];
  private readonly disposables: Disposable[] = [];
  private readonly replayBufferSize: number;

  constructor(deps: MarathonEventsDeps) {
    const c = resolveEventsConfig(deps.config, deps.httpEndpoints);
    this.endpoints = deps.httpEndpoints ?? [];
    this.bus = new EventBus({ clock: deps.clock, logger: deps.logger });
    this.replayBufferSize = c.streamReplayBufferSize;
    this.log = new EventLog(
      this.bus,
      deps.repository?.log,
      {
        maxEntries: c.eventLogSize,
        maxPending: Math.max(DEFAULT_EVENT_LOG_OPTIONS.maxPending, c.subscriberQueueSize),
        // A stored batch reaches each SSE reader at once: keep it well below the frames a reader may have waiting.
        batchSize: Math.max(
          1,
          Math.min(DEFAULT_EVENT_LOG_OPTIONS.batchSize, Math.floor(c.streamMaxOutstandingMessages / 2)),
        ),
      },
      { clock: deps.clock, logger: deps.logger },
    );
    this.callbacks = new HttpCallbacks(
      { bus: this.bus, log: this.log, repository: deps.repository, clock: deps.clock, logger: deps.logger },
      {
        queueSize: c.subscriberQueueSize,
        requestTimeoutMs: c.callbackTimeoutMs,
        backoffInitialMs: c.callbackBackoffMs,
        backoffMaxMs: c.callbackBackoffMaxMs,
      },
    );
    this.streams = new EventStreams(
      { bus: this.bus, log: this.log, clock: deps.clock, logger: deps.logger },
      {
        heartbeatMs: c.streamHeartbeatMs,
        maxOutstandingMessages: c.streamMaxOutstandingMessages,
        replayBufferSize: c.streamReplayBufferSize,
      },
    );
  }

  /** Publish the deployment tracker's step/success/failure events. */
  wireDeployments<D extends DeploymentView>(source: DeploymentEventSource<D>): void {
    this.disposables.push(wireDeploymentEvents(source, this.bus));
  }

  /**
   * Open the durable log (ids continue after its newest event; the SSE replay buffer is filled from it), load the
   * stored subscriptions (and `--http_endpoints`) and resume each subscriber from its cursor.
   */
  async start(): Promise<void> {
    const { recent, oldestId } = await this.log.start(this.replayBufferSize);
    this.streams.seed(recent, oldestId);
    await this.callbacks.start(this.endpoints);
  }

  /** Close every stream and delivery loop (with a store, undelivered events stay in the log for the next leader). */
  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.streams.dispose();
    this.callbacks.dispose();
    this.log.dispose();
    this.bus.dispose();
  }
}

/** Gauges for `/metrics`: SSE connections and cut-offs, the durable event log, and per callback subscriber delivered/retried/dropped/lag. */
export function eventGauges(
  events: { callbacks: HttpCallbacks; streams: EventStreams } | undefined,
): Record<string, number> {
  if (events === undefined) return {};
  const out: Record<string, number> = {
    'marathon.events.stream.connections.gauge': events.streams.size,
    'marathon.events.stream.cut-off.gauge': events.streams.cutOffReaders,
    'marathon.events.callback.subscribers.gauge': events.callbacks.callbackUrls().length,
  };
  const log = events.callbacks.logMetrics();
  if (log.durable) {
    out['marathon.events.log.appended.gauge'] = log.appended;
    out['marathon.events.log.pending.gauge'] = log.pending;
    out['marathon.events.log.dropped.gauge'] = log.dropped;
    out['marathon.events.log.failures.gauge'] = log.failures;
  }
  for (const m of events.callbacks.metrics()) {
    const base = `marathon.events.callback.${m.callbackUrl}`;
    out[`${base}.delivered.gauge`] = m.delivered;
    out[`${base}.retried.gauge`] = m.retried;
    out[`${base}.dropped.gauge`] = m.dropped;
    out[`${base}.queued.gauge`] = m.queued;
    out[`${base}.lag.gauge.ms`] = m.lagMs;
  }
  return out;
}
