/**
 * HTTP callback subscribers (Marathon ≤1.4's `/v2/eventSubscriptions`, made
 * reliable). Each subscriber has its own bounded, ordered queue and one
 * delivery loop: events are POSTed as JSON one at a time, in publish order; a
 * failed POST (connection error, timeout, non-2xx, an answer that is not
 * HTTP) is retried with exponential backoff until it succeeds. The bus only
 * enqueues, so a slow or dead subscriber never delays the scheduler or any
 * other subscriber. When a queue is full the oldest waiting event is dropped
 * and counted, and before its next event the subscriber receives
 * `{"eventType":"events_dropped_event","count":N,"reason":"subscriber_queue_overflow",…}`.
 *
 * The set of callback URLs is kept in the store (Redis or files), so it
 * survives restarts and failover; `--http_endpoints` URLs are added at start.
 */
import { request as httpRequest, Agent as HttpAgent } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { AgoraError, type Clock, type Disposable, type Logger, silentLogger, systemClock } from '@agora/common';
import type { EventSubscriptionRepository } from '../storage/repositories.js';
import { SerialQueue } from '../util/serial-queue.js';
import type { EventBus } from './event-bus.js';
import type { EventsDroppedEvent, PublishedEvent, SubscriptionEvent } from './types.js';

export type { EventSubscriptionRepository };

export interface HttpCallbackOptions {
  /** Events waiting per subscriber before the oldest are dropped. @default 10000 */
  queueSize?: number;
  /** A POST that has not answered after this long failed. @default 10000 (Marathon's --http_event_request_timeout) */
  requestTimeoutMs?: number;
  /** First retry delay; doubled per consecutive failure. @default 500 */
  backoffInitialMs?: number;
  /** Retry delay cap. @default 30000 */
  backoffMaxMs?: number;
}

export const DEFAULT_HTTP_CALLBACK_OPTIONS: Required<HttpCallbackOptions> = {
  queueSize: 10_000,
  requestTimeoutMs: 10_000,
  backoffInitialMs: 500,
  backoffMaxMs: 30_000,
};

/** Delivery figures of one subscriber (`GET /v2/eventSubscriptions?detail=true`). */
export interface SubscriberMetrics {
  callbackUrl: string;
  /** Events POSTed and acknowledged with a 2xx. */
  delivered: number;
  /** Failed attempts that were retried. */
  retried: number;
  /** Events dropped on queue overflow (total). */
  dropped: number;
  /** `events_dropped_event` markers delivered. */
  markersDelivered: number;
  /** Events waiting (not counting the one in flight). */
  queued: number;
  /** Age of the oldest undelivered event, ms (0 when caught up). */
  lagMs: number;
  /** Id of the last event delivered. */
  lastDeliveredEventId: number | null;
  /** The last failure, while it is failing. */
  lastError: string | null;
}

