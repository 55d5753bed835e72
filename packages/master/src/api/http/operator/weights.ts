/**
 * `/weights` (+ `/master/weights`):
 *  - GET: `[{"role": "web", "weight": 2}]` (roles at the default weight 1 are not listed).
 *  - PUT: the same list; sets the weights given (weight 1 resets a role). 200 with an empty body.
 * Errors: 400 for bad JSON, a bad role ('*' included) or a weight that is not a positive number;
 * 503 when the registry is not ready. Nothing is changed on an error.
 */
import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { parseJson, parseWeights } from '../../../quota/index.js';
import { answer, json, type OperatorDeps, readBody } from './common.js';

/** The `GET /weights` body: roles with a weight other than 1; also GET_WEIGHTS' `weight_infos`. */
export function weightsJson(deps: OperatorDeps): Array<{ role: string; weight: number }> {
  const weights = deps.quota.weights();
  return Object.keys(weights)
    .sort()
    .map((role) => ({ role, weight: weights[role]! }));
}

export function addWeightsRoutes(router: Router, deps: OperatorDeps): void {
  const get = (ctx: Context) => answer(ctx, () => json(ctx, 200, weightsJson(deps)));
  const put = (ctx: Context) =>
    answer(ctx, async () => {
      const weights = parseWeights(parseJson(await readBody(ctx)));
      await deps.quota.setWeights(weights);
      deps.rolesChanged([]);
      ctx.status = 200;
      ctx.body = '';
    });
  for (const base of ['/weights', '/master/weights']) {
    router.get(base, get);
    router.put(base, put);
    router.post(base, put);
  }
}
