/**
 * `GET /roles` (+ `/master/roles`, `/roles.json`): every known role — with
 * frameworks, reservations, a weight or quota, and their ancestors — in
 * Mesos' shape: `{"roles":[{name, weight, frameworks, resources, allocated,
 * offered, reserved, quota:{role, guarantee, limit, consumed}}]}`.
 */
import type { Router } from '@koa/router';
import { answer, json, type OperatorDeps } from './common.js';

export function addRolesRoutes(router: Router, deps: OperatorDeps): void {
  for (const path of ['/roles', '/master/roles', '/roles.json', '/master/roles.json']) {
    router.get(path, (ctx) => answer(ctx, () => json(ctx, 200, deps.roles())));
  }
}
