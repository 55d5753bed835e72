/**
 * HTTP callback subscribers (Marathon ≤1.4's `/v2/eventSubscriptions`, made
 * reliable). Each subscriber (`callback-subscriber.ts`) has its own cursor,
 * bounded queue and delivery loop: events are POSTed as JSON one at a time,
 * in publish order; a failed POST is retried with exponential backoff until it
 * succeeds. The bus only enqueues, so a slow or dead subscriber never delays
 * the scheduler or any other subscriber.
 *
 * The set of callback URLs is kept in the store (Redis or files), so it
 * survives restarts and failover; `--http_endpoints` URLs are added at start.
 * With a store, events come from the durable event log (`event-log.ts`) and
 * each subscriber's cursor (last event delivered) is saved after deliveries
 * (coalesced: one write for every cursor that moved while the previous write
 * was in flight), so after a restart or failover delivery resumes where it
 * stopped: at least once, in order.
 */
import { AgoraError, type Clock, type Disposable, type Logger, silentLogger, systemClock } from '@agora/common';
import type { EventSubscriptionRepository } from '../storage/repositories.js';
import { SerialQueue } from '../util/serial-queue.js';
import { CallbackSubscriber, type SubscriberMetrics } from './callback-subscriber.js';
import type { EventBus } from './event-bus.js';
import { EventLog, type EventLogMetrics } from './event-log.js';
import type { SubscriptionEvent } from './types.js';

export { CallbackSubscriber, EVENT_ID_HEADER, type SubscriberMetrics } from './callback-subscriber.js';
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

export interface HttpCallbacksDeps {
  bus: EventBus;
  /** Where events come from; absent: a pass-through log of the bus (memory only), owned by this. */
  log?: EventLog | undefined;
  /** Absent: subscriptions live in memory only. Its `log` keeps the cursors when `log` is durable. */
  repository?: EventSubscriptionRepository | undefined;
  clock?: Clock;
  logger?: Logger;
}

/** The set of subscribers, kept in the store, fed from the event log. */
export class HttpCallbacks implements Disposable {
  private readonly subscribers = new Map<string, CallbackSubscriber>();
  private readonly queue = new SerialQueue();
  private readonly o: Required<HttpCallbackOptions>;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly log: EventLog;
  private readonly ownsLog: boolean;
  private logSubscription: Disposable | undefined;
  /** Cursors that moved and are not saved yet. */
  private readonly dirty = new Map<string, number>();
  private saving = false;
  private disposed = false;

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
    this.ownsLog = deps.log === undefined;
    this.log = deps.log ?? new EventLog(deps.bus, undefined);
  }

  private get cursorStore() {
    return this.log.durable ? this.deps.repository?.log : undefined;
  }

  /**
   * Load the stored subscriptions and their cursors, add (and store) the startup endpoints, and start
   * delivering: each subscriber resumes after its cursor (one without a cursor starts with new events).
   */
  async start(endpoints: readonly string[] = []): Promise<void> {
    const stored = (await this.deps.repository?.list()) ?? [];
    const cursors = (await this.cursorStore?.cursors()) ?? {};
    for (const url of endpoints) {
      const valid = validateCallbackUrl(url);
      if (!stored.includes(valid)) {
        await this.cursorStore?.saveCursors({ [valid]: this.deps.bus.lastId });
        await this.deps.repository?.add(valid);
        stored.push(valid);
        cursors[valid] = this.deps.bus.lastId;
      }
    }
    this.logSubscription = this.log.onDidAppend((e) => {
      for (const s of this.subscribers.values()) s.enqueue(e);
    });
    for (const url of stored) this.addSubscriber(url, cursors[url] ?? this.log.lastId);
    if (stored.length > 0) this.logger.info({ subscribers: stored.length }, 'event subscribers loaded');
  }

  /** POST /v2/eventSubscriptions: store, start delivering, publish `subscribe_event` (returned). Idempotent. */
  subscribe(rawUrl: unknown, clientIp: string): Promise<SubscriptionEvent> {
    const callbackUrl = validateCallbackUrl(rawUrl);
    return this.queue.run(async () => {
      if (!this.subscribers.has(callbackUrl)) {
        // The cursor first: a crash between the two writes leaves an unused cursor, never a subscription without one.
        await this.cursorStore?.saveCursors({ [callbackUrl]: this.deps.bus.lastId });
        await this.deps.repository?.add(callbackUrl);
        // Delivery starts with the events published from now on (the stored cursor may be a little older).
        this.addSubscriber(callbackUrl, this.deps.bus.lastId);
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
        this.dirty.delete(callbackUrl);
        subscriber.dispose();
        await this.cursorStore
          ?.deleteCursor(callbackUrl)
          .catch((err: unknown) => this.logger.warn({ err, callbackUrl }, 'could not delete the event cursor'));
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

  /** Figures of the event log the subscribers are fed from. */
  logMetrics(): EventLogMetrics {
    return this.log.metrics();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.logSubscription?.dispose();
    for (const s of this.subscribers.values()) s.dispose();
    // Best effort: save what moved since the last write (the store may close right after).
    if (this.dirty.size > 0 && !this.saving) {
      this.cursorStore?.saveCursors(Object.fromEntries(this.dirty)).catch(() => {});
    }
    this.dirty.clear();
    this.subscribers.clear();
    if (this.ownsLog) this.log.dispose();
  }

  private addSubscriber(url: string, cursor: number): void {
    if (this.subscribers.has(url)) return;
    this.subscribers.set(
      url,
      new CallbackSubscriber(url, this.o, this.clock, this.logger, this.log, cursor, (u, id) => this.moved(u, id)),
    );
  }

  private moved(url: string, id: number): void {
    if (this.cursorStore === undefined) return;
    this.dirty.set(url, id);
    if (!this.saving) void this.saveCursors();
  }

  /** Save moved cursors, one write at a time; what moves meanwhile goes in the next write. */
  private async saveCursors(): Promise<void> {
    const store = this.cursorStore;
    if (store === undefined) return;
    this.saving = true;
    try {
      while (this.dirty.size > 0 && !this.disposed) {
        const batch = Object.fromEntries(this.dirty);
        this.dirty.clear();
        try {
          await store.saveCursors(batch);
        } catch (err) {
          for (const [url, id] of Object.entries(batch)) {
            if (!this.dirty.has(url) && this.subscribers.has(url)) this.dirty.set(url, id);
          }
          this.logger.warn({ err }, 'could not save event cursors; retrying');
          await new Promise<void>((resolve) => this.clock.setTimeout(resolve, 500));
        }
      }
    } finally {
      this.saving = false;
    }
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
