/**
 * `/v2/groups` (Marathon's `GroupsResource`):
 *
 * | route                                   | answer                                                         |
 * |-----------------------------------------|----------------------------------------------------------------|
 * | `GET /v2/groups[/{id}]?embed=`          | 200 GroupInfo `{id, apps, pods, groups, dependencies, version, enforceRole}`; 404 |
 * | `GET /v2/groups/{id}/versions[/{v}]`    | 200 `["ts",…]` / the group at that version                     |
 * | `POST /v2/groups[/{id}]?force=`         | 201 + `Location` + `{version, deploymentId}`; 409 exists        |
 * | `PUT /v2/groups[/{id}]?force=&dryRun=`  | 200 `{version, deploymentId}`; dryRun: 200 `{"steps":[…]}`; `{scaleBy}`; `{version}` rollback |
 * | `DELETE /v2/groups[/{id}]?force=`       | 200 `{version, deploymentId}`                                   |
 * | `PATCH /v2/groups/{id}`                 | `{"enforceRole": bool}` on a top-level group: 200 GroupInfo, no deployment; 404; 422 |
 *
 * Bad bodies answer 422 with `(i)` paths (`/apps(0)/id`, `/groups(1)/apps(0)/cmd`);
 * a dependency cycle answers 422 at `/`.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import { type GroupManager, groupNotFound } from '../../apps/group-manager.js';
import type { JsonObject } from '../../model/app-definition.js';
import { appToJson } from '../../model/app-json.js';
import { isUnder, parentOf } from '../../model/group.js';
import { canonicalPathId } from '../../model/path-id.js';
import { queryFlag, queryValues, readJsonBody } from '../body.js';
import { type ApiServices, appInfo } from '../services.js';
import { applyEmbeds } from './app-extras.js';

interface GroupEmbed {
  groups: boolean;
  apps: boolean;
  tasks: boolean;
  lastTaskFailure: boolean;
  set: Set<string>;
}

function embedOf(ctx: Context): GroupEmbed {
  const raw = queryValues(ctx, 'embed');
  const set = new Set(raw.map((e) => e.replace(/^group\./, '')).map((e) => `apps.${e.replace(/^apps\./, '')}`));
  const explicit = raw.length > 0;
  return {
    groups: !explicit || raw.includes('group.groups'),
    apps: !explicit || raw.includes('group.apps') || raw.some((e) => e.startsWith('group.apps.')),
    tasks: raw.includes('group.apps.tasks'),
    lastTaskFailure: raw.includes('group.apps.lastTaskFailure'),
    set,
  };
}

function groupInfo(services: ApiServices, groups: GroupManager, id: string, embed: GroupEmbed): JsonObject {
  const meta = groups.meta(id);
  const json: JsonObject = { id };
  if (embed.apps) {
    json['apps'] = services.apps
      .list()
      .filter((a) => parentOf(a.id) === id)
      .map((a) =>
        applyEmbeds(
          services,
          appInfo(services, a, { tasks: embed.tasks, lastTaskFailure: embed.lastTaskFailure }),
          a,
          embed.set,
          'apps',
        ),
      );
    json['pods'] = [];
  }
  if (embed.groups) {
    json['groups'] = groups
      .groupIds()
      .filter((g) => g !== '/' && parentOf(g) === id)
      .map((g) => groupInfo(services, groups, g, embed));
  }
  json['dependencies'] = [...meta.dependencies];
  const versions = services.apps
    .list()
    .filter((a) => isUnder(a.id, id))
    .map((a) => a.version);
  json['version'] = [groups.currentVersion(), ...versions].sort().pop()!;
  json['enforceRole'] = meta.enforceRole ?? false;
  return json;
}

/** Split `/v2/groups/<rest>` into the group id and a sub-resource. */
function route(ctx: Context): { id: string; sub: 'none' | 'versions' | 'apps'; version?: string } {
  const rest = decodeURIComponent(ctx.path.replace(/^\/v2\/groups\/?/, '')).replace(/\/+$/, '');
  const v = /^(.*?)\/?versions(?:\/(.+))?$/.exec(rest);
  if (v !== null && (v[1] === '' || rest.includes('/versions'))) {
    const out: { id: string; sub: 'versions'; version?: string } = { id: canonicalPathId(v[1] ?? ''), sub: 'versions' };
    if (v[2] !== undefined) out.version = v[2];
    return out;
  }
  if (rest === 'apps' || rest.endsWith('/apps'))
    return { id: canonicalPathId(rest.slice(0, -'apps'.length)), sub: 'apps' };
  return { id: canonicalPathId(rest), sub: 'none' };
}

