/**
 * The event bus: every state change is published here, stamped with a
 * timestamp and a monotonically increasing id, serialized once, and handed to
 * the in-process subscribers (HTTP callbacks, SSE streams) synchronously and
 * in publish order. Subscribers must only enqueue: the bus never waits for
 * delivery, so a slow consumer cannot delay the scheduler.
 *
 * Ordering: an event published from inside a listener is delivered after the
 * current event has reached every listener, so all listeners see one order.
 *
 * Ids: the first id is `clock.now() * 1000` at construction, then +1 per
 * event, so ids keep increasing across restarts (unless a process published
 * more than 1000 events per millisecond of its life) and a reconnecting SSE
 * client's `Last-Event-ID` from before a restart is recognised as older.
 * With a durable event log, `continueAfter` makes ids continue after the
 * newest logged one instead, so they stay consecutive across restarts and
 * failovers.
 */
import { type Clock, type Disposable, type Event, type Logger, silentLogger, systemClock } from '@agora/common';
import type { EventPublisher, MarathonEvent, MarathonEventInput, PublishedEvent } from './types.js';

export interface EventBusOptions {
  clock?: Clock;
  logger?: Logger;
  /** The id of the first event. @default clock.now() * 1000 */
  firstId?: number;
}

export class EventBus implements EventPublisher, Disposable {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly listeners = new Set<(e: PublishedEvent) => void>();
  private readonly pending: PublishedEvent[] = [];
  private delivering = false;
  private next: number;
  private disposed = false;
  /** The id the first event of this process got. */
  readonly firstId: number;

  /** An event was published (in publish order; listeners must not block). */
  readonly onDidPublish: Event<PublishedEvent> = (listener) => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };

  constructor(options: EventBusOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger();
    this.firstId = options.firstId ?? this.clock.now() * 1000;
    this.next = this.firstId;
  }

  /** The id of the newest event (firstId - 1 before any). */
  get lastId(): number {
    return this.next - 1;
  }

  /**
   * Number the next event `lastId + 1` (the durable event log continues its ids
   * across restarts and failovers). Only before anything is published.
   */
  continueAfter(lastId: number): void {
    this.next = lastId + 1;
  }

  /** Stamp, number and serialize the event, then deliver it to every listener. */
  publish(input: MarathonEventInput): PublishedEvent {
    const { eventType, timestamp, ...payload } = input;
    const event = {
      ...payload,
      eventType,
      timestamp: timestamp ?? new Date(this.clock.now()).toISOString(),
    } as MarathonEvent;
    const published: PublishedEvent = { id: this.next++, event, json: JSON.stringify(event) };
    if (this.disposed) return published;
    this.pending.push(published);
    if (this.delivering) return published;
    this.delivering = true;
    try {
      for (let e = this.pending.shift(); e !== undefined; e = this.pending.shift()) {
        for (const listener of [...this.listeners]) {
          try {
            listener(e);
          } catch (err) {
            this.logger.error({ err, eventType: e.event.eventType }, 'event listener failed');
          }
        }
      }
    } finally {
      this.delivering = false;
    }
    return published;
  }

  dispose(): void {
    this.disposed = true;
    this.listeners.clear();
    this.pending.length = 0;
  }
}
