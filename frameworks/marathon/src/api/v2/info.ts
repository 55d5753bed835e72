/** `GET /v2/info`: name, version, leader, framework id and the configuration (Marathon's `InfoResource`). */
import type Router from '@koa/router';
import type { ApiServices } from '../services.js';

export function registerInfoRoutes(router: Router, services: ApiServices): void {
  router.get('/v2/info', (ctx) => {
    ctx.body = services.info();
  });
}
