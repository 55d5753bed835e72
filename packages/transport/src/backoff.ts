/** Exponential backoff with full jitter, for reconnects and retries. */

export interface BackoffOptions {
  /** First delay in ms. @default 100 */
  initialMs?: number;
  /** Upper bound in ms. @default 15000 */
  maxMs?: number;
  /** Growth per attempt. @default 2 */
  factor?: number;
  /** Random source in [0,1); pass a seeded one in tests. @default Math.random */
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private readonly random: () => number;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 100;
    this.maxMs = options.maxMs ?? 15_000;
    this.factor = options.factor ?? 2;
    this.random = options.random ?? Math.random;
  }

  /** The next delay: a random point in [ceiling/2, ceiling], ceiling growing per attempt. */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.initialMs * this.factor ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 64);
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
