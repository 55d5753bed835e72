/** HTTP request counters and a request timer for `/metrics`, fed by a Koa middleware. */
import type { Context, Next } from 'koa';

/** HTTP request counters and durations, fed by `metricsMiddleware`. */
export class ApiMetrics {
  readonly counters = new Map<string, number>();
  private durationsMs: number[] = [];
  private count = 0;
  private sumMs = 0;
  private readonly startedAt = Date.now();

  record(status: number, ms: number): void {
    const cls = `${Math.floor(status / 100)}xx`;
    this.inc(`marathon.http.responses.${cls}`);
    this.inc('marathon.http.requests');
    this.count++;
    this.sumMs += ms;
    this.durationsMs.push(ms);
    if (this.durationsMs.length > 1024) this.durationsMs = this.durationsMs.slice(-1024);
  }

  inc(name: string, by = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + by);
  }

  /** The request timer in Dropwizard's shape (durations in seconds). */
  timer(): Record<string, number | string> {
    const sorted = [...this.durationsMs].sort((a, b) => a - b);
    const q = (p: number): number =>
      sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! / 1000;
    const uptime = Math.max(1, (Date.now() - this.startedAt) / 1000);
    return {
      count: this.count,
      max: sorted.length === 0 ? 0 : sorted[sorted.length - 1]! / 1000,
      mean: this.count === 0 ? 0 : this.sumMs / this.count / 1000,
      min: sorted.length === 0 ? 0 : sorted[0]! / 1000,
      p50: q(0.5),
      p75: q(0.75),
      p95: q(0.95),
      p98: q(0.98),
      p99: q(0.99),
      p999: q(0.999),
      mean_rate: this.count / uptime,
      duration_units: 'seconds',
      rate_units: 'calls/second',
    };
  }
}

export function metricsMiddleware(metrics: ApiMetrics) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const started = performance.now();
    try {
      await next();
    } finally {
      metrics.record(ctx.status, performance.now() - started);
    }
  };
}
