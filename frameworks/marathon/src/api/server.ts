/**
 * The Koa application: error mapping first (every thrown error becomes
 * Marathon's JSON answer), then the routes, then a JSON 404 for unknown
 * routes. Deviation from Marathon: an unknown route answers 404
 * `{"message":"URI not found: /x"}`, where Marathon 1.x answers 500 (Jersey's
 * NotFound mapped by its exception mapper).
 */
import Router from '@koa/router';
import Koa from 'koa';
import { httpAnswerFor } from './http-errors.js';
import { registerPingRoute } from './ping.js';
import type { ApiServices } from './services.js';
import { registerAppRoutes } from './v2/apps.js';
import { registerInfoRoutes } from './v2/info.js';
import { registerTaskRoutes } from './v2/tasks.js';

export function createApiApp(services: ApiServices): Koa {
  const app = new Koa();
  app.silent = true;
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const answer = httpAnswerFor(err);
      if (answer.status >= 500) services.logger.error({ err, path: ctx.path, method: ctx.method }, 'request failed');
      ctx.status = answer.status;
      ctx.body = answer.body;
    }
  });
  app.use(async (ctx, next) => {
    await next();
    if (ctx.body !== undefined && ctx.body !== null) return;
    const status = ctx.status;
    const message =
      status === 404
        ? `URI not found: ${ctx.path}`
        : status === 405
          ? 'HTTP 405 Method Not Allowed'
          : status === 501
            ? 'HTTP 501 Not Implemented'
            : undefined;
    if (message === undefined) return;
    ctx.body = { message };
    ctx.status = status; // assigning a body would otherwise turn the implicit 404 into 200
  });
  const router = new Router();
  registerPingRoute(router);
  registerInfoRoutes(router, services);
  registerAppRoutes(router, services);
  registerTaskRoutes(router, services);
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
