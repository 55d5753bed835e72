/**
 * The SSE streams of `GET /v2/events`: Marathon's framing
 * (`event: <type>\ndata: <one-line JSON>\n\n`) plus an `id: <event id>` line,
 * keep-alive comments (`: keep-alive`), `event_type` filters, and replay of
 * what a reconnecting client missed (`Last-Event-ID`) from a bounded ring
 * buffer of recent events.
 *
 * Memory is bounded per reader: frames the socket does not take at once wait
 * in a queue of at most `maxOutstandingMessages`; a reader that falls further
 * behind is sent a final `events_dropped_event` (reason `slow_reader`) and
 * disconnected (Marathon ≥1.8 closes such connections too, without saying).
 * When `Last-Event-ID` is older than the buffer reaches, the replay starts
 * with an `events_dropped_event` (reason `replay_buffer_exceeded`) counting
 * the events that cannot be replayed (null when they were published before a
 * restart and are not in the durable log either).
 *
 * Streams are fed from the event log: with a store, an event is sent only once
 * it is stored, and at start the replay buffer is filled from the durable log,
 * so `Last-Event-ID` replay works across a restart or failover.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Clock, type Disposable, type Logger, silentLogger, systemClock } from '@agora/common';
import type { EventBus } from './event-bus.js';
import { EventLog } from './event-log.js';
import type { DropReason, EventsDroppedEvent, PublishedEvent } from './types.js';

export interface EventStreamOptions {
  /** Keep-alive comment period, ms (below the 10 s idle timeout of the standby proxy). @default 5000 */
  heartbeatMs?: number;
  /** Frames waiting for a slow reader before it is cut off (Marathon's --event_stream_max_outstanding_messages). @default 1024 */
  maxOutstandingMessages?: number;
  /** Recent events kept for `Last-Event-ID` replay. @default 1000 */
  replayBufferSize?: number;
  /** A cut-off reader's socket is destroyed after this long if the final message cannot be flushed. @default 5000 */
  closeGraceMs?: number;
}

export const DEFAULT_EVENT_STREAM_OPTIONS: Required<EventStreamOptions> = {
  heartbeatMs: 5000,
  maxOutstandingMessages: 1024,
  replayBufferSize: 1000,
  closeGraceMs: 5000,
};

/** How long a new stream waits for earlier events to be stored before it starts anyway. */
const FLUSH_WAIT_MS = 5000;

export interface AttachOptions {
  /** Only these event types (undefined: all). Markers are always sent. */
  eventTypes?: ReadonlySet<string> | undefined;
  /** Replay events after this id first. */
  lastEventId?: number | undefined;
}

/** One SSE frame (`id:` omitted for markers, which are not on the bus). */
export function sseFrame(eventType: string, json: string, id?: number): string {
  return `event: ${eventType}\ndata: ${json}\n${id === undefined ? '' : `id: ${id}\n`}\n`;
}

class StreamConnection {
  private readonly waiting: string[] = [];
  private blocked = false;
  private ended = false;

  constructor(
    readonly res: ServerResponse,
    readonly remoteAddress: string,
    readonly eventTypes: ReadonlySet<string> | undefined,
    private readonly hub: EventStreams,
    private readonly maxOutstanding: number,
  ) {
    res.on('drain', () => this.flush());
  }

  get isEnded(): boolean {
    return this.ended;
  }

  send(e: PublishedEvent): void {
    if (this.eventTypes !== undefined && !this.eventTypes.has(e.event.eventType)) return;
    this.write(sseFrame(e.event.eventType, e.json, e.id));
  }

  write(frame: string): void {
    if (this.ended) return;
    if (this.blocked) {
      this.waiting.push(frame);
      this.hub.notePeak(this.waiting.length);
      if (this.waiting.length > this.maxOutstanding) this.hub.cutOff(this, this.waiting.length);
      return;
    }
    if (!this.res.write(frame)) this.blocked = true;
  }

  /** Write a last frame (even past the limit) and end the response. */
  end(lastFrame?: string): void {
    if (this.ended) return;
    this.ended = true;
    this.waiting.length = 0;
    if (lastFrame !== undefined) this.res.write(lastFrame);
    this.res.end();
  }

  private flush(): void {
    this.blocked = false;
    while (!this.blocked && !this.ended) {
      const frame = this.waiting.shift();
      if (frame === undefined) break;
      if (!this.res.write(frame)) this.blocked = true;
    }
  }
}

export interface EventStreamsDeps {
  bus: EventBus;
  /** Where events come from; absent: a pass-through log of the bus, owned by this. */
  log?: EventLog | undefined;
  clock?: Clock;
  logger?: Logger;
}

/** Every open `/v2/events` stream, the replay buffer and the keep-alive timer. */
export class EventStreams implements Disposable {
  private readonly connections = new Set<StreamConnection>();
  private readonly recent: PublishedEvent[] = [];
  private readonly o: Required<EventStreamOptions>;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly disposables: Disposable[] = [];
  private cutOffCount = 0;
  private peak = 0;
  private readonly log: EventLog;
  /** The oldest id whose successors are all known (stored or published by this process). */
  private knownFrom: number;

