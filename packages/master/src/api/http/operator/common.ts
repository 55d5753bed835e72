/**
 * Shared plumbing for the operator endpoints: the dependencies they need from
 * the master, reading a bounded request body, and answering errors with the
 * right status and a plain-text message (Mesos answers operator errors as
 * text). Never a 500 for bad input: every thrown AgoraError maps to 4xx/503.
 */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { Context, Next } from 'koa';
import { AgoraError, toAgoraError } from '@agora/common';
import type { QuotaService } from '../../../quota/index.js';

/** What the operator endpoints read and change in the master. */
export interface OperatorDeps {
  quota: QuotaService;
  /** The `/roles` body (Mesos shape). */
  roles(): Record<string, unknown>;
  /** Scalar totals of the cluster. */
  clusterTotal(): Record<string, number>;
  /** Quota consumption per role (unreserved allocations within it plus its reservations). */
  consumption(role: string): Record<string, number>;
  /**
   * Quota or weights changed for `roles`: outstanding offers to those roles (and their descendants) are
   * rescinded so the next cycle offers under the new rules (Mesos rescinds offers to enforce a limit).
   */
  rolesChanged(roles: readonly string[]): void;
  /** Dynamic reservations through `/reserve` and `/unreserve`; absent when not wired. */
  reservations?: ReservationDeps;
}

export interface ReservationDeps {
  /** Reserve unreserved, unused resources of an agent (`resources` carry role and principal); resolves when applied. */
  reserve(agentId: string, resources: unknown, principal: string | undefined): Promise<void>;
  unreserve(agentId: string, resources: unknown, principal: string | undefined): Promise<void>;
  /** Create persistent volumes on reserved, unused disk of an agent (`volumes`: JSON list of Resource). */
  createVolumes(agentId: string, volumes: unknown): Promise<void>;
  /** Destroy persistent volumes no task uses. */
  destroyVolumes(agentId: string, volumes: unknown): Promise<void>;
}

const MAX_BODY_BYTES = 1 << 20;

export async function readBody(ctx: Context): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_BODY_BYTES) {
      throw new AgoraError('AGORA_ERR_BAD_REQUEST', `the request body is larger than ${MAX_BODY_BYTES} bytes`, {
        data: { status: 413 },
      });
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A `POST /api/v1` call: the raw body (read up to about MAX_BODY_BYTES) and the call when the body is a JSON
 * object. Several handlers share the path; one that does not serve the call hands it on with `handOn`.
 */
export async function readOperatorCall(
  ctx: Context,
): Promise<{ raw: Buffer; call: Record<string, unknown> | undefined }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    chunks.push(chunk as Buffer);
    if (size > MAX_BODY_BYTES) break;
  }
  const raw = Buffer.concat(chunks);
  try {
    const parsed = JSON.parse(raw.toString('utf8')) as unknown;
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return { raw, call: parsed as Record<string, unknown> };
    }
  } catch {
    // Not JSON: handed on.
  }
  return { raw, call: undefined };
}

/** Hand a call read by `readOperatorCall` to the next `/api/v1` handler, which reads the same body again. */
export function handOn(ctx: Context, raw: Buffer, next: Next): Promise<unknown> {
  ctx.req = Object.assign(Readable.from([raw]), { headers: ctx.req.headers }) as unknown as IncomingMessage;
  return next();
}

const STATUS: Partial<Record<string, number>> = {
  AGORA_ERR_INVALID_JSON: 400,
  AGORA_ERR_BAD_REQUEST: 400,
  AGORA_ERR_BAD_RESOURCES: 400,
  AGORA_ERR_INVALID_OPERATION: 409,
  AGORA_ERR_CONFLICT: 409,
  AGORA_ERR_UNPROCESSABLE: 422,
  AGORA_ERR_UNKNOWN_AGENT: 404,
  AGORA_ERR_INVALID_VOLUME: 400,
  AGORA_ERR_VOLUME_EXISTS: 409,
  AGORA_ERR_UNKNOWN_VOLUME: 409,
  AGORA_ERR_VOLUME_IN_USE: 409,
  AGORA_ERR_VOLUME_RESERVED: 409,
  AGORA_ERR_NOT_SUBSCRIBED: 404,
  AGORA_ERR_REGISTRY: 503,
  AGORA_ERR_NOT_LEADER: 503,
  // The master is shutting down (e.g. the registrar refuses writes).
  AGORA_ERR_CLOSED: 503,
};

/** The HTTP status of an operator call's AgoraError code; unknown codes are 500 (a bug). */
export function httpStatusOf(code: string): number {
  return STATUS[code] ?? 500;
}

/** Run `handler`; answer a thrown error with its status and message. Unknown failures are 500 (a bug). */
export async function answer(ctx: Context, handler: () => Promise<void> | void): Promise<void> {
  try {
    await handler();
  } catch (err) {
    const e = toAgoraError(err);
    const explicit = typeof e.data?.status === 'number' ? e.data.status : undefined;
    ctx.status = explicit ?? httpStatusOf(e.code);
    ctx.type = 'text/plain';
    ctx.body = `${e.code}: ${e.message}`;
  }
}

export function json(ctx: Context, status: number, body: unknown): void {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = JSON.stringify(body);
}
