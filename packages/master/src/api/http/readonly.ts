/**
 * Mesos' read-only endpoints besides `/state` (also under `/master/...`):
 *
 * Leader only (built from the `/state` JSON, so the shapes agree):
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

type Json = Record<string, unknown>;

export interface ReadonlyDeps {
  state(): Json;
  flags(): Record<string, string>;
}

export interface AnyMasterReadonlyDeps {
  version(): Json;
  metrics(): Record<string, number>;
  prometheus(): string;
}

const TASK_STATES = [
  'TASK_STAGING',
  'TASK_STARTING',
  'TASK_RUNNING',
  'TASK_KILLING',
  'TASK_FINISHED',
  'TASK_KILLED',
  'TASK_FAILED',
  'TASK_LOST',
  'TASK_ERROR',
  'TASK_UNREACHABLE',
  'TASK_DROPPED',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
];

function both(path: string): string[] {
  return [path, `/master${path}`];
}

function tasksOf(f: Json): Json[] {
  return [
    ...((f['tasks'] as Json[] | undefined) ?? []),
    ...((f['unreachable_tasks'] as Json[] | undefined) ?? []),
    ...((f['completed_tasks'] as Json[] | undefined) ?? []),
  ];
}

function counts(tasks: Json[]): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(TASK_STATES.map((s) => [s, 0]));
  for (const t of tasks) {
    const s = String(t['state']);
    out[s] = (out[s] ?? 0) + 1;
  }
  return out;
}

export function stateSummary(state: Json): Json {
  const frameworks = [...((state['frameworks'] as Json[]) ?? []), ...((state['completed_frameworks'] as Json[]) ?? [])];
  const slaves = (state['slaves'] as Json[]) ?? [];
  const all: Json[] = frameworks.flatMap((f) => tasksOf(f).map((t) => ({ ...t, framework_id: f['id'] })));
  return {
    hostname: state['hostname'],
    cluster: state['cluster'] ?? '',
    slaves: slaves.map((a) => {
      const onAgent = all.filter((t) => t['slave_id'] === a['id']);
      const { port: _port, connected: _connected, ...rest } = a;
      return { ...rest, ...counts(onAgent), framework_ids: [...new Set(onAgent.map((t) => t['framework_id']))] };
    }),
    frameworks: ((state['frameworks'] as Json[]) ?? []).map((f) => {
      const tasks = tasksOf(f);
      return {
        id: f['id'],
        name: f['name'],
        pid: f['pid'] ?? '',
        used_resources: f['used_resources'],
        offered_resources: f['offered_resources'],
        capabilities: f['capabilities'],
        hostname: f['hostname'],
        webui_url: f['webui_url'],
        active: f['active'],
        connected: f['connected'],
        recovered: f['recovered'],
        role: f['role'],
        roles: f['roles'],
        ...counts(tasks),
        slave_ids: [...new Set(tasks.map((t) => t['slave_id']))],
      };
    }),
  };
}

function nonNegativeInt(value: unknown, fallback: number): number | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

export function addReadonlyRoutes(router: Router, deps: ReadonlyDeps): void {
  for (const path of both('/state-summary')) {
    router.get(path, (ctx) => {
      ctx.body = stateSummary(deps.state());
    });
  }
  for (const path of [...both('/frameworks'), '/frameworks.json']) {
    router.get(path, (ctx) => {
      const state = deps.state();
      const id = ctx.query['framework_id'];
      const pick = (list: unknown) => ((list as Json[]) ?? []).filter((f) => typeof id !== 'string' || f['id'] === id);
      ctx.body = {
        frameworks: pick(state['frameworks']),
        completed_frameworks: pick(state['completed_frameworks']),
        unregistered_frameworks: state['unregistered_frameworks'] ?? [],
      };
    });
  }
  for (const path of [...both('/slaves'), '/slaves.json']) {
    router.get(path, (ctx) => {
      const id = ctx.query['slave_id'];
      const slaves = ((deps.state()['slaves'] as Json[]) ?? []).filter((a) => typeof id !== 'string' || a['id'] === id);
      ctx.body = { slaves, recovered_slaves: [] };
    });
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
      const state = deps.state();
      const frameworkId = ctx.query['framework_id'];
      const taskId = ctx.query['task_id'];
      const frameworks = [
        ...((state['frameworks'] as Json[]) ?? []),
        ...((state['completed_frameworks'] as Json[]) ?? []),
      ];
      const startOf = (t: Json) => (t['statuses'] as Array<{ timestamp: number }> | undefined)?.[0]?.timestamp ?? 0;
      const tasks = frameworks
        .filter((f) => typeof frameworkId !== 'string' || f['id'] === frameworkId)
        .flatMap(tasksOf)
        .filter((t) => typeof taskId !== 'string' || t['id'] === taskId)
        .sort((a, b) => (order === 'asc' ? startOf(a) - startOf(b) : startOf(b) - startOf(a)));
      ctx.body = { tasks: tasks.slice(offset, offset + limit) };
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
