/**
 * The master's HTTP handler (koa). Routes every master answers (`/redirect`,
 * `/health`) come first; then a standby answers everything else with 307 to
 * the leader (`Location: //<leader host>:<port><path>`), or 503 when no leader
 * is elected; the leader serves the rest.
 */
import { Router } from '@koa/router';
import Koa from 'koa';
import { addHealthRoutes } from './health.js';
import { addRedirectRoutes } from './redirect.js';
import { addStateRoutes } from './state.js';

export interface HttpAppDeps {
  isLeader(): boolean;
  /** `host:port` of the leading master, if one is known. */
  leaderAuthority(): string | undefined;
  state(): Record<string, unknown>;
}

export function createHttpApp(deps: HttpAppDeps): Koa {
  const app = new Koa();
  app.silent = true;

  const anyMaster = new Router();
  addRedirectRoutes(anyMaster, deps.leaderAuthority);
  addHealthRoutes(anyMaster);
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
  app.use(leaderOnly.routes());
  app.use(leaderOnly.allowedMethods());
  return app;
}
