/**
 * The event log between the bus and the deliverers (HTTP callbacks, SSE).
 *
 * With a store (`EventLogRepository`), published events are appended to a
 * durable, bounded log in batches: everything published while one append is
 * in flight goes in the next one (one pipelined round trip / one fsync per
 * batch). An event is handed on (`onDidAppend`, in publish order) only once
 * its batch is stored, so no subscriber or SSE reader ever sees an event a
 * restart could take back, and a subscriber that falls behind, or whose
 * Marathon died, is resumed from the log by its cursor.
 *
 * Ids in the log are consecutive across restarts and failovers (a new leader
 * continues after the newest logged id), so a gap between two ids is an exact
 * count of events a reader missed (trimmed away by the bound, or dropped
 * before they could be stored).
 *
 * While the store fails, batches are retried with backoff and new events wait
 * in memory, at most `maxPending`; beyond that the oldest are dropped (their
 * ids then show up as a counted gap).
 *
 * Without a store the log is a pass-through: events are handed on
 * synchronously as they are published, and nothing survives a restart.
 */
import {
  type Clock,
  type Disposable,
  Emitter,
  type Event,
  type Logger,
  silentLogger,
  systemClock,
} from '@agora/common';
import type { EventLogEntry, EventLogRepository } from '../storage/repositories.js';
import type { EventBus } from './event-bus.js';
import type { MarathonEvent, PublishedEvent } from './types.js';

export interface EventLogOptions {
  /** Entries kept in the durable log. @default 100000 */
  maxEntries?: number;
  /** Events waiting to be stored before the oldest are dropped. @default 10000 */
  maxPending?: number;
  /** Events per append. @default 1000 */
  batchSize?: number;
  /** First retry delay of a failed append (doubled, capped at 5 s). @default 100 */
  retryMs?: number;
}

export const DEFAULT_EVENT_LOG_OPTIONS: Required<EventLogOptions> = {
  maxEntries: 100_000,
  maxPending: 10_000,
  batchSize: 1000,
  retryMs: 100,
};

export interface EventLogMetrics {
  durable: boolean;
  /** Events stored since start. */
  appended: number;
  /** Published, not yet stored. */
  pending: number;
  /** Dropped because the store failed for too long (each one is counted to every subscriber). */
  dropped: number;
  /** Failed appends (retried). */
  failures: number;
  /** Id of the newest stored (handed-on) event. */
  lastId: number;
}

/** A logged event read back: parse its JSON again. */
function fromEntry(e: EventLogEntry): PublishedEvent {
  return { id: e.id, json: e.json, event: JSON.parse(e.json) as MarathonEvent };
}

export class EventLog implements Disposable {
  private readonly o: Required<EventLogOptions>;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly appended = new Emitter<PublishedEvent>();
  private readonly flushedWaiters: Array<{ id: number; resolve: () => void }> = [];
  private readonly pending: PublishedEvent[] = [];
  private busSubscription: Disposable | undefined;
  private flushing = false;
  /** Events at the head of `pending` being appended now (never dropped). */
  private inFlight = 0;
  private disposed = false;
  private retryTimer: Disposable | undefined;
  /** Waiting events that `dispose` left to store once the append in flight ends. */
  private lastBatch: EventLogEntry[] | undefined;
  private last: number;
  private readonly m = { appended: 0, dropped: 0, failures: 0 };

  /** Events stored (or, without a store, published), in order. Listeners must only enqueue. */
  readonly onDidAppend: Event<PublishedEvent> = this.appended.event;

  constructor(
    private readonly bus: EventBus,
    private readonly repository: EventLogRepository | undefined,
    options: EventLogOptions = {},
    deps: { clock?: Clock; logger?: Logger } = {},
  ) {
    this.o = { ...DEFAULT_EVENT_LOG_OPTIONS };
    for (const [k, v] of Object.entries(options)) if (v !== undefined) (this.o as Record<string, number>)[k] = v;
    this.clock = deps.clock ?? systemClock;
    this.logger = deps.logger ?? silentLogger();
    this.last = bus.lastId;
    if (repository === undefined) {
      this.busSubscription = bus.onDidPublish((e) => {
        this.last = e.id;
        this.appended.fire(e);
      });
    }
  }

  get durable(): boolean {
    return this.repository !== undefined;
  }

  /** Id of the newest event handed on. */
  get lastId(): number {
    return this.last;
  }

