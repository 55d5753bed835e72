/**
 * Maintenance endpoints (Mesos' paths and JSON; leader only; also under `/master/...`):
 *
 * - `GET /maintenance/schedule` → `{"windows":[{"machine_ids":[{"hostname","ip"}],"unavailability":{"start":{"nanoseconds"},"duration":{"nanoseconds"}}}]}`
 * - `POST /maintenance/schedule` (that JSON) → 200; 400 with a message for an invalid schedule (a machine in
 *   two windows, a DOWN machine left out, …); nothing changes then.
 * - `GET /maintenance/status` → `{"draining_machines":[{"id","statuses":[{agent_id,framework_id,status,timestamp}]}],"down_machines":[…]}`
 * - `POST /machine/down`, `POST /machine/up` with a JSON array of machine ids → 200; 400 when a machine is not
 *   DRAINING (down) or not DOWN (up).
 */
import type { Router } from '@koa/router';
import { toAgoraError } from '@agora/common';
import type { Context } from 'koa';
import type { Maintenance } from '../../../maintenance/maintenance.js';
import { parseMachineIds, parseScheduleJson } from '../../../maintenance/schedule.js';
import { httpStatusOf, readBody } from './common.js';

export type MaintenanceOperations = Pick<Maintenance, 'scheduleJson' | 'statusJson' | 'updateSchedule' | 'down' | 'up'>;

async function jsonBody(ctx: Context): Promise<unknown> {
  const text = await readBody(ctx);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw Object.assign(new Error(`the body is not JSON: ${(err as Error).message}`), {
      code: 'AGORA_ERR_INVALID_JSON',
    });
  }
}

async function run(ctx: Context, action: () => Promise<void>): Promise<void> {
  try {
    await action();
    ctx.status = 200;
    ctx.body = '';
  } catch (err) {
    const error = toAgoraError(err);
    ctx.status = httpStatusOf(error.code);
    ctx.type = 'text/plain';
    ctx.body = error.message;
  }
}

export function addMaintenanceRoutes(router: Router, ops: MaintenanceOperations): void {
  for (const prefix of ['', '/master']) {
    router.get(`${prefix}/maintenance/schedule`, (ctx) => {
      ctx.status = 200;
      ctx.body = ops.scheduleJson();
    });
    router.post(`${prefix}/maintenance/schedule`, (ctx) =>
      run(ctx, async () => ops.updateSchedule(parseScheduleJson(await jsonBody(ctx)))),
    );
    router.get(`${prefix}/maintenance/status`, (ctx) => {
      ctx.status = 200;
      ctx.body = ops.statusJson();
    });
    router.post(`${prefix}/machine/down`, (ctx) =>
      run(ctx, async () => ops.down(parseMachineIds(await jsonBody(ctx)))),
    );
    router.post(`${prefix}/machine/up`, (ctx) => run(ctx, async () => ops.up(parseMachineIds(await jsonBody(ctx)))));
  }
}
