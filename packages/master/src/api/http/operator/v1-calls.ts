/**
 * Mesos' v1 operator calls on `POST /api/v1` (+ `/master/api/v1`), JSON
 * (`Content-Type: application/json`, `{"type": "...", "<call>": {...}}`),
 * answered with Mesos' v1 JSON (`{"type": "...", "<response>": {...}}`). Each
 * call reuses the logic of the matching HTTP endpoint:
 *
 * - GET_HEALTH, GET_FLAGS, GET_VERSION, GET_METRICS (`/health`, `/flags`, `/version`, `/metrics/snapshot`);
 * - GET_STATE, GET_AGENTS, GET_FRAMEWORKS, GET_TASKS (v1 Agent / Framework / Task JSON, as the event stream's);
 * - GET_ROLES, GET_WEIGHTS, UPDATE_WEIGHTS, GET_QUOTA, UPDATE_QUOTA, SET_QUOTA, REMOVE_QUOTA
 *   (`/roles`, `/weights`, `/quota`);
 * - RESERVE_RESOURCES, UNRESERVE_RESOURCES (`/reserve`, `/unreserve`; 202);
 * - GET_MAINTENANCE_SCHEDULE, GET_MAINTENANCE_STATUS, UPDATE_MAINTENANCE_SCHEDULE, START_MAINTENANCE,
 *   STOP_MAINTENANCE (`/maintenance/*`, `/machine/down`, `/machine/up`).
 *
 * Calls that change something answer 200 (202 for reservations) with an empty body. A bad call is 400 (404,
 * 409, 422 as the endpoint) with a plain-text message and changes nothing. Other call types are handed on (the
 * body is replayed) to the next `/api/v1` handler (lifecycle.ts answers 400 for unknown ones).
 */
import type { Router } from '@koa/router';
import { AgoraError } from '@agora/common';
import type { Context, Next } from 'koa';
import type { AgentManager } from '../../../agents/agent-manager.js';
import type { FrameworkManager } from '../../../frameworks/framework-manager.js';
import { parseMachineIds, parseScheduleJson } from '../../../maintenance/schedule.js';
import { checkQuotaRole, parseQuotaUpdate, parseWeights } from '../../../quota/index.js';
import type { TaskTracker } from '../../../tasks/task-tracker.js';
import { agentJson, frameworkJson, taskJson } from '../events.js';
import { answer, handOn, json, type OperatorDeps, readOperatorCall } from './common.js';
import type { MaintenanceOperations } from './maintenance.js';
import { quotaStatusJson } from './quota.js';
import { weightsJson } from './weights.js';

type Json = Record<string, unknown>;

export interface OperatorCallDeps {
  operator: OperatorDeps;
  maintenance?: MaintenanceOperations;
  flags(): Record<string, string>;
  version(): Json;
  metrics(): Record<string, number>;
  records: { agents: AgentManager; frameworks: FrameworkManager; tasks: TaskTracker };
}

const bad = (message: string) => new AgoraError('AGORA_ERR_BAD_REQUEST', message);

function section(call: Json, name: string): Json {
  const s = call[name];
  if (s === null || typeof s !== 'object' || Array.isArray(s)) throw bad(`${String(call['type'])} needs "${name}"`);
  return s as Json;
}

function agentIdOf(s: Json, call: string, name: string): string {
  const id = (s['agent_id'] as { value?: unknown } | undefined)?.value;
  if (typeof id !== 'string' || id === '') throw bad(`${call} needs ${name}.agent_id.value`);
  return id;
}

