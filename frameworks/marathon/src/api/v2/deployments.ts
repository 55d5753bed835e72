/**
 * `/v2/deployments` (Marathon's `DeploymentsResource`):
 *
 * | route                                   | answer                                                        |
 * |-----------------------------------------|---------------------------------------------------------------|
 * | `GET /v2/deployments`                   | 200 `[DeploymentInfo]` (running ones; current step 1-based)   |
 * | `DELETE /v2/deployments/{id}`           | 200 `{"version","deploymentId"}` of a new *rollback* deployment (forced), `Marathon-Deployment-Id` |
 * | `DELETE /v2/deployments/{id}?force=true`| 202, no body: the deployment is canceled (no rollback)        |
 * | unknown id                              | 404 `{"message":"DeploymentPlan <id> does not exist"}`        |
 *
 * Rollback re-applies each affected app's definition from before the
 * deployment (an app the deployment created is deleted, one it deleted is
 * created again), with `force`, which supersedes the original deployment.
 */
import { AgoraError } from '@agora/common';
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { AppOp } from '../../apps/app-manager.js';
import { type DeploymentRecord, deploymentToJson } from '../../deployments/deployment-tracker.js';
import { appToJson } from '../../model/app-json.js';
import { queryFlag } from '../body.js';
import type { ApiServices } from '../services.js';

function deploymentNotFound(id: string): AgoraError {
  return new AgoraError('AGORA_ERR_BAD_REQUEST', `DeploymentPlan ${id} does not exist`, { data: { status: 404 } });
}

/** Apply the pre-deployment definitions again, as one forced change (one deployment). */
async function rollback(
  services: ApiServices,
  d: DeploymentRecord,
): Promise<{ version: string; deploymentId: string } | undefined> {
  const ops: AppOp[] = [];
  for (const appId of d.affectedApps) {
    const original = d.originals[appId];
    if (original === undefined) continue;
    if (original === null) {
      if (services.apps.get(appId) !== undefined) ops.push({ op: 'delete', id: appId });
    } else {
      const { version: _v, versionInfo: _vi, ...body } = appToJson(original);
      ops.push({ op: 'put', id: appId, body, partial: false });
    }
  }
  if (ops.length === 0) return undefined;
  const r = await services.apps.change(ops, { force: true });
  return r.deployment === undefined ? undefined : { version: r.version, deploymentId: r.deployment.id };
}

export function registerDeploymentRoutes(router: Router, services: ApiServices): void {
  const { deployments } = services;
  router.get('/v2/deployments', (ctx: Context) => {
    ctx.body = deployments.list().map((d) => deploymentToJson(d, deployments.readinessOf));
  });

  router.delete('/v2/deployments/:id', async (ctx: Context) => {
    const id = String(ctx.params['id']);
    const d = deployments.get(id);
    if (d === undefined) throw deploymentNotFound(id);
    if (queryFlag(ctx, 'force', false)) {
      deployments.cancel(id);
      ctx.status = 202;
      ctx.body = '';
      return;
    }
    const result = await rollback(services, d);
    if (result === undefined) {
      // Nothing to revert (e.g. the apps are already as before): just stop tracking it.
      deployments.cancel(id);
      ctx.status = 202;
      ctx.body = '';
      return;
    }
    ctx.set('Marathon-Deployment-Id', result.deploymentId);
    ctx.status = 200;
    ctx.body = result;
  });
}
