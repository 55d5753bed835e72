/**
 * The v1 operator calls for persistent volumes on `POST /api/v1` (+
 * `/master/api/v1`), Mesos' JSON form:
 *
 * ```json
 * {"type":"CREATE_VOLUMES","create_volumes":{"agent_id":{"value":"…"},"volumes":[{…Resource…}]}}
 * {"type":"DESTROY_VOLUMES","destroy_volumes":{"agent_id":{"value":"…"},"volumes":[…]}}
 * ```
 *
 * 202 when applied (as Mesos); errors as `/create-volumes` (400, 404, 409) with
 * a plain-text message. Any other call is handed on untouched (the body is
 * replayed to the next `/api/v1` handler), so this sits in front of the other
 * operator calls.
 */
import type { Router } from '@koa/router';
import type { Context, Next } from 'koa';
import { AgoraError } from '@agora/common';
import { answer, handOn, type OperatorDeps, readOperatorCall } from './common.js';

const CALLS = { CREATE_VOLUMES: 'create_volumes', DESTROY_VOLUMES: 'destroy_volumes' } as const;

export function addVolumeCallRoutes(router: Router, deps: OperatorDeps): void {
  const reservations = deps.reservations;
  if (reservations === undefined) return;
  for (const path of ['/api/v1', '/master/api/v1']) {
    router.post(path, async (ctx: Context, next: Next) => {
      if (!String(ctx.get('content-type')).includes('application/json')) return next();
      const { raw, call } = await readOperatorCall(ctx);
      const type = call?.['type'];
      if (call === undefined || (type !== 'CREATE_VOLUMES' && type !== 'DESTROY_VOLUMES'))
        return handOn(ctx, raw, next);
      const request = call;
      await answer(ctx, async () => {
        const section = request[CALLS[type]] as Record<string, unknown> | undefined;
        const agentId = (section?.['agent_id'] as { value?: unknown } | undefined)?.value;
        if (typeof agentId !== 'string' || agentId === '') {
          throw new AgoraError('AGORA_ERR_BAD_REQUEST', `${type} needs ${CALLS[type]}.agent_id.value`);
        }
        const volumes = section?.['volumes'];
        if (type === 'CREATE_VOLUMES') await reservations.createVolumes(agentId, volumes);
        else await reservations.destroyVolumes(agentId, volumes);
        ctx.status = 202;
        ctx.body = '';
      });
    });
  }
}