/** A v0 resource map (`{cpus: 2, ports: "[1-2]"}`) as a v1 Resource list. */
function resourceList(map: unknown): Json[] {
  if (map === null || typeof map !== 'object') return [];
  return Object.entries(map as Record<string, unknown>).flatMap(([name, value]): Json[] => {
    if (typeof value === 'number') return value === 0 ? [] : [{ name, type: 'SCALAR', scalar: { value } }];
    if (typeof value !== 'string') return [];
    const ranges = /^\[(.*)\]$/.exec(value);
    if (ranges !== null) {
      const range = (ranges[1] ?? '')
        .split(',')
        .filter((r) => r.trim() !== '')
        .map((r) => {
          const [b, e] = r.split('-').map((x) => Number(x.trim()));
          return { begin: b ?? 0, end: e ?? b ?? 0 };
        });
      return range.length === 0 ? [] : [{ name, type: 'RANGES', ranges: { range } }];
    }
    const set = /^\{(.*)\}$/.exec(value);
    if (set !== null) return [{ name, type: 'SET', set: { item: (set[1] ?? '').split(',').filter((x) => x !== '') } }];
    return [];
  });
}

function rolesV1(roles: Json): Json[] {
  return ((roles['roles'] as Json[] | undefined) ?? []).map((r) => ({
    name: r['name'],
    weight: r['weight'],
    frameworks: ((r['frameworks'] as string[] | undefined) ?? []).map((value) => ({ value })),
    resources: resourceList(r['resources']),
    allocated: resourceList(r['allocated']),
    offered: resourceList(r['offered']),
    reserved: resourceList(r['reserved']),
    ...(r['quota'] === undefined ? {} : { quota: r['quota'] }),
  }));
}

function stateParts(d: OperatorCallDeps) {
  const { agents, frameworks, tasks } = d.records;
  const completedTasks = [...frameworks.all(), ...frameworks.completed()].flatMap((f) => tasks.completed(f.id));
  return {
    get_tasks: {
      tasks: tasks.all().map(taskJson),
      unreachable_tasks: tasks.allUnreachable().map(taskJson),
      completed_tasks: completedTasks.map(taskJson),
    },
    get_executors: { executors: [] },
    get_frameworks: {
      frameworks: frameworks.all().map(frameworkJson),
      completed_frameworks: frameworks.completed().map(frameworkJson),
    },
    get_agents: { agents: agents.all().map(agentJson), recovered_agents: [] },
  };
}

/** The answer to one call: a v1 JSON body, or a status with an empty body. */
type Answer = { body: Json } | { status: number };

type Handler = (call: Json, d: OperatorCallDeps) => Promise<Answer> | Answer;

function maintenance(d: OperatorCallDeps): MaintenanceOperations {
  if (d.maintenance === undefined) throw bad('maintenance is not available on this master');
  return d.maintenance;
}

function reservations(d: OperatorCallDeps) {
  if (d.operator.reservations === undefined) throw bad('reservations are not available on this master');
  return d.operator.reservations;
}

const body = (type: string, field: string, value: unknown): Answer => ({ body: { type, [field]: value } });

