/**
 * `GET /metrics` (Dropwizard-style JSON: `{version, counters, gauges,
 * histograms, meters, timers}`) and `GET /metrics/prometheus` (text
 * exposition 0.0.4). Gauges are read from the app manager, the task tracker
 * and the deployments at request time; HTTP counters and a request timer are
 * kept by a middleware. Names follow Marathon's (`marathon.apps.active.gauge`,
 * `marathon.http.responses.2xx.rate`, …).
 */
import type Router from '@koa/router';
import type { ApiServices } from './services.js';
import { eventGauges } from '../events/index.js';

export { ApiMetrics, metricsMiddleware } from './api-metrics.js';

/** Gauges computed now. */
function gauges(services: ApiServices): Record<string, number> {
  const apps = services.apps.list();
  const tasks = services.tasks.all();
  const by = (state: string): number => tasks.filter((t) => t.state === state).length;
  return {
    'marathon.apps.active.gauge': apps.length,
    'marathon.instances.running.gauge': by('TASK_RUNNING'),
    'marathon.instances.staged.gauge': by('TASK_STAGING'),
    'marathon.instances.launched.gauge': tasks.length,
    'marathon.deployments.active.gauge': services.deployments.list().length,
    'marathon.uptime.gauge': Math.round(process.uptime() * 1000),
    'marathon.jvm.memory.total.used.gauge.bytes': process.memoryUsage().rss,
    ...eventGauges(services.events),
  };
}

export function metricsJson(services: ApiServices): Record<string, unknown> {
  const m = services.metrics;
  return {
    version: '4.0.0',
    counters: Object.fromEntries([...(m?.counters ?? new Map<string, number>())].map(([k, v]) => [k, { count: v }])),
    gauges: Object.fromEntries(Object.entries(gauges(services)).map(([k, v]) => [k, { value: v }])),
    histograms: {},
    meters: {},
    timers: m === undefined ? {} : { 'marathon.http.requests.timer.seconds': m.timer() },
  };
}

/** Prometheus names: dots and dashes become underscores. */
export function promName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_:]/g, '_');
}

export function prometheusText(services: ApiServices): string {
  const lines: string[] = [];
  for (const [k, v] of Object.entries(gauges(services))) {
    const n = promName(k);
    lines.push(`# TYPE ${n} gauge`, `${n} ${v}`);
  }
  for (const [k, v] of services.metrics?.counters ?? new Map<string, number>()) {
    const n = `${promName(k)}_total`;
    lines.push(`# TYPE ${n} counter`, `${n} ${v}`);
  }
  const t = services.metrics?.timer();
  if (t !== undefined) {
    const n = 'marathon_http_requests_timer_seconds';
    lines.push(`# TYPE ${n} summary`);
    for (const [q, key] of [
      ['0.5', 'p50'],
      ['0.95', 'p95'],
      ['0.99', 'p99'],
    ] as const) {
      lines.push(`${n}{quantile="${q}"} ${t[key]}`);
    }
    lines.push(`${n}_count ${t['count']}`, `${n}_sum ${Number(t['mean']) * Number(t['count'])}`);
  }
  return `${lines.join('\n')}\n`;
}

export function registerMetricsRoutes(router: Router, services: ApiServices): void {
  router.get('/metrics', (ctx) => {
    ctx.body = metricsJson(services);
  });
  router.get('/metrics/prometheus', (ctx) => {
    ctx.type = 'text/plain; version=0.0.4';
    ctx.body = prometheusText(services);
  });
}
