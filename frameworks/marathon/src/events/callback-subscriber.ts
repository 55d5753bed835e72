/**
 * One HTTP callback subscriber: its cursor, its bounded in-memory queue and
 * its delivery loop. Events are POSTed one at a time, in log order; a failed
 * POST is retried with exponential backoff until it succeeds.
 *
 * With a durable event log the in-memory queue is only a window: when it
 * overflows, or after a restart, the subscriber reads the events after its
 * cursor back from the log, so it loses nothing the log still holds. A gap in
 * the ids it is about to deliver (events trimmed from the log before it got
 * them) is announced first with `events_dropped_event` (exact count).
 * Without a store, overflow drops the oldest waiting events and the next
 * marker counts them.
 *
 * Each POST carries the event id in the `Agora-Event-Id` header (the JSON
 * stays Marathon's), so a subscriber can drop the duplicates that
 * at-least-once delivery allows.
 */
import { request as httpRequest, Agent as HttpAgent } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import type { Clock, Disposable, Logger } from '@agora/common';
import type { DropReason, EventsDroppedEvent, PublishedEvent } from './types.js';

/** The header naming the event id of a callback POST (absent on markers). */
export const EVENT_ID_HEADER = 'agora-event-id';

/** Events read back from the log per request. */
const PAGE = 500;

export interface CallbackOptions {
  queueSize: number;
  requestTimeoutMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
}

/** Where a subscriber's events come from: the event log. */
export interface SubscriberSource {
  readonly durable: boolean;
  /** Id of the newest event handed on. */
  readonly lastId: number;
  readAfter(afterId: number, limit: number): Promise<PublishedEvent[]>;
}

/** Delivery figures of one subscriber (`GET /v2/eventSubscriptions?detail=true`). */
export interface SubscriberMetrics {
  callbackUrl: string;
  /** Events POSTed and acknowledged with a 2xx. */
  delivered: number;
  /** Failed attempts that were retried. */
  retried: number;
  /** Events this subscriber missed (queue overflow without a store; trimmed from the log with one). */
  dropped: number;
  /** `events_dropped_event` markers delivered. */
  markersDelivered: number;
  /** Events waiting (not counting the one in flight). */
  queued: number;
  /** Age of the oldest undelivered event, ms (0 when caught up or unknown). */
  lagMs: number;
  /** Id of the last event delivered (its cursor). */
  lastDeliveredEventId: number | null;
  /** The last failure, while it is failing. */
  lastError: string | null;
}

export class CallbackSubscriber implements Disposable {
  private readonly buffer: PublishedEvent[] = [];
  private page: PublishedEvent[] = [];
  private backlog: boolean;
  private cursor: number;
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

  /**
   * @param cursor id of the last event already delivered: delivery starts after it
   * @param onDelivered called after each acknowledged event (to save the cursor)
   */
  constructor(
    readonly callbackUrl: string,
    private readonly o: CallbackOptions,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly source: SubscriberSource,
    cursor: number,
    private readonly onDelivered: (callbackUrl: string, id: number) => void = () => {},
  ) {
    this.url = new URL(callbackUrl);
    const Agent = this.url.protocol === 'https:' ? HttpsAgent : HttpAgent;
    this.agent = new Agent({ keepAlive: true, maxSockets: 1 });
    this.cursor = cursor;
    this.backlog = source.durable && cursor < source.lastId;
    if (this.backlog) this.kick();
  }

  /** Enqueue a logged event (never blocks). Full queue: re-read from the log later, or (no store) drop the oldest. */
  enqueue(event: PublishedEvent): void {
    if (this.closed || event.id <= this.cursor) return;
    this.buffer.push(event);
    while (this.buffer.length > this.o.queueSize) {
      this.buffer.shift();
      if (this.source.durable) {
        this.backlog = true;
      } else {
        this.m.dropped++;
        this.pendingDropped++;
      }
    }
    this.kick();
  }

