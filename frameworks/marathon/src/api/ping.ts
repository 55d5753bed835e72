/** `GET /ping`: `pong` as text, or `"pong"` when the client asks for JSON. */
import type Router from '@koa/router';

export function registerPingRoute(router: Router): void {
  router.get('/ping', (ctx) => {
    const type = ctx.accepts('text/plain', 'application/json');
    if (type === 'application/json') {
      ctx.type = 'application/json';
      ctx.body = '"pong"';
    } else {
      ctx.type = 'text/plain';
      ctx.body = 'pong';
    }
    ctx.set('Cache-Control', 'must-revalidate,no-cache,no-store');
  });
}
