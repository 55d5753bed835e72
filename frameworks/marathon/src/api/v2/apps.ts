/**
 * `/v2/apps` (Marathon's `AppsResource`, `AppTasksResource`, `AppVersionsResource`):
 *
 * | route                                  | answer                                                    |
 * |----------------------------------------|-----------------------------------------------------------|
 * | `GET /v2/apps?cmd=&id=&embed=`         | 200 `{"apps":[AppInfo]}`                                  |
 * | `POST /v2/apps?force=`                 | 201 AppInfo, `Location`, `Marathon-Deployment-Id`         |
 * | `GET /v2/apps/{id}`                    | 200 `{"app":AppInfo}` with tasks and lastTaskFailure      |
 * | `PUT /v2/apps/{id}?partialUpdate=&force=` | 200 / 201 `{"version","deploymentId"}`                 |
 * | `DELETE /v2/apps/{id}?force=`          | 200 `{"version","deploymentId"}` (force defaults to true) |
 * | `GET /v2/apps/{id}/tasks`              | 200 `{"tasks":[Task]}`                                    |
 * | `GET /v2/apps/{id}/versions[/{v}]`     | 200 `{"versions":[…]}` / the app at that version          |
 * | `GET /v2/apps/{group}/*`               | 200 `{"*":[AppInfo]}` (apps under the group)              |
 * | PATCH, `/restart`, task kills, rollback, bulk | see `app-extras.ts`                                |
 *
 * App ids contain slashes, so everything under `/v2/apps/` is routed here by
 * its suffix, as Marathon does (`/v2/apps/{id:.+}`).
 */
import { AgoraError } from '@agora/common';
import type Router from '@koa/router';
import type { Context } from 'koa';
import { notFound } from '../../apps/app-manager.js';
import { appToJson } from '../../model/app-json.js';
import { canonicalPathId } from '../../model/path-id.js';
import { taskToJson } from '../../model/task.js';
import { queryFlag, queryValues, readJsonBody } from '../body.js';
import { matchesLabels, parseLabelSelector } from '../label-selector.js';
import { type ApiServices, appInfo } from '../services.js';
import {
  applyEmbeds,
  groupApps,
  killAppTask,
  killAppTasks,
  patchApp,
  restartApp,
  rollbackApp,
  rollbackTarget,
} from './app-extras.js';
import { clientIpOf } from './event-subscriptions.js';

/** Who made the change, for `api_post_event`. */
const originOf = (ctx: Context) => ({ clientIp: clientIpOf(ctx), uri: ctx.path });

export const UNKNOWN_FIELDS_HEADER = 'X-Agora-Unknown-Fields';

function setUnknownFields(ctx: Context, fields: readonly string[]): void {
  if (fields.length > 0) ctx.set(UNKNOWN_FIELDS_HEADER, fields.join(','));
}

/** Name unknown fields on failures too, so a typo that broke validation is visible. */
async function withUnknownFields<T>(ctx: Context, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    const fields = (err as AgoraError | undefined)?.data?.['unknownFields'];
    if (Array.isArray(fields)) setUnknownFields(ctx, fields as string[]);
    throw err;
  }
}

function listApps(services: ApiServices, ctx: Context): void {
  const cmd = queryValues(ctx, 'cmd')[0]?.toLowerCase();
  const id = queryValues(ctx, 'id')[0]?.toLowerCase();
  const embed = new Set(queryValues(ctx, 'embed'));
  const failures = embed.has('apps.failures');
  const label = queryValues(ctx, 'label')[0];
  const selector = label === undefined ? undefined : parseLabelSelector(String(ctx.query['label']));
  const apps = services.apps
    .list()
    .filter((a) => cmd === undefined || (a.cmd ?? '').toLowerCase().includes(cmd))
    .filter((a) => id === undefined || a.id.toLowerCase().includes(id))
    .filter((a) => selector === undefined || matchesLabels(selector, a.labels));
  ctx.body = {
    apps: apps.map((a) =>
      applyEmbeds(
        services,
        appInfo(services, a, {
          tasks: embed.has('apps.tasks') || failures,
          lastTaskFailure: embed.has('apps.lastTaskFailure') || failures,
        }),
        a,
        embed,
        'apps',
      ),
    ),
  };
}

async function createApp(services: ApiServices, ctx: Context): Promise<void> {
  const body = await readJsonBody(ctx);
  const result = await withUnknownFields(ctx, () =>
    services.apps.create(body, { force: queryFlag(ctx, 'force', false), origin: originOf(ctx) }),
  );
  setUnknownFields(ctx, result.unknownFields);
  ctx.status = 201;
  ctx.set('Location', `${ctx.protocol}://${ctx.host}${result.app.id}`);
  ctx.set('Marathon-Deployment-Id', result.deployment.id);
  ctx.body = appInfo(services, result.app, { tasks: false, lastTaskFailure: false });
}

function getApp(services: ApiServices, ctx: Context, id: string): void {
  const app = services.apps.get(id);
  if (app === undefined) throw notFound(canonicalPathId(id));
  const info = appInfo(services, app, { tasks: true, lastTaskFailure: true });
  ctx.body = { app: applyEmbeds(services, info, app, new Set(queryValues(ctx, 'embed')), 'app') };
}

