/**
 * `/quota` (+ `/master/quota`):
 *  - GET: `{"infos":[{role, guarantee:[Resource], limit:[Resource], consumed:[Resource]}],
 *          "configs":[{role, guarantees:{name:{value}}, limits:{name:{value}}}]}` (Mesos 1.9 QuotaStatus).
 *  - POST: set quota for roles that have none (409 when one has); PUT, or an UPDATE_QUOTA body with any
 *    method: set or replace. Bodies: see
 *    quota/quota-request.ts (UPDATE_QUOTA, one config, or legacy SET_QUOTA). 200 with an empty body.
 *  - DELETE `/quota/<role>`: remove a role's quota (404 when it has none).
 * Errors: 400 bad JSON or values, 409 role already has quota (POST) or guarantees above the cluster total
 * without `force`, 422 a guarantee above its limit or a child above its parent, 503 registry not ready.
 */
import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { checkQuotaRole, parseJson, parseQuotaUpdate, toValueMap } from '../../../quota/index.js';
import { answer, json, type OperatorDeps, readBody } from './common.js';

function resourceList(map: Readonly<Record<string, number>>) {
  return Object.keys(map)
    .sort()
    .map((name) => ({ name, type: 'SCALAR', scalar: { value: map[name]! } }));
}

/** The `GET /quota` body (Mesos' QuotaStatus); also GET_QUOTA's `status`. */
export function quotaStatusJson(deps: OperatorDeps): Record<string, unknown> {
  const quotas = deps.quota.list();
  return {
    infos: quotas.map((q) => ({
      role: q.role,
      guarantee: resourceList(q.guarantees),
      limit: resourceList(q.limits),
      consumed: resourceList(deps.consumption(q.role)),
    })),
    configs: quotas.map((q) => ({
      role: q.role,
      guarantees: toValueMap(q.guarantees),
      limits: toValueMap(q.limits),
    })),
  };
}

export function addQuotaRoutes(router: Router, deps: OperatorDeps): void {
  const get = (ctx: Context) => answer(ctx, () => json(ctx, 200, quotaStatusJson(deps)));
  const set = (mode: 'create' | 'replace') => (ctx: Context) =>
    answer(ctx, async () => {
      const update = parseQuotaUpdate(parseJson(await readBody(ctx)));
      await deps.quota.update(update, update.isUpdateCall ? 'replace' : mode);
      deps.rolesChanged(update.configs.map((c) => c.role));
      ctx.status = 200;
      ctx.body = '';
    });
  const remove = (ctx: Context) =>
    answer(ctx, async () => {
      const raw = ctx.params.role ?? '';
      const role = checkQuotaRole(decodeURIComponent(Array.isArray(raw) ? raw.join('/') : raw));
      await deps.quota.remove(role);
      deps.rolesChanged([role]);
      ctx.status = 200;
      ctx.body = '';
    });
  for (const base of ['/quota', '/master/quota']) {
    router.get(base, get);
    router.post(base, set('create'));
    router.put(base, set('replace'));
    router.delete(`${base}/*role`, remove);
  }
}
