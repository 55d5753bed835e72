/**
 * The rest of `/v2/apps` and `/v2/tasks/delete` (Marathon's `AppsResource`,
 * `AppTasksResource`, `TasksResource`):
 *
 * | route                                          | answer                                                    |
 * |------------------------------------------------|-----------------------------------------------------------|
 * | `PATCH /v2/apps/{id}?force=`                   | 200 `{version, deploymentId}`; 404 when the app is missing |
 * | `PATCH /v2/apps` / `PUT /v2/apps?partialUpdate=` | 200 `{version, deploymentId}` (bulk; all validated first) |
 * | `POST /v2/apps/{id}/restart?force=`            | 200 `{version, deploymentId}`                             |
 * | `PUT /v2/apps/{id}` with `{id?, version}`      | rollback to the stored version                            |
 * | `DELETE /v2/apps/{id}/tasks?host=&scale=&wipe=`| 200 `{"tasks":[…]}` or, with `scale`, a deployment result |
 * | `DELETE /v2/apps/{id}/tasks/{taskId}?scale=`   | 200 `{"task":…}` or a deployment result                   |
 * | `POST /v2/tasks/delete?scale=` `{"ids":[…]}`   | 200 `{"tasks":[…]}` or a deployment result                |
 */
import { clientIpOf } from './event-subscriptions.js';
import { AgoraError } from '@agora/common';
import type { Context } from 'koa';
import { type AppOp, notFound } from '../../apps/app-manager.js';
import type { AppDefinition, JsonObject, JsonValue } from '../../model/app-definition.js';
import { appBody, appToJson } from '../../model/app-json.js';
import { isObject } from '../../model/app-reads.js';
import { mergeAppUpdate, parseAppDefinition } from '../../model/app-parser.js';
import { appIdOfTaskId, canonicalPathId } from '../../model/path-id.js';
import { type TaskRecord, taskToJson } from '../../model/task.js';
import type { Violation } from '../../model/violations.js';
import { queryFlag, readJsonBody } from '../body.js';
import type { ApiServices } from '../services.js';

export const MSG_VERSION_ONLY_WITH_ID = "The 'version' field may only be combined with the 'id' field.";
export const MSG_SCALE_AND_WIPE = 'You cannot use scale and wipe at the same time.';

function invalid(violations: Violation[]): AgoraError {
  return new AgoraError('AGORA_ERR_APP_INVALID', 'Object is not valid', { data: { kind: 'semantic', violations } });
}

function deploymentResult(ctx: Context, version: string, deploymentId: string): void {
  ctx.set('Marathon-Deployment-Id', deploymentId);
  ctx.body = { version, deploymentId };
}

/**
 * A rollback body (`{version}` or `{id, version}`): the stored definition to
 * restore; undefined when the body is an ordinary update. `version` with any
 * other field is Marathon's 422.
 */
export async function rollbackTarget(
  services: ApiServices,
  appId: string,
  body: unknown,
): Promise<AppDefinition | undefined> {
  if (!isObject(body as JsonValue)) return undefined;
  const o = body as JsonObject;
  if (o['version'] === undefined || o['version'] === null) return undefined;
  if (Object.keys(o).some((k) => k !== 'id' && k !== 'version')) {
    throw invalid([{ path: '/', errors: [MSG_VERSION_ONLY_WITH_ID] }]);
  }
  const version = String(o['version']);
  if (services.apps.get(appId) === undefined) throw notFound(appId);
  const old = await services.apps.versionOf(appId, version);
  if (old === undefined) {
    throw new AgoraError('AGORA_ERR_APP_NOT_FOUND', `App '${appId}' does not exist in version ${version}`);
  }
  return old;
}

export async function rollbackApp(
  services: ApiServices,
  ctx: Context,
  appId: string,
  old: AppDefinition,
): Promise<void> {
  const result = await services.apps.update(appId, appBody(old), {
    partial: false,
    force: queryFlag(ctx, 'force', false),
  });
  deploymentResult(ctx, result.app.version, result.deployment.id);
}

export async function patchApp(services: ApiServices, ctx: Context, id: string): Promise<void> {
  const appId = canonicalPathId(id);
  const body = await readJsonBody(ctx);
  if (services.apps.get(appId) === undefined) throw notFound(appId);
  const old = await rollbackTarget(services, appId, body);
  if (old !== undefined) return rollbackApp(services, ctx, appId, old);
  const origin = { clientIp: clientIpOf(ctx), uri: ctx.path }; // for api_post_event
  const result = await services.apps.update(appId, body, {
    partial: true,
    force: queryFlag(ctx, 'force', false),
    origin,
  });
  if (result.unknownFields.length > 0) ctx.set('X-Agora-Unknown-Fields', result.unknownFields.join(','));
  deploymentResult(ctx, result.app.version, result.deployment.id);
}

