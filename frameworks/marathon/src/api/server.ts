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
import { registerLoggingRoutes } from './logging.js';
import { ApiMetrics, metricsMiddleware, registerMetricsRoutes } from './metrics.js';
import { registerPingRoute } from './ping.js';
import { registerAppExtraRoutes } from './v2/app-extras.js';
import { registerGroupRoutes } from './v2/groups.js';
import { registerLeaderRoutes } from './v2/leader.js';
import { registerQueueRoutes } from './v2/queue.js';
import type { ApiServices } from './services.js';
import { registerAppRoutes } from './v2/apps.js';
import { registerDeploymentRoutes } from './v2/deployments.js';
import { registerInfoRoutes } from './v2/info.js';
import { registerTaskRoutes } from './v2/tasks.js';
import { registerEventSubscriptionRoutes } from './v2/event-subscriptions.js';
import { registerEventStreamRoutes } from './v2/events.js';

export function createApiApp(services: ApiServices): Koa {
  const app = new Koa();
  app.silent = true;
  services.metrics ??= new ApiMetrics();
  app.use(metricsMiddleware(services.metrics));
  app.use(async (ctx, next) => {
    await next();
    // Marathon's leader answers carry its URL (a proxying standby passes the leader's through).
    if (!ctx.response.get('X-Marathon-Leader')) {
      const leader = services.leader?.() ?? String(services.info()['leader'] ?? '');
      if (leader !== '') ctx.set('X-Marathon-Leader', `http://${leader}`);
    }
  });
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
  registerAppExtraRoutes(router, services);
  registerQueueRoutes(router, services);
  registerLeaderRoutes(router, services);
  registerMetricsRoutes(router, services);
  registerGroupRoutes(router, services);
  registerDeploymentRoutes(router, services);
  if (services.logLevels !== undefined) registerLoggingRoutes(router, services.logLevels);
  if (services.events !== undefined) registerEventSubscriptionRoutes(router, services.events.callbacks);
  if (services.events !== undefined) registerEventStreamRoutes(router, services.events.streams);
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
