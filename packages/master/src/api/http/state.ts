/**
 * `GET /state` (+ `/master/state`, `/state.json`, `/master/state.json`): the
 * Mesos-shaped state JSON (see state/state-view.ts). Leader only.
 */
import type { Router } from '@koa/router';

export function addStateRoutes(router: Router, state: () => Record<string, unknown>): void {
  for (const path of ['/state', '/master/state', '/state.json', '/master/state.json']) {
    router.get(path, (ctx) => {
      ctx.status = 200;
      ctx.type = 'application/json';
      ctx.body = JSON.stringify(state());
    });
  }
}
