/**
 * Operator endpoints of the agent and framework lifecycles (leader only):
 *
 * - `POST /teardown` (+ `/master/teardown`), form body `frameworkId=<id>`: tear the framework down (its
 *   tasks are killed). 200; 400 without `frameworkId`; 400 for an unknown framework (as Mesos).
 * - `POST /api/v1` (+ `/master/api/v1`), Mesos' v1 operator JSON, for the calls implemented here:
 *   `{"type":"MARK_AGENT_GONE","mark_agent_gone":{"agent_id":{"value":"…"}}}` → 200 once the registry is
 *   written; 404 for an agent never admitted.
 *   `{"type":"TEARDOWN","teardown":{"framework_id":{"value":"…"}}}` → 200; 404 for an unknown framework.
 *   Other call types: 400 naming the call (not implemented by this master yet). Non-JSON: 415.
 */
import type { Router } from '@koa/router';
import { AgoraError, toAgoraError } from '@agora/common';
import type { Context } from 'koa';
import { httpStatusOf, readBody } from './common.js';

export interface LifecycleOperations {
  /** Throws AGORA_ERR_NOT_SUBSCRIBED for an unknown framework. */
  teardown(frameworkId: string): void;
  /** Resolves once the registry is written. Rejects AGORA_ERR_UNKNOWN_AGENT for an agent never admitted. */
  markAgentGone(agentId: string): Promise<void>;
}

function answer(ctx: Context, status: number, message: string): void {
  ctx.status = status;
  ctx.type = 'text/plain';
  ctx.body = message;
}

function statusOf(err: AgoraError): number {
  return httpStatusOf(err.code);
}

export function addLifecycleRoutes(router: Router, ops: LifecycleOperations): void {
  for (const path of ['/teardown', '/master/teardown']) {
    router.post(path, async (ctx) => {
      try {
        const params = new URLSearchParams(await readBody(ctx));
        const frameworkId = params.get('frameworkId') ?? ctx.query['frameworkId'];
        if (typeof frameworkId !== 'string' || frameworkId === '') {
          answer(ctx, 400, "Missing 'frameworkId' query parameter in the request body");
          return;
        }
        ops.teardown(frameworkId);
        answer(ctx, 200, '');
      } catch (err) {
        const error = toAgoraError(err);
        // Mesos answers 400 "No framework found with specified ID".
        answer(ctx, error.code === 'AGORA_ERR_NOT_SUBSCRIBED' ? 400 : statusOf(error), error.message);
      }
    });
  }
  for (const path of ['/api/v1', '/master/api/v1']) {
    router.post(path, async (ctx) => {
      const type = String(ctx.get('Content-Type') ?? '');
      if (!type.includes('application/json')) {
        answer(ctx, 415, 'Expecting Content-Type application/json (protobuf operator calls are not supported)');
        return;
      }
      let call: Record<string, unknown>;
      try {
        const parsed = JSON.parse(await readBody(ctx)) as unknown;
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
        call = parsed as Record<string, unknown>;
      } catch (err) {
        answer(ctx, 400, `Failed to parse the operator call: ${(err as Error).message}`);
        return;
      }
      try {
        await operatorCall(call, ops);
        answer(ctx, 200, '');
      } catch (err) {
        const error = toAgoraError(err);
        answer(ctx, statusOf(error), error.message);
      }
    });
  }
}

function idField(call: Record<string, unknown>, section: string, field: string): string {
  const sub = call[section] as Record<string, unknown> | undefined;
  const id = (sub?.[field] as { value?: unknown } | undefined)?.value;
  if (typeof id !== 'string' || id === '') {
    throw new AgoraError('AGORA_ERR_BAD_REQUEST', `${String(call['type'])} needs ${section}.${field}.value`);
  }
  return id;
}

async function operatorCall(call: Record<string, unknown>, ops: LifecycleOperations): Promise<void> {
  switch (call['type']) {
    case 'MARK_AGENT_GONE':
      await ops.markAgentGone(idField(call, 'mark_agent_gone', 'agent_id'));
      return;
    case 'TEARDOWN':
      ops.teardown(idField(call, 'teardown', 'framework_id'));
      return;
    case undefined:
      throw new AgoraError('AGORA_ERR_BAD_REQUEST', 'the operator call needs a "type"');
    default:
      throw new AgoraError(
        'AGORA_ERR_BAD_REQUEST',
        `operator call ${String(call['type'])} is not implemented by this master`,
      );
  }
}
