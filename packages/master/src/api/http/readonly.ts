/**
 * Mesos' read-only endpoints besides `/state` (also under `/master/...`):
 *
 * Leader only (served from the cached state views, state/state-snapshot.ts, in the `/state` shapes):
 * - `GET /state-summary`: agents and frameworks with resources and task counts per state, no tasks.
 * - `GET /frameworks?framework_id=`: `{frameworks, completed_frameworks, unregistered_frameworks}`.
 * - `GET /slaves?slave_id=`: `{slaves, recovered_slaves}`.
 * - `GET /tasks?framework_id=&task_id=&limit=100&offset=0&order=asc|desc`: `{tasks}` — active, unreachable
 *   and completed tasks, sorted by their first status time; a bad `limit`/`offset`/`order` is 400.
 * - `GET /flags`: `{flags}`.
 *
 * Any master (a standby too):
 * - `GET /version`: `{version, build_date, build_time, build_user, git_sha, git_branch, git_tag}`.
 * - `GET /metrics/snapshot`: Mesos' metric names → numbers (`master/elected` is 0 on a standby).
 * - `GET /metrics`: the same in the Prometheus text format.
 */
import type { Router } from '@koa/router';
import type { JsonPieces, TasksQuery } from '../../state/state-snapshot.js';
import { sendJsonPieces } from './state.js';

export interface ReadonlyDeps {
  /** The cached JSON views (state/state-snapshot.ts). */
  views: StateViews;
  flags(): Record<string, string>;
}

/** What the read-only endpoints read: JSON bodies as pieces of text. */
export interface StateViews {
  summary(): JsonPieces;
  frameworks(frameworkId?: string): JsonPieces;
  slaves(agentId?: string): JsonPieces;
  tasks(query: TasksQuery): JsonPieces;
}

export interface AnyMasterReadonlyDeps {
  version(): Record<string, unknown>;
  metrics(): Record<string, number>;
  prometheus(): string;
}

function both(path: string): string[] {
  return [path, `/master${path}`];
}

function nonNegativeInt(value: unknown, fallback: number): number | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

export function addReadonlyRoutes(router: Router, deps: ReadonlyDeps): void {
  const one = (value: unknown) => (typeof value === 'string' ? value : undefined);
  for (const path of both('/state-summary')) {
    router.get(path, (ctx) => sendJsonPieces(ctx, deps.views.summary()));
  }
  for (const path of [...both('/frameworks'), '/frameworks.json']) {
    router.get(path, (ctx) => sendJsonPieces(ctx, deps.views.frameworks(one(ctx.query['framework_id']))));
  }
  for (const path of [...both('/slaves'), '/slaves.json']) {
    router.get(path, (ctx) => sendJsonPieces(ctx, deps.views.slaves(one(ctx.query['slave_id']))));
  }
  for (const path of [...both('/tasks'), '/tasks.json']) {
    router.get(path, (ctx) => {
      const limit = nonNegativeInt(ctx.query['limit'], 100);
      const offset = nonNegativeInt(ctx.query['offset'], 0);
      const order = ctx.query['order'] ?? 'asc';
      if (limit === undefined || offset === undefined || (order !== 'asc' && order !== 'desc')) {
        ctx.status = 400;
        ctx.type = 'text/plain';
        ctx.body = "limit and offset must be non-negative integers and order 'asc' or 'desc'";
        return;
      }
      const frameworkId = one(ctx.query['framework_id']);
      const taskId = one(ctx.query['task_id']);
      sendJsonPieces(
        ctx,
        deps.views.tasks({
          limit,
          offset,
          order,
          ...(frameworkId === undefined ? {} : { frameworkId }),
          ...(taskId === undefined ? {} : { taskId }),
        }),
      );
    });
  }
  for (const path of both('/flags')) {
    router.get(path, (ctx) => {
      ctx.body = { flags: deps.flags() };
    });
  }
}

export function addAnyMasterReadonlyRoutes(router: Router, deps: AnyMasterReadonlyDeps): void {
  for (const path of both('/version')) {
    router.get(path, (ctx) => {
      ctx.body = deps.version();
    });
  }
  router.get('/metrics/snapshot', (ctx) => {
    ctx.body = deps.metrics();
  });
  router.get('/metrics', (ctx) => {
    ctx.type = 'text/plain; version=0.0.4';
    ctx.body = deps.prometheus();
  });
}