async function putApp(services: ApiServices, ctx: Context, id: string): Promise<void> {
  const body = await readJsonBody(ctx);
  const old = await rollbackTarget(services, canonicalPathId(id), body);
  if (old !== undefined) return rollbackApp(services, ctx, canonicalPathId(id), old);
  const result = await withUnknownFields(ctx, () =>
    services.apps.update(id, body, {
      partial: queryFlag(ctx, 'partialUpdate', true),
      force: queryFlag(ctx, 'force', false),
      origin: originOf(ctx),
    }),
  );
  setUnknownFields(ctx, result.unknownFields);
  if (result.created) {
    ctx.status = 201;
    ctx.set('Location', `${ctx.protocol}://${ctx.host}${result.app.id}`);
  }
  ctx.set('Marathon-Deployment-Id', result.deployment.id);
  ctx.body = { version: result.app.version, deploymentId: result.deployment.id };
}

async function deleteApp(services: ApiServices, ctx: Context, id: string): Promise<void> {
  const result = await services.apps.delete(id, { force: queryFlag(ctx, 'force', true) });
  ctx.set('Marathon-Deployment-Id', result.deployment.id);
  ctx.body = { version: result.version, deploymentId: result.deployment.id };
}

function appTasks(services: ApiServices, ctx: Context, id: string): void {
  const app = services.apps.get(id);
  if (app === undefined) throw notFound(canonicalPathId(id));
  ctx.body = { tasks: services.tasks.byApp(app.id).map(taskToJson) };
}

async function appVersions(
  services: ApiServices,
  ctx: Context,
  id: string,
  version: string | undefined,
): Promise<void> {
  const appId = canonicalPathId(id);
  const versions = await services.apps.versions(appId);
  if (versions === undefined) throw notFound(appId);
  if (version === undefined) {
    ctx.body = { versions: [...versions].reverse() };
    return;
  }
  const app = await services.apps.versionOf(appId, version);
  if (app === undefined)
    throw new AgoraError('AGORA_ERR_APP_NOT_FOUND', `App '${appId}' does not exist in version ${version}`);
  ctx.body = appToJson(app);
}

function methodNotAllowed(ctx: Context, allowed: string[]): void {
  ctx.status = 405;
  ctx.set('Allow', allowed.join(', '));
  ctx.body = { message: 'HTTP 405 Method Not Allowed' };
}

/** Dispatch `/v2/apps/<rest>` by its suffix. */
async function appSubresource(services: ApiServices, ctx: Context): Promise<void> {
  let rest: string;
  try {
    rest = decodeURIComponent(ctx.path.slice('/v2/apps/'.length)).replace(/\/+$/, '');
  } catch {
    throw new AgoraError('AGORA_ERR_BAD_REQUEST', `Malformed app id in path '${ctx.path}'`);
  }
  const versionsAt = rest.search(/\/versions(?:\/|$)/);
  if (rest.endsWith('/restart')) {
    if (ctx.method !== 'POST') return methodNotAllowed(ctx, ['POST']);
    return restartApp(services, ctx, rest.slice(0, -'/restart'.length));
  }
  const oneTask = /^(.+)\/tasks\/([^/]+)$/.exec(rest);
  if (oneTask !== null) {
    if (ctx.method !== 'DELETE') return methodNotAllowed(ctx, ['DELETE']);
    return killAppTask(services, ctx, oneTask[1]!, oneTask[2]!);
  }
  if (rest.endsWith('/tasks') && ctx.method === 'DELETE') {
    return killAppTasks(services, ctx, rest.slice(0, -'/tasks'.length));
  }
  if (rest === '*' || rest.endsWith('/*')) {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return methodNotAllowed(ctx, ['GET']);
    return groupApps(services, ctx, rest.slice(0, -1));
  }
  if (rest.endsWith('/tasks')) {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return methodNotAllowed(ctx, ['GET']);
    return appTasks(services, ctx, rest.slice(0, -'/tasks'.length));
  }
  if (versionsAt > 0) {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return methodNotAllowed(ctx, ['GET']);
    const version = rest.slice(versionsAt + '/versions'.length).replace(/^\//, '');
    return appVersions(services, ctx, rest.slice(0, versionsAt), version === '' ? undefined : version);
  }
  switch (ctx.method) {
    case 'GET':
    case 'HEAD':
      return getApp(services, ctx, rest);
    case 'PUT':
      return putApp(services, ctx, rest);
    case 'DELETE':
      return deleteApp(services, ctx, rest);
    case 'PATCH':
      return patchApp(services, ctx, rest);
    default:
      return methodNotAllowed(ctx, ['GET', 'PUT', 'PATCH', 'DELETE']);
  }
}

export function registerAppRoutes(router: Router, services: ApiServices): void {
  router.get('/v2/apps', (ctx) => listApps(services, ctx));
  router.post('/v2/apps', (ctx) => createApp(services, ctx));
  router.all('/v2/apps/{*rest}', (ctx) => appSubresource(services, ctx));
}