async function handle(services: ApiServices, groups: GroupManager, ctx: Context): Promise<void> {
  const r = route(ctx);
  const force = queryFlag(ctx, 'force', false);
  switch (ctx.method) {
    case 'GET':
    case 'HEAD': {
      if (r.sub === 'versions') {
        if (!groups.exists(r.id)) throw groupNotFound(r.id);
        if (r.version === undefined) {
          ctx.body = await groups.versions();
          return;
        }
        const at = await groups.atVersion(r.version);
        if (at === undefined) throw groupNotFound(`${r.id}' in version '${r.version}`);
        const apps = Object.entries(at.apps).filter(([a]) => isUnder(a, r.id));
        const defs: JsonObject[] = [];
        for (const [appId, v] of apps) {
          const def = await services.apps.versionOf(appId, v);
          if (def !== undefined) defs.push(appToJson(def));
        }
        ctx.body = {
          id: r.id,
          apps: defs,
          groups: at.groups.filter((g) => isUnder(g.id, r.id) && g.id !== r.id),
          version: at.version,
        };
        return;
      }
      if (!groups.exists(r.id)) throw groupNotFound(r.id);
      if (r.sub === 'apps') {
        ctx.body = services.apps
          .list()
          .filter((a) => parentOf(a.id) === r.id)
          .map((a) => appInfo(services, a, { tasks: false, lastTaskFailure: false }));
        return;
      }
      ctx.body = groupInfo(services, groups, r.id, embedOf(ctx));
      return;
    }
    case 'POST':
    case 'PUT': {
      const body = await readJsonBody(ctx);
      const create = ctx.method === 'POST';
      const result = await groups.change(r.id, body, {
        create,
        force,
        dryRun: !create && queryFlag(ctx, 'dryRun', false),
      });
      if ('steps' in result) {
        ctx.body = { steps: result.steps };
        return;
      }
      if (create) {
        ctx.status = 201;
        ctx.set('Location', `${ctx.protocol}://${ctx.host}/v2/groups${result.groupId}`);
      }
      ctx.set('Marathon-Deployment-Id', result.deploymentId);
      ctx.body = { version: result.version, deploymentId: result.deploymentId };
      return;
    }
    case 'PATCH': {
      if (r.sub !== 'none') break;
      await groups.patch(r.id, await readJsonBody(ctx));
      ctx.body = groupInfo(services, groups, r.id, embedOf(ctx));
      return;
    }
    case 'DELETE': {
      const result = await groups.delete(r.id, { force });
      ctx.set('Marathon-Deployment-Id', result.deploymentId);
      ctx.body = { version: result.version, deploymentId: result.deploymentId };
      return;
    }
  }
  ctx.status = 405;
  ctx.set('Allow', 'GET, POST, PUT, PATCH, DELETE');
  ctx.body = { message: 'HTTP 405 Method Not Allowed' };
}

export function registerGroupRoutes(router: Router, services: ApiServices): void {
  const groups = services.groups;
  if (groups === undefined) return;
  router.all('/v2/groups', (ctx) => handle(services, groups, ctx));
  router.all('/v2/groups/{*rest}', (ctx) => handle(services, groups, ctx));
}
