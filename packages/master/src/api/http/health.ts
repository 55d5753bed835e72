/**
 * `GET /health` (+ `/master/health`): 200 with an empty body, on the leader
 * and on standbys alike (as Mesos: it says the process is up, not that it leads).
 */
import type { Router } from '@koa/router';

export function addHealthRoutes(router: Router): void {
  for (const path of ['/health', '/master/health']) {
    router.get(path, (ctx) => {
      ctx.status = 200;
      ctx.body = '';
    });
  }
}
