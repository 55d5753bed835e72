/** Reading a JSON request body: malformed JSON is AGORA_ERR_INVALID_JSON (HTTP 400), too large a body 413. */
import { AgoraError } from '@agora/common';
import type { Context } from 'koa';

/** Bodies above this are refused. @default 10 MiB */
export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

function tooLarge(maxBytes: number): AgoraError {
  return new AgoraError('AGORA_ERR_BAD_REQUEST', `Request body larger than ${maxBytes} bytes`, {
    data: { status: 413 },
  });
}

async function readText(ctx: Context, maxBytes: number): Promise<string> {
  // A declared length over the limit is refused before a byte is read.
  const declared = Number(ctx.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge(maxBytes);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The parsed JSON body; an empty or malformed body fails like Jackson does in Marathon (400 Invalid JSON). */
export async function readJsonBody(ctx: Context, maxBytes = DEFAULT_MAX_BODY_BYTES): Promise<unknown> {
  const text = await readText(ctx, maxBytes);
  if (text.trim().length === 0) {
    throw new AgoraError('AGORA_ERR_INVALID_JSON', 'Invalid JSON', {
      data: { parserMessage: 'No content to map due to end-of-input' },
    });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new AgoraError('AGORA_ERR_INVALID_JSON', 'Invalid JSON', {
      cause: err,
      data: { parserMessage: err instanceof Error ? err.message : String(err) },
    });
  }
}

/** A boolean query parameter (`?force=true`), with its default. */
export function queryFlag(ctx: Context, name: string, fallback: boolean): boolean {
  const v = ctx.query[name];
  const text = Array.isArray(v) ? v[v.length - 1] : v;
  if (text === undefined || text === '') return fallback;
  return text.toLowerCase() === 'true';
}

/** Every value of a (possibly repeated) query parameter. */
export function queryValues(ctx: Context, ...names: string[]): string[] {
  const out: string[] = [];
  for (const name of names) {
    const v = ctx.query[name];
    if (Array.isArray(v)) out.push(...v);
    else if (typeof v === 'string') out.push(v);
  }
  return out
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