  /**
   * Durable log only: continue the bus's ids after the newest logged one and
   * start logging. Returns the newest `seed` logged events (for SSE replay)
   * and the oldest id the log still holds. Nothing must be published before.
   */
  async start(seed: number): Promise<{ recent: PublishedEvent[]; oldestId: number | undefined }> {
    if (this.repository === undefined || this.busSubscription !== undefined) return { recent: [], oldestId: undefined };
    const bounds = await this.repository.bounds();
    const recent = bounds === undefined || seed <= 0 ? [] : (await this.repository.tail(seed)).map(fromEntry);
    if (bounds !== undefined) this.bus.continueAfter(bounds.last);
    this.last = this.bus.lastId;
    this.busSubscription = this.bus.onDidPublish((e) => this.enqueue(e));
    this.logger.info({ lastId: this.last, oldestId: bounds?.first ?? null }, 'event log opened');
    return { recent, oldestId: bounds?.first };
  }

  /** Up to `limit` stored events after `afterId`, oldest first (none without a store). */
  async readAfter(afterId: number, limit: number): Promise<PublishedEvent[]> {
    if (this.repository === undefined) return [];
    return (await this.repository.after(afterId, limit)).map(fromEntry);
  }

  /** Resolves once every event up to `id` is stored (or dropped), or the log is disposed. */
  flushed(id: number = this.bus.lastId): Promise<void> {
    if (this.repository === undefined || id <= this.last || this.disposed || this.pending.length === 0) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.flushedWaiters.push({ id, resolve }));
  }

  metrics(): EventLogMetrics {
    return { durable: this.durable, ...this.m, pending: this.pending.length, lastId: this.last };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.busSubscription?.dispose();
    this.retryTimer?.dispose();
    // Last chance to store what is waiting (best effort: the store may close right after): now, or, while an
    // append is in flight, right after it (two appends at once could reach the file store out of order).
    const rest = this.pending.slice(this.inFlight).map((e) => ({ id: e.id, json: e.json }));
    if (this.repository !== undefined && rest.length > 0) {
      if (this.inFlight === 0) this.repository.append(rest, this.o.maxEntries).catch(() => {});
      else this.lastBatch = rest;
    }
    this.pending.length = 0;
    for (const w of this.flushedWaiters.splice(0)) w.resolve();
    this.appended.dispose();
  }

  private enqueue(e: PublishedEvent): void {
    if (this.disposed) return;
    this.pending.push(e);
    this.trim();
    if (!this.flushing) {
      this.flushing = true;
      queueMicrotask(() => void this.flush());
    }
  }

  /** Drop the oldest waiting events beyond maxPending (never those being appended). */
  private trim(): void {
    while (this.pending.length - this.inFlight > this.o.maxPending) {
      this.pending.splice(this.inFlight, 1);
      this.m.dropped++;
    }
  }

  private async flush(): Promise<void> {
    const repository = this.repository!;
    let failures = 0;
    try {
      while (!this.disposed && this.pending.length > 0) {
        const batch = this.pending.slice(0, this.o.batchSize);
        this.inFlight = batch.length;
        let failure: { err: unknown } | undefined;
        try {
          await repository.append(
            batch.map((e) => ({ id: e.id, json: e.json })),
            this.o.maxEntries,
          );
        } catch (err) {
          failure = { err };
        }
        if (this.disposed) {
          const last = this.lastBatch;
          this.lastBatch = undefined;
          if (last !== undefined) await repository.append(last, this.o.maxEntries).catch(() => {});
          return;
        }
        if (failure !== undefined) {
          const { err } = failure;
          this.inFlight = 0;
          this.trim();
          this.m.failures++;
          if (failures++ === 0) this.logger.warn({ err, pending: this.pending.length }, 'event log append failing');
          await new Promise<void>((resolve) => {
            this.retryTimer = this.clock.setTimeout(resolve, Math.min(this.o.retryMs * 2 ** (failures - 1), 5000));
          });
          this.retryTimer = undefined;
          continue;
        }
        if (failures > 0) this.logger.info({ failures }, 'event log append recovered');
        failures = 0;
        this.pending.splice(0, batch.length);
        this.inFlight = 0;
        for (const e of batch) {
          if (this.disposed) return;
          this.last = e.id;
          this.m.appended++;
          try {
            this.appended.fire(e);
          } catch (err) {
            this.logger.error({ err, eventType: e.event.eventType }, 'event log listener failed');
          }
        }
        this.resolveWaiters();
      }
    } finally {
      this.inFlight = 0;
      this.flushing = false;
      this.resolveWaiters();
    }
  }

  private resolveWaiters(): void {
    if (this.flushedWaiters.length === 0) return;
    const keep = this.flushedWaiters.filter((w) => w.id > this.last && this.pending.length > 0 && !this.disposed);
    for (const w of this.flushedWaiters) if (!keep.includes(w)) w.resolve();
    this.flushedWaiters.splice(0, this.flushedWaiters.length, ...keep);
  }
}
