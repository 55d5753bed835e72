/**
 * `POST /reserve` and `POST /unreserve` (+ `/master/...`): dynamic
 * reservations by the operator, with Mesos' form-encoded body
 * `slaveId=<agent id>&resources=<JSON list of Resource>`. Each resource names
 * its reservation as `reservations: [{type: "DYNAMIC", role, principal, labels}]`
 * (or the legacy `role` plus `reservation: {principal, labels}`).
 * 202 when applied (offers on the agent are rescinded when they hold what is
 * needed). Errors: 400 bad form, JSON or resources; 404 unknown agent; 409 the
 * resources are not available (in use), or not dynamically reserved.
 *
 * `POST /create-volumes` and `POST /destroy-volumes` (+ `/master/...`):
 * persistent volumes, form `slaveId=<agent id>&volumes=<JSON list of Resource>`
 * (each a reserved `disk` with `disk.persistence.id` and
 * `disk.volume.container_path` / `mode`). 202 when applied; 400 bad form or
 * volume (AGORA_ERR_INVALID_VOLUME); 404 unknown agent; 409 the disk is not
 * available, the id exists, the volume is unknown or in use.
 */
import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { AgoraError } from '@agora/common';
import { answer, type OperatorDeps, readBody } from './common.js';

function field(form: URLSearchParams, name: string, list = 'resources'): string {
  const v = form.get(name);
  if (v === null || v.trim() === '') {
    throw new AgoraError(
      'AGORA_ERR_BAD_REQUEST',
      `missing form field '${name}' (form-encoded: slaveId=...&${list}=[...])`,
    );
  }
  return v;
}

export function addReservationRoutes(router: Router, deps: OperatorDeps): void {
  const reservations = deps.reservations;
  if (reservations === undefined) return;
  const handle = (kind: 'reserve' | 'unreserve') => (ctx: Context) =>
    answer(ctx, async () => {
      const form = new URLSearchParams(await readBody(ctx));
      const agentId = field(form, 'slaveId');
      let resources: unknown;
      try {
        resources = JSON.parse(field(form, 'resources'));
      } catch (err) {
        if (err instanceof AgoraError) throw err;
        throw new AgoraError('AGORA_ERR_INVALID_JSON', `'resources' is not valid JSON: ${(err as Error).message}`);
      }
      const principal = form.get('principal') ?? undefined;
      await reservations[kind](agentId, resources, principal);
      ctx.status = 202;
      ctx.body = '';
    });
  const volumes = (kind: 'createVolumes' | 'destroyVolumes') => (ctx: Context) =>
    answer(ctx, async () => {
      const form = new URLSearchParams(await readBody(ctx));
      const agentId = field(form, 'slaveId', 'volumes');
      let list: unknown;
      try {
        list = JSON.parse(field(form, 'volumes', 'volumes'));
      } catch (err) {
        if (err instanceof AgoraError) throw err;
        throw new AgoraError('AGORA_ERR_INVALID_JSON', `'volumes' is not valid JSON: ${(err as Error).message}`);
      }
      await reservations[kind](agentId, list);
      ctx.status = 202;
      ctx.body = '';
    });
  for (const base of ['', '/master']) {
    router.post(`${base}/reserve`, handle('reserve'));
    router.post(`${base}/unreserve`, handle('unreserve'));
    router.post(`${base}/create-volumes`, volumes('createVolumes'));
    router.post(`${base}/destroy-volumes`, volumes('destroyVolumes'));
  }
}