  constructor(
    private readonly deps: EventStreamsDeps,
    options: EventStreamOptions = {},
  ) {
    this.o = { ...DEFAULT_EVENT_STREAM_OPTIONS };
    for (const [k, v] of Object.entries(options)) if (v !== undefined) (this.o as Record<string, number>)[k] = v;
    this.clock = deps.clock ?? systemClock;
    this.logger = deps.logger ?? silentLogger();
    this.log = deps.log ?? new EventLog(deps.bus, undefined);
    if (deps.log === undefined) this.disposables.push(this.log);
    this.knownFrom = deps.bus.firstId;
    this.disposables.push(
      this.log.onDidAppend((e) => {
        this.recent.push(e);
        if (this.recent.length > this.o.replayBufferSize) this.recent.shift();
        for (const c of this.connections) c.send(e);
      }),
      this.clock.setInterval(() => {
        for (const c of this.connections) c.write(': keep-alive\n\n');
      }, this.o.heartbeatMs),
    );
  }

  /** Open streams. */
  get size(): number {
    return this.connections.size;
  }

  /** The most frames that ever waited for one reader (bounded by maxOutstandingMessages + 1). */
  get peakWaiting(): number {
    return this.peak;
  }

  notePeak(waiting: number): void {
    if (waiting > this.peak) this.peak = waiting;
  }

  /** Readers cut off for being too slow, since start. */
  get cutOffReaders(): number {
    return this.cutOffCount;
  }

  /** Fill the replay buffer with events read back from the durable log at start; `oldestId`: the oldest it holds. */
  seed(recent: readonly PublishedEvent[], oldestId: number | undefined): void {
    const newer = this.recent.splice(0);
    this.recent.push(
      ...recent.slice(-this.o.replayBufferSize),
      ...newer.filter((e) => e.id > (recent.at(-1)?.id ?? -1)),
    );
    if (this.recent.length > this.o.replayBufferSize)
      this.recent.splice(0, this.recent.length - this.o.replayBufferSize);
    if (oldestId !== undefined) this.knownFrom = oldestId;
  }

  /**
   * Take over the response: headers, replay, then live events; publishes event_stream_attached/detached.
   * With a durable log, events published before the call are first stored, so they are replayed, not lost.
   */
  attach(req: IncomingMessage, res: ServerResponse, options: AttachOptions = {}): void {
    if (this.log.durable && this.log.lastId < this.deps.bus.lastId) {
      // Wait (at most FLUSH_WAIT_MS: the store may be down) until what was published before is stored.
      let timer: Disposable | undefined;
      const waited = new Promise<void>((resolve) => {
        timer = this.clock.setTimeout(resolve, FLUSH_WAIT_MS);
      });
      void Promise.race([this.log.flushed(this.deps.bus.lastId), waited]).then(() => {
        timer?.dispose();
        if (!res.destroyed && !res.writableEnded) this.attachNow(req, res, options);
      });
      return;
    }
    this.attachNow(req, res, options);
  }

  private attachNow(req: IncomingMessage, res: ServerResponse, options: AttachOptions): void {
    const remoteAddress = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    const c = new StreamConnection(res, remoteAddress, options.eventTypes, this, this.o.maxOutstandingMessages);
    if (options.lastEventId !== undefined) this.replay(c, options.lastEventId);
    this.connections.add(c);
    const detach = (): void => {
      if (!this.connections.delete(c)) return;
      c.end();
      this.deps.bus.publish({ remoteAddress, eventType: 'event_stream_detached' });
    };
    res.on('close', detach);
    req.on('close', () => {
      if (res.writableEnded || res.destroyed) detach();
    });
    this.deps.bus.publish({ remoteAddress, eventType: 'event_stream_attached' });
  }

  /** A reader fell more than maxOutstandingMessages behind: tell it, end it, destroy the socket after a grace. */
  cutOff(c: StreamConnection, missed: number): void {
    this.connections.delete(c);
    this.cutOffCount++;
    this.logger.warn({ remoteAddress: c.remoteAddress, missed }, 'slow event stream reader disconnected');
    c.end(this.marker(missed, 'slow_reader'));
    const timer = this.clock.setTimeout(() => c.res.destroy(), this.o.closeGraceMs);
    c.res.on('close', () => timer.dispose());
    this.deps.bus.publish({ remoteAddress: c.remoteAddress, eventType: 'event_stream_detached' });
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    for (const c of this.connections) {
      c.end();
      c.res.destroy();
    }
    this.connections.clear();
    this.recent.length = 0;
  }

  private replay(c: StreamConnection, lastEventId: number): void {
    const lastId = this.log.lastId;
    if (lastEventId >= lastId) return;
    const oldest = this.recent[0]?.id ?? lastId + 1;
    if (oldest > lastEventId + 1) {
      const known = lastEventId >= this.knownFrom - 1;
      c.write(this.marker(known ? oldest - lastEventId - 1 : null, 'replay_buffer_exceeded'));
    }
    for (const e of this.recent) if (e.id > lastEventId) c.send(e);
  }

  private marker(count: number | null, reason: DropReason): string {
    const marker: EventsDroppedEvent = {
      count,
      reason,
      eventType: 'events_dropped_event',
      timestamp: new Date(this.clock.now()).toISOString(),
    };
    return sseFrame(marker.eventType, JSON.stringify(marker));
  }
}