const HANDLERS: Record<string, Handler> = {
  GET_HEALTH: () => body('GET_HEALTH', 'get_health', { healthy: true }),
  GET_FLAGS: (_c, d) =>
    body('GET_FLAGS', 'get_flags', {
      flags: Object.entries(d.flags()).map(([name, value]) => ({ name, value })),
    }),
  GET_VERSION: (_c, d) => body('GET_VERSION', 'get_version', { version_info: d.version() }),
  GET_METRICS: (_c, d) =>
    body('GET_METRICS', 'get_metrics', {
      metrics: Object.entries(d.metrics()).map(([name, value]) => ({ name, value })),
    }),
  GET_STATE: (_c, d) => body('GET_STATE', 'get_state', stateParts(d)),
  GET_AGENTS: (_c, d) => body('GET_AGENTS', 'get_agents', stateParts(d).get_agents),
  GET_FRAMEWORKS: (_c, d) => body('GET_FRAMEWORKS', 'get_frameworks', stateParts(d).get_frameworks),
  GET_TASKS: (_c, d) => body('GET_TASKS', 'get_tasks', stateParts(d).get_tasks),
  GET_ROLES: (_c, d) => body('GET_ROLES', 'get_roles', { roles: rolesV1(d.operator.roles()) }),
  GET_WEIGHTS: (_c, d) => body('GET_WEIGHTS', 'get_weights', { weight_infos: weightsJson(d.operator) }),
  UPDATE_WEIGHTS: async (call, d) => {
    const weights = parseWeights(section(call, 'update_weights')['weight_infos']);
    await d.operator.quota.setWeights(weights);
    d.operator.rolesChanged([]);
    return { status: 200 };
  },
  GET_QUOTA: (_c, d) => body('GET_QUOTA', 'get_quota', { status: quotaStatusJson(d.operator) }),
  UPDATE_QUOTA: async (call, d) => {
    const update = parseQuotaUpdate(call);
    await d.operator.quota.update(update, 'replace');
    d.operator.rolesChanged(update.configs.map((c) => c.role));
    return { status: 200 };
  },
  SET_QUOTA: async (call, d) => {
    const request = section(section(call, 'set_quota'), 'quota_request');
    const update = parseQuotaUpdate(request);
    await d.operator.quota.update(update, 'create');
    d.operator.rolesChanged(update.configs.map((c) => c.role));
    return { status: 200 };
  },
  REMOVE_QUOTA: async (call, d) => {
    const role = checkQuotaRole(section(call, 'remove_quota')['role'], 'remove_quota.role');
    await d.operator.quota.remove(role);
    d.operator.rolesChanged([role]);
    return { status: 200 };
  },
  RESERVE_RESOURCES: async (call, d) => {
    const s = section(call, 'reserve_resources');
    await reservations(d).reserve(agentIdOf(s, 'RESERVE_RESOURCES', 'reserve_resources'), s['resources'], undefined);
    return { status: 202 };
  },
  UNRESERVE_RESOURCES: async (call, d) => {
    const s = section(call, 'unreserve_resources');
    const agentId = agentIdOf(s, 'UNRESERVE_RESOURCES', 'unreserve_resources');
    await reservations(d).unreserve(agentId, s['resources'], undefined);
    return { status: 202 };
  },
  GET_MAINTENANCE_SCHEDULE: (_c, d) =>
    body('GET_MAINTENANCE_SCHEDULE', 'get_maintenance_schedule', { schedule: maintenance(d).scheduleJson() }),
  GET_MAINTENANCE_STATUS: (_c, d) =>
    body('GET_MAINTENANCE_STATUS', 'get_maintenance_status', { status: maintenance(d).statusJson() }),
  UPDATE_MAINTENANCE_SCHEDULE: async (call, d) => {
    const schedule = parseScheduleJson(section(call, 'update_maintenance_schedule')['schedule']);
    await maintenance(d).updateSchedule(schedule);
    return { status: 200 };
  },
  START_MAINTENANCE: async (call, d) => {
    await maintenance(d).down(parseMachineIds(section(call, 'start_maintenance')['machines']));
    return { status: 200 };
  },
  STOP_MAINTENANCE: async (call, d) => {
    await maintenance(d).up(parseMachineIds(section(call, 'stop_maintenance')['machines']));
    return { status: 200 };
  },
};

/** The call types served here. */
export const OPERATOR_CALLS: readonly string[] = Object.keys(HANDLERS);

export function addOperatorCallRoutes(router: Router, deps: OperatorCallDeps): void {
  for (const path of ['/api/v1', '/master/api/v1']) {
    router.post(path, async (ctx: Context, next: Next) => {
      if (!String(ctx.get('content-type')).includes('application/json')) return next();
      const { raw, call } = await readOperatorCall(ctx);
      const handler = call === undefined ? undefined : HANDLERS[String(call['type'])];
      // Not ours: the next /api/v1 handler reads the same body.
      if (call === undefined || handler === undefined) return handOn(ctx, raw, next);
      const request = call;
      await answer(ctx, async () => {
        const result = await handler(request, deps);
        if ('body' in result) {
          json(ctx, 200, result.body);
        } else {
          ctx.status = result.status;
          ctx.body = '';
        }
      });
    });
  }
}
