/**
 * The master's HTTP handler (koa). Routes every master answers (`/redirect`,
 * `/health`) come first; then a standby answers everything else with 307 to
 * the leader (`Location: //<leader host>:<port><path>`), or 503 when no leader
 * is elected; the leader serves the rest.
 */
import { Router } from '@koa/router';
import Koa from 'koa';
import { addEventRoutes, type MasterEventStream } from './events.js';
import { addHealthRoutes } from './health.js';
import { addLifecycleRoutes, type LifecycleOperations } from './operator/lifecycle.js';
import { addMaintenanceRoutes, type MaintenanceOperations } from './operator/maintenance.js';
import { addOperatorRoutes, addVolumeCallRoutes, type OperatorDeps } from './operator/index.js';
import {
  type AnyMasterReadonlyDeps,
  addAnyMasterReadonlyRoutes,
  addReadonlyRoutes,
  type ReadonlyDeps,
} from './readonly.js';
import { addOperatorCallRoutes, type OperatorCallDeps } from './operator/v1-calls.js';
import { addRedirectRoutes } from './redirect.js';
import type { JsonPieces } from '../../state/state-snapshot.js';
import { addStateRoutes } from './state.js';

export interface HttpAppDeps {
  isLeader(): boolean;
  /** `host:port` of the leading master, if one is known. */
  leaderAuthority(): string | undefined;
  /** The `/state` JSON as pieces of text (state/state-snapshot.ts). */
  state(): JsonPieces;
  /** `/teardown` and the `/api/v1` calls MARK_AGENT_GONE and TEARDOWN. */
  lifecycle?: LifecycleOperations;
  /** `/state-summary`, `/frameworks`, `/slaves`, `/tasks`, `/flags` (leader) and `/version`, `/metrics*` (any). */
  readonly?: ReadonlyDeps & AnyMasterReadonlyDeps;
  /** `/maintenance/schedule`, `/maintenance/status`, `/machine/down`, `/machine/up`. */
  maintenance?: MaintenanceOperations;
  /** `/roles`, `/quota`, `/weights` (see operator/index.ts). */
  operator?: OperatorDeps;
  /** The other v1 operator calls on `POST /api/v1` (GET_STATE, GET_QUOTA, …; see operator/v1-calls.ts). */
  operatorCalls?: OperatorCallDeps;
  /** The operator event stream (`/api/v1/events` SSE, `POST /api/v1` SUBSCRIBE); see events.ts. */
  events?: MasterEventStream;
}

export function createHttpApp(deps: HttpAppDeps): Koa {
  const app = new Koa();
  app.silent = true;

  const anyMaster = new Router();
  addRedirectRoutes(anyMaster, deps.leaderAuthority);
  addHealthRoutes(anyMaster);
  if (deps.readonly !== undefined) addAnyMasterReadonlyRoutes(anyMaster, deps.readonly);
  app.use(anyMaster.routes());

  app.use(async (ctx, next) => {
    if (deps.isLeader()) return next();
    const leader = deps.leaderAuthority();
    if (leader === undefined) {
      ctx.status = 503;
      ctx.body = 'No leader elected';
      return;
    }
    ctx.status = 307;
    ctx.set('Location', `//${leader}${ctx.url}`);
    ctx.body = '';
  });

  const leaderOnly = new Router();
  addStateRoutes(leaderOnly, deps.state);
  if (deps.readonly !== undefined) addReadonlyRoutes(leaderOnly, deps.readonly);
  if (deps.events !== undefined) addEventRoutes(leaderOnly, deps.events);
  // CREATE_VOLUMES / DESTROY_VOLUMES on POST /api/v1, in front of the other operator calls.
  if (deps.operator !== undefined) addVolumeCallRoutes(leaderOnly, deps.operator);
  if (deps.operatorCalls !== undefined) addOperatorCallRoutes(leaderOnly, deps.operatorCalls);
  if (deps.lifecycle !== undefined) addLifecycleRoutes(leaderOnly, deps.lifecycle);
  if (deps.maintenance !== undefined) addMaintenanceRoutes(leaderOnly, deps.maintenance);
  if (deps.operator !== undefined) addOperatorRoutes(leaderOnly, deps.operator);
  app.use(leaderOnly.routes());
  app.use(leaderOnly.allowedMethods());
  return app;
}