export async function restartApp(services: ApiServices, ctx: Context, id: string): Promise<void> {
  const result = await services.apps.restart(id, { force: queryFlag(ctx, 'force', false) });
  deploymentResult(ctx, result.app.version, result.deployment.id);
}

/** PUT / PATCH /v2/apps with an array: every entry is checked before any is applied. */
export async function bulkUpdate(services: ApiServices, ctx: Context, mode: 'put' | 'patch'): Promise<void> {
  const body = await readJsonBody(ctx);
  if (!Array.isArray(body)) {
    throw new AgoraError('AGORA_ERR_APP_INVALID', 'Invalid JSON', {
      data: { kind: 'json', violations: [{ path: '/', errors: ['error.expected.jsarray'] }] },
    });
  }
  const partial = mode === 'patch' || queryFlag(ctx, 'partialUpdate', true);
  const violations: Violation[] = [];
  const entries: Array<{ appId: string; body: JsonValue }> = [];
  body.forEach((entry: JsonValue, i) => {
    const id = isObject(entry) && typeof entry['id'] === 'string' ? entry['id'] : undefined;
    if (id === undefined) {
      violations.push({ path: `/(${i})/id`, errors: ['error.path.missing'] });
      return;
    }
    const appId = canonicalPathId(id);
    const current = services.apps.get(appId);
    if (current === undefined && mode === 'patch') throw notFound(appId);
    const input = current !== undefined && partial && isObject(entry) ? mergeAppUpdate(current, entry) : entry;
    const parsed = parseAppDefinition(input, { ...services.apps.parseOptions, id: appId });
    if (!parsed.ok)
      for (const v of parsed.violations)
        violations.push({ path: `/(${i})${v.path === '/' ? '' : v.path}`, errors: v.errors });
    entries.push({ appId, body: entry });
  });
  if (violations.length > 0) throw invalid(violations);
  const force = queryFlag(ctx, 'force', false);
  if (entries.length === 0) {
    ctx.body = { version: new Date(services.now?.() ?? Date.now()).toISOString(), deploymentId: null };
    return;
  }
  // One change, one deployment for every entry (Marathon: "one deployment for all").
  const r = await services.apps.change(
    entries.map((e) => ({ op: 'put', id: e.appId, body: e.body, partial })),
    { force },
  );
  if (r.deployment === undefined) ctx.body = { version: r.version, deploymentId: null };
  else deploymentResult(ctx, r.version, r.deployment.id);
}

function checkScaleWipe(ctx: Context): { scale: boolean; wipe: boolean; force: boolean } {
  const scale = queryFlag(ctx, 'scale', false);
  const wipe = queryFlag(ctx, 'wipe', false);
  if (scale && wipe) throw new AgoraError('AGORA_ERR_BAD_REQUEST', MSG_SCALE_AND_WIPE);
  return { scale, wipe, force: queryFlag(ctx, 'force', false) };
}

/**
 * Kill `victims`; with `scale`, lower each app's `instances` by its number
 * of victims (after the kills are sent, so the planner does not pick other
 * tasks). Answers the killed tasks or the (last) deployment.
 */
async function killAndMaybeScale(
  services: ApiServices,
  ctx: Context,
  victims: readonly TaskRecord[],
  opts: { scale: boolean; force: boolean; wipe?: boolean },
  single: boolean,
): Promise<void> {
  const kill = services.killTasks;
  if (kill === undefined)
    throw new AgoraError('AGORA_ERR_TIMEOUT', 'The scheduler is not running; no task can be killed.');
  // wipe (resident apps): the instance's reservation and volumes are destroyed once the task is gone.
  const ids = victims.map((t) => t.id);
  if (opts.wipe === true && services.wipeTasks !== undefined) await services.wipeTasks(ids);
  else await kill(ids);
  if (!opts.scale) {
    ctx.body = single ? { task: taskToJson(victims[0]!) } : { tasks: victims.map(taskToJson) };
    return;
  }
  const perApp = new Map<string, number>();
  for (const t of victims) perApp.set(t.appId, (perApp.get(t.appId) ?? 0) + 1);
  const ops: AppOp[] = [];
  for (const [appId, n] of perApp) {
    const app = services.apps.get(appId);
    if (app !== undefined) {
      ops.push({ op: 'put', id: appId, body: { instances: Math.max(0, app.instances - n) }, partial: true });
    }
  }
  const r = ops.length === 0 ? undefined : await services.apps.change(ops, { force: opts.force });
  if (r?.deployment === undefined) ctx.body = { tasks: [] };
  else deploymentResult(ctx, r.version, r.deployment.id);
}

