/**
 * `/v2/leader` (Marathon's `LeaderResource`): `GET` → 200 `{"leader":"host:port"}`;
 * `DELETE` → 200 `{"message":"Leadership abdicated"}` after handing leadership
 * over (HA). A single instance (no `abdicate` service) answers the same and
 * keeps leading: there is nobody to hand over to.
 */
import type Router from '@koa/router';
import type { ApiServices } from '../services.js';

export function registerLeaderRoutes(router: Router, services: ApiServices): void {
  router.get('/v2/leader', (ctx) => {
    const leader = services.leader?.() ?? String(services.info()['leader'] ?? '');
    if (leader === '') {
      ctx.status = 404;
      ctx.body = { message: 'There is no leader' };
      return;
    }
    ctx.body = { leader };
  });
  router.delete('/v2/leader', async (ctx) => {
    const abdicate = services.abdicate;
    ctx.body = { message: 'Leadership abdicated' };
    // Marathon abdicates after answering (500 ms later); so do we.
    if (abdicate !== undefined) {
      setTimeout(() => {
        abdicate().catch((err: unknown) => services.logger.error({ err }, 'abdication failed'));
      }, 500).unref();
    }
  });
}
