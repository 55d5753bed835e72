/**
 * `GET /master/redirect` (+ `/redirect`): 307 to `//<leader host>:<port>`, or
 * 503 when no leader is elected. Answered by every master, leader or not.
 */
import type { Router } from '@koa/router';

export function addRedirectRoutes(router: Router, leaderAuthority: () => string | undefined): void {
  for (const path of ['/redirect', '/master/redirect']) {
    router.get(path, (ctx) => {
      const leader = leaderAuthority();
      if (leader === undefined) {
        ctx.status = 503;
        ctx.body = 'No leader elected';
        return;
      }
      ctx.status = 307;
      ctx.set('Location', `//${leader}`);
      ctx.body = '';
    });
  }
}