/** DELETE /v2/apps/{id}/tasks[?host=] */
export async function killAppTasks(services: ApiServices, ctx: Context, id: string): Promise<void> {
  const opts = checkScaleWipe(ctx);
  const appId = canonicalPathId(id);
  if (services.apps.get(appId) === undefined) throw notFound(appId);
  const host = typeof ctx.query['host'] === 'string' ? ctx.query['host'] : undefined;
  const victims = services.tasks.byApp(appId).filter((t) => host === undefined || host === '*' || t.host === host);
  await killAndMaybeScale(services, ctx, victims, opts, false);
}

/** DELETE /v2/apps/{id}/tasks/{taskId} */
export async function killAppTask(services: ApiServices, ctx: Context, id: string, taskId: string): Promise<void> {
  const opts = checkScaleWipe(ctx);
  const appId = canonicalPathId(id);
  if (services.apps.get(appId) === undefined) throw notFound(appId);
  const task = services.tasks.get(taskId);
  if (task === undefined || task.appId !== appId) {
    throw new AgoraError('AGORA_ERR_TASK_NOT_FOUND', `Task '${taskId}' does not exist`);
  }
  await killAndMaybeScale(services, ctx, [task], opts, true);
}

/** POST /v2/tasks/delete {"ids":[…]}: unknown ids are skipped, unparsable ones are 400. */
export async function deleteTasks(services: ApiServices, ctx: Context): Promise<void> {
  const opts = checkScaleWipe(ctx);
  const body = await readJsonBody(ctx);
  const ids = isObject(body as JsonValue) ? (body as JsonObject)['ids'] : undefined;
  if (!Array.isArray(ids) || !ids.every((i) => typeof i === 'string')) {
    throw new AgoraError('AGORA_ERR_APP_INVALID', 'Invalid JSON', {
      data: { kind: 'json', violations: [{ path: '/ids', errors: ['error.expected.jsarray'] }] },
    });
  }
  for (const id of ids as string[]) {
    if (appIdOfTaskId(id) === undefined) throw new AgoraError('AGORA_ERR_BAD_REQUEST', `Invalid task id '${id}'`);
  }
  const victims = (ids as string[]).map((id) => services.tasks.get(id)).filter((t): t is TaskRecord => t !== undefined);
  await killAndMaybeScale(services, ctx, victims, opts, false);
}

export function registerAppExtraRoutes(router: import('@koa/router').default, services: ApiServices): void {
  router.put('/v2/apps', (ctx) => bulkUpdate(services, ctx, 'put'));
  router.patch('/v2/apps', (ctx) => bulkUpdate(services, ctx, 'patch'));
  router.post('/v2/tasks/delete', (ctx) => deleteTasks(services, ctx));
}

/** The `embed` extras of AppInfo beyond tasks and lastTaskFailure (`readiness`, `taskStats`). */
export function applyEmbeds(
  services: ApiServices,
  json: JsonObject,
  app: AppDefinition,
  embed: ReadonlySet<string>,
  prefix: 'apps' | 'app',
): JsonObject {
  if (embed.has(`${prefix}.readiness`) && json['readinessCheckResults'] === undefined)
    json['readinessCheckResults'] = [];
  if (embed.has(`${prefix}.taskStats`)) {
    const tasks = services.tasks.byApp(app.id);
    if (tasks.length > 0) {
      const c = services.tasks.counts(app.id);
      const now = services.now?.() ?? Date.now();
      const lives = tasks
        .filter((t) => t.startedAt !== undefined)
        .map((t) => (now - Date.parse(t.startedAt!)) / 1000)
        .sort((a, b) => a - b);
      const lifeTime =
        lives.length === 0
          ? {}
          : {
              averageSeconds: lives.reduce((x, y) => x + y, 0) / lives.length,
              medianSeconds: lives[Math.floor(lives.length / 2)]!,
            };
      json['taskStats'] = {
        totalSummary: {
          stats: {
            counts: {
              staged: c.tasksStaged,
              running: c.tasksRunning,
              healthy: c.tasksHealthy,
              unhealthy: c.tasksUnhealthy,
            },
            lifeTime,
          },
        },
      };
    } else json['taskStats'] = {};
  }
  return json;
}

/** GET /v2/apps/{group}/*: `{"*":[AppInfo]}` for every app under the group. */
export function groupApps(services: ApiServices, ctx: Context, groupPath: string): void {
  const group = canonicalPathId(groupPath);
  const prefix = group === '/' ? '/' : `${group}/`;
  const apps = services.apps.list().filter((a) => a.id.startsWith(prefix));
  ctx.body = {
    '*': apps.map((a) => {
      const json = appToJson(a);
      const c = services.tasks.counts(a.id);
      Object.assign(json, c);
      json['tasks'] = services.tasks.byApp(a.id).map(taskToJson);
      json['deployments'] = services.deployments.forApp(a.id).map((d) => ({ id: d.id }));
      return json;
    }),
  };
}
