/**
 * `/v2/leader` (Marathon's `LeaderResource`): `GET` → 200 `{"leader":"host:port"}`;
 * `DELETE` → 200 `{"message":"Leadership abdicated"}` after handing leadership
 * over (HA). A single instance (no `abdicate` service) answers the same and
 * keeps leading: there is nobody to hand over to. `?backup=file:///x&restore=file:///y`
 * stores a request the next leader carries out at takeover (storage/backup.ts);
 * a single instance carries it out at its next start. Bad locations: 400.
 */
import type Router from '@koa/router';
import { toAgoraError } from '@agora/common';
import { checkRuntimeConfiguration } from '../../storage/backup.js';
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
    const config: { backup?: string; restore?: string } = {};
    for (const k of ['backup', 'restore'] as const) {
      const v = ctx.query[k];
      if (typeof v === 'string' && v !== '') config[k] = v;
      else if (v !== undefined) {
        ctx.status = 400;
        ctx.body = { message: `Invalid ${k} location: give one URI` };
        return;
      }
    }
    if (config.backup !== undefined || config.restore !== undefined) {
      if (services.requestBackupRestore === undefined) {
        ctx.status = 400;
        ctx.body = { message: 'backup and restore need a store that supports them' };
        return;
      }
      try {
        checkRuntimeConfiguration(config);
        await services.requestBackupRestore(config);
      } catch (err) {
        const e = toAgoraError(err);
        ctx.status = e.code === 'AGORA_ERR_BAD_REQUEST' ? 400 : 503;
        ctx.body = { message: e.message };
        return;
      }
    }
    ctx.body = { message: 'Leadership abdicated' };
    // Marathon abdicates after answering (500 ms later); so do we.
    if (abdicate !== undefined) {
      setTimeout(() => {
        abdicate().catch((err: unknown) => services.logger.error({ err }, 'abdication failed'));
      }, 500).unref();
    }
  });
}