  metrics(): SubscriberMetrics {
    const oldest = this.current ?? this.page[0] ?? this.buffer[0];
    const lagMs = oldest === undefined ? 0 : Math.max(0, this.clock.now() - Date.parse(oldest.event.timestamp));
    const queued = this.source.durable
      ? Math.max(0, this.source.lastId - this.cursor - (this.current === undefined ? 0 : 1))
      : this.buffer.length;
    return { callbackUrl: this.callbackUrl, ...this.m, queued, lagMs };
  }

  dispose(): void {
    this.closed = true;
    this.buffer.length = 0;
    this.page = [];
    this.wake?.timer.dispose();
    this.wake?.resolve();
    this.agent.destroy();
  }

  private kick(): void {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    this.pump()
      .catch((err: unknown) => this.logger.error({ err, callbackUrl: this.callbackUrl }, 'delivery loop failed'))
      .finally(() => {
        this.pumping = false;
      });
  }

  /** The next event to deliver: read back from the log while behind, else from the queue. */
  private async next(): Promise<PublishedEvent | undefined> {
    for (let failures = 0; !this.closed; ) {
      const fromPage = this.page.shift();
      if (fromPage !== undefined) return fromPage;
      if (!this.backlog) break;
      let got: PublishedEvent[];
      try {
        got = await this.source.readAfter(this.cursor, PAGE);
      } catch (err) {
        this.noteFailure(`cannot read the event log: ${(err as Error).message}`);
        await this.sleep(this.backoff(++failures));
        continue;
      }
      const head = this.buffer[0]?.id;
      const last = got[got.length - 1]?.id;
      if (got.length < PAGE || (head !== undefined && last !== undefined && last >= head)) this.backlog = false;
      this.page = head === undefined ? got : got.filter((e) => e.id < head);
    }
    while (this.buffer.length > 0 && this.buffer[0]!.id <= this.cursor) this.buffer.shift();
    return this.buffer.shift();
  }

  private async pump(): Promise<void> {
    try {
      while (!this.closed) {
        const next = await this.next();
        if (this.closed) break;
        // Missed events: a gap in the log's consecutive ids (durable), or overflow drops (memory).
        const gap = next !== undefined && this.source.durable ? next.id - this.cursor - 1 : 0;
        const missed = this.source.durable ? gap : this.pendingDropped;
        if (missed > 0) {
          if (this.source.durable) this.m.dropped += gap;
          this.current = next;
          const reason: DropReason = this.source.durable ? 'event_log_exceeded' : 'subscriber_queue_overflow';
          if (!(await this.deliver(this.marker(missed, reason), undefined))) break;
          this.m.markersDelivered++;
          if (!this.source.durable) this.pendingDropped -= missed;
        }
        if (next === undefined) {
          if (this.pendingDropped > 0) continue;
          break;
        }
        this.current = next;
        if (!(await this.deliver(next.json, next.id))) break;
        this.current = undefined;
        this.cursor = next.id;
        this.m.delivered++;
        this.m.lastDeliveredEventId = next.id;
        this.onDelivered(this.callbackUrl, next.id);
      }
    } finally {
      this.current = undefined;
    }
  }

  private marker(count: number, reason: DropReason): string {
    const marker: EventsDroppedEvent = {
      count,
      reason,
      eventType: 'events_dropped_event',
      timestamp: new Date(this.clock.now()).toISOString(),
    };
    return JSON.stringify(marker);
  }

  /** POST until acknowledged (true) or the subscriber is closed (false). */
  private async deliver(body: string, id: number | undefined): Promise<boolean> {
    for (let failures = 0; !this.closed; ) {
      const error = await this.post(body, id);
      if (error === undefined) {
        this.m.lastError = null;
        return !this.closed;
      }
      this.m.retried++;
      this.noteFailure(error);
      await this.sleep(this.backoff(++failures));
    }
    return false;
  }

  private noteFailure(error: string): void {
    if (this.m.lastError === null) this.logger.warn({ callbackUrl: this.callbackUrl, error }, 'callback failing');
    this.m.lastError = error;
  }

  private backoff(failures: number): number {
    return Math.min(this.o.backoffInitialMs * 2 ** (failures - 1), this.o.backoffMaxMs);
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
  private post(body: string, id: number | undefined): Promise<string | undefined> {
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
              ...(id === undefined ? {} : { [EVENT_ID_HEADER]: String(id) }),
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
