/**
 * Operator endpoints for roles, quota, weights and dynamic reservations (Mesos' paths and JSON).
 * See docs/allocator.md.
 */
import type { Router } from '@koa/router';
import type { OperatorDeps } from './common.js';
import { addQuotaRoutes } from './quota.js';
import { addReservationRoutes } from './reservations.js';
import { addRolesRoutes } from './roles.js';
import { addWeightsRoutes } from './weights.js';

export type { OperatorDeps, ReservationDeps } from './common.js';
export { createOperatorDeps, operatorReservations } from './deps.js';
export { addVolumeCallRoutes } from './volume-calls.js';

export function addOperatorRoutes(router: Router, deps: OperatorDeps): void {
  addRolesRoutes(router, deps);
  addQuotaRoutes(router, deps);
  addWeightsRoutes(router, deps);
  addReservationRoutes(router, deps);
}