/** A callback URL must be an absolute http(s) URL; anything else is AGORA_ERR_BAD_REQUEST (400). */
export function validateCallbackUrl(raw: unknown): string {
  if (typeof raw !== 'string' || raw.trim() === '') {
    throw new AgoraError('AGORA_ERR_BAD_REQUEST', 'callbackUrl is required: ?callbackUrl=http://host:port/path');
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AgoraError('AGORA_ERR_BAD_REQUEST', `callbackUrl '${raw}' is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AgoraError('AGORA_ERR_BAD_REQUEST', `callbackUrl '${raw}' must use http or https, not ${url.protocol}`);
  }
  if (url.hostname === '') throw new AgoraError('AGORA_ERR_BAD_REQUEST', `callbackUrl '${raw}' has no host`);
  return raw.trim();
}

/** One subscriber: its queue and its delivery loop. */
export class CallbackSubscriber implements Disposable {
  private readonly queue: PublishedEvent[] = [];
  private current: PublishedEvent | undefined;
  private pendingDropped = 0;
  private pumping = false;
  private closed = false;
  private wake: { timer: Disposable; resolve: () => void } | undefined;
  private readonly agent: HttpAgent;
  private readonly url: URL;
  private readonly m = {
    delivered: 0,
    retried: 0,
    dropped: 0,
    markersDelivered: 0,
    lastDeliveredEventId: null as number | null,
    lastError: null as string | null,
  };

  constructor(
    readonly callbackUrl: string,
    private readonly o: Required<HttpCallbackOptions>,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.url = new URL(callbackUrl);
    const Agent = this.url.protocol === 'https:' ? HttpsAgent : HttpAgent;
    this.agent = new Agent({ keepAlive: true, maxSockets: 1 });
  }

  /** Enqueue (never blocks); drops the oldest waiting event when full. */
  enqueue(event: PublishedEvent): void {
    if (this.closed) return;
    this.queue.push(event);
    while (this.queue.length > this.o.queueSize) {
      this.queue.shift();
      this.m.dropped++;
      this.pendingDropped++;
    }
    if (!this.pumping) {
      this.pump().catch((err: unknown) =>
        this.logger.error({ err, callbackUrl: this.callbackUrl }, 'delivery loop failed'),
      );
    }
  }

  metrics(): SubscriberMetrics {
    const oldest = this.current ?? this.queue[0];
    const lagMs = oldest === undefined ? 0 : Math.max(0, this.clock.now() - Date.parse(oldest.event.timestamp));
    return { callbackUrl: this.callbackUrl, ...this.m, queued: this.queue.length, lagMs };
  }

  dispose(): void {
    this.closed = true;
    this.queue.length = 0;
    this.wake?.timer.dispose();
    this.wake?.resolve();
    this.agent.destroy();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (!this.closed) {
        let body: string;
        let markerCount = 0;
        if (this.pendingDropped > 0) {
          markerCount = this.pendingDropped;
          const marker: EventsDroppedEvent = {
            count: markerCount,
            reason: 'subscriber_queue_overflow',
            eventType: 'events_dropped_event',
            timestamp: new Date(this.clock.now()).toISOString(),
          };
          body = JSON.stringify(marker);
        } else {
          this.current = this.queue.shift();
          if (this.current === undefined) break;
          body = this.current.json;
        }
        for (let failures = 0; !this.closed; ) {
          const error = await this.post(body);
          if (error === undefined) break;
          failures++;
          this.m.retried++;
          if (this.m.lastError === null) this.logger.warn({ callbackUrl: this.callbackUrl, error }, 'callback failing');
          this.m.lastError = error;
          await this.sleep(Math.min(this.o.backoffInitialMs * 2 ** (failures - 1), this.o.backoffMaxMs));
        }
        if (this.closed) break;
        this.m.lastError = null;
        if (markerCount > 0) {
          this.pendingDropped -= markerCount;
          this.m.markersDelivered++;
        } else if (this.current !== undefined) {
          this.m.delivered++;
          this.m.lastDeliveredEventId = this.current.id;
          this.current = undefined;
        }
      }
    } finally {
      this.current = undefined;
      this.pumping = false;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = { timer, resolve };
    });
  }

  /** POST once: undefined on a 2xx, else why it failed. */
  private post(body: string): Promise<string | undefined> {
    return new Promise((resolve) => {
      let settled = false;
      const done = (error: string | undefined): void => {
        if (settled) return;
        settled = true;
        timer.dispose();
        resolve(error);
      };
      const send = this.url.protocol === 'https:' ? httpsRequest : httpRequest;
      let req: ReturnType<typeof httpRequest>;
      try {
        req = send(
          this.url,
          {
            method: 'POST',
            agent: this.agent,
            headers: {
              'content-type': 'application/json',
              accept: 'application/json',
              'content-length': Buffer.byteLength(body),
            },
          },
          (res) => {
            const status = res.statusCode ?? 0;
            res.on('error', (err) => done(`response failed: ${err.message}`));
            res.on('close', () => done('connection closed before the answer ended'));
            res.on('end', () => done(status >= 200 && status < 300 ? undefined : `HTTP ${status}`));
            res.resume();
          },
        );
      } catch (err) {
        resolve(err instanceof Error ? err.message : String(err));
        return;
      }
      const timer: Disposable = this.clock.setTimeout(() => {
        req.destroy();
        done(`no answer within ${this.o.requestTimeoutMs} ms`);
      }, this.o.requestTimeoutMs);
      req.on('error', (err) => done(err.message));
      req.end(body);
    });
  }
}

export interface HttpCallbacksDeps {
  bus: EventBus;
  /** Absent: subscriptions live in memory only. */
  repository?: EventSubscriptionRepository | undefined;
  clock?: Clock;
  logger?: Logger;
}

/** The set of subscribers, kept in the store, fed from the bus. */
export class HttpCallbacks implements Disposable {
  private readonly subscribers = new Map<string, CallbackSubscriber>();
  private readonly queue = new SerialQueue();
  private readonly o: Required<HttpCallbackOptions>;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private busSubscription: Disposable | undefined;

  constructor(
    private readonly deps: HttpCallbacksDeps,
    options: HttpCallbackOptions = {},
  ) {
    this.o = { ...DEFAULT_HTTP_CALLBACK_OPTIONS, ...stripUndefined(options) };
    if (!Number.isInteger(this.o.queueSize) || this.o.queueSize < 1) {
      throw new AgoraError('AGORA_ERR_BAD_FLAG', `event subscriber queue size must be a positive integer`);
    }
    this.clock = deps.clock ?? systemClock;
    this.logger = deps.logger ?? silentLogger();
  }

  /** Load the stored subscriptions, add (and store) the startup endpoints, and start delivering. */
  async start(endpoints: readonly string[] = []): Promise<void> {
    const stored = (await this.deps.repository?.list()) ?? [];
    for (const url of endpoints) {
      const valid = validateCallbackUrl(url);
      if (!stored.includes(valid)) {
        await this.deps.repository?.add(valid);
        stored.push(valid);
      }
    }
    for (const url of stored) this.addSubscriber(url);
    this.busSubscription = this.deps.bus.onDidPublish((e) => {
      for (const s of this.subscribers.values()) s.enqueue(e);
    });
    if (stored.length > 0) this.logger.info({ subscribers: stored.length }, 'event subscribers loaded');
  }

  /** POST /v2/eventSubscriptions: store, start delivering, publish `subscribe_event` (returned). Idempotent. */
  subscribe(rawUrl: unknown, clientIp: string): Promise<SubscriptionEvent> {
    const callbackUrl = validateCallbackUrl(rawUrl);
    return this.queue.run(async () => {
      if (!this.subscribers.has(callbackUrl)) {
        await this.deps.repository?.add(callbackUrl);
        this.addSubscriber(callbackUrl);
        this.logger.info({ callbackUrl, clientIp }, 'event subscriber added');
      }
      return this.deps.bus.publish({ callbackUrl, clientIp, eventType: 'subscribe_event' }).event as SubscriptionEvent;
    });
  }

  /** DELETE /v2/eventSubscriptions: forget it, publish `unsubscribe_event` (returned). Unknown URLs too. */
  unsubscribe(rawUrl: unknown, clientIp: string): Promise<SubscriptionEvent> {
    const callbackUrl = validateCallbackUrl(rawUrl);
    return this.queue.run(async () => {
      const subscriber = this.subscribers.get(callbackUrl);
      if (subscriber !== undefined) {
        await this.deps.repository?.remove(callbackUrl);
        this.subscribers.delete(callbackUrl);
        subscriber.dispose();
        this.logger.info({ callbackUrl, clientIp }, 'event subscriber removed');
      }
      return this.deps.bus.publish({ callbackUrl, clientIp, eventType: 'unsubscribe_event' })
        .event as SubscriptionEvent;
    });
  }

  callbackUrls(): string[] {
    return [...this.subscribers.keys()];
  }

  metrics(): SubscriberMetrics[] {
    return [...this.subscribers.values()].map((s) => s.metrics());
  }

  dispose(): void {
    this.busSubscription?.dispose();
    for (const s of this.subscribers.values()) s.dispose();
    this.subscribers.clear();
  }

  private addSubscriber(url: string): void {
    if (this.subscribers.has(url)) return;
    this.subscribers.set(url, new CallbackSubscriber(url, this.o, this.clock, this.logger));
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
