/**
 * `/v2/eventSubscriptions` (Marathon ≤1.4's `EventSubscriptionsResource`; always enabled here):
 *
 * | route                                              | answer                                                           |
 * |----------------------------------------------------|------------------------------------------------------------------|
 * | `POST /v2/eventSubscriptions?callbackUrl=<url>`    | 200 `{"callbackUrl","clientIp","eventType":"subscribe_event","timestamp"}` (idempotent) |
 * | `GET /v2/eventSubscriptions`                       | 200 `{"callbackUrls":[…]}`                                        |
 * | `GET /v2/eventSubscriptions?detail=true`           | adds `"subscribers":[{callbackUrl, delivered, retried, dropped, queued, lagMs, …}]` (ours) |
 * | `DELETE /v2/eventSubscriptions?callbackUrl=<url>`  | 200 `{…,"eventType":"unsubscribe_event",…}` (unknown URL too)     |
 *
 * A missing, malformed or non-http(s) `callbackUrl` answers 400 `{"message":…}` (Marathon: 422 for a URL
 * `java.net.URL` cannot parse); a store failure 503.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { HttpCallbacks } from '../../events/http-callbacks.js';
import { queryFlag } from '../body.js';

/** The caller's address as Marathon prints it (`::ffff:` stripped). */
export function clientIpOf(ctx: Context): string {
  return (ctx.request.ip ?? ctx.req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
}

function callbackUrlOf(ctx: Context): unknown {
  const v = ctx.query['callbackUrl'];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

export function registerEventSubscriptionRoutes(router: Router, callbacks: HttpCallbacks): void {
  router.post('/v2/eventSubscriptions', async (ctx) => {
    ctx.body = await callbacks.subscribe(callbackUrlOf(ctx), clientIpOf(ctx));
  });
  router.get('/v2/eventSubscriptions', (ctx) => {
    ctx.body = queryFlag(ctx, 'detail', false)
      ? { callbackUrls: callbacks.callbackUrls(), subscribers: callbacks.metrics() }
      : { callbackUrls: callbacks.callbackUrls() };
  });
  router.delete('/v2/eventSubscriptions', async (ctx) => {
    ctx.body = await callbacks.unsubscribe(callbackUrlOf(ctx), clientIpOf(ctx));
  });
}
