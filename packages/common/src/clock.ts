/**
 * Time as an input. Components take a `Clock`; tests pass a `FakeClock` and
 * move time with `advance()` instead of sleeping (Mesos' Clock::pause/advance).
 */
import type { Disposable } from './disposable.js';

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): Disposable;
  setInterval(fn: () => void, ms: number): Disposable;
}

/** The real clock. Timers are unref'd only when asked, so daemons stay alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    return { dispose: () => clearTimeout(t) };
  },
  setInterval(fn, ms) {
    const t = setInterval(fn, ms);
    return { dispose: () => clearInterval(t) };
  },
};

interface FakeTimer {
  id: number;
  at: number;
  fn: () => void;
  every?: number;
}

/** A clock that only moves when told to. Timers fire in time order during `advance`. */
export class FakeClock implements Clock {
  private time: number;
  private nextId = 1;
  private timers: FakeTimer[] = [];

  constructor(start = 1_700_000_000_000) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): Disposable {
    return this.add({ id: this.nextId++, at: this.time + Math.max(0, ms), fn });
  }

  setInterval(fn: () => void, ms: number): Disposable {
    const every = Math.max(1, ms);
    return this.add({ id: this.nextId++, at: this.time + every, fn, every });
  }

  /** Move time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const until = this.time + ms;
    for (let fired = 0; fired < 1_000_000; fired++) {
      const next = this.timers.reduce<FakeTimer | undefined>(
        (a, t) => (a === undefined || t.at < a.at ? t : a),
        undefined,
      );
      if (next === undefined || next.at > until) break;
      this.time = next.at;
      if (next.every !== undefined) next.at += next.every;
      else this.timers = this.timers.filter((t) => t !== next);
      next.fn();
    }
    this.time = until;
  }

  /** Let pending promise callbacks run (microtasks and one macrotask turn). */
  async settle(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  private add(timer: FakeTimer): Disposable {
    this.timers.push(timer);
    return { dispose: () => (this.timers = this.timers.filter((t) => t !== timer)) };
  }
}
