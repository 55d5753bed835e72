/**
 * `GET /state` (+ `/master/state`, `/state.json`, `/master/state.json`): the
 * Mesos-shaped state JSON (see state/state-snapshot.ts). Leader only.
 *
 * Bodies come as pieces of cached JSON text; a large body is streamed in
 * chunks of about 64 KiB (chunked transfer encoding), so writing it never
 * holds the event loop for the whole body.
 */
import { Readable } from 'node:stream';
import type { Router } from '@koa/router';
import type { Context } from 'koa';
import type { JsonPieces } from '../../state/state-snapshot.js';

const CHUNK_CHARS = 64 * 1024;

function* chunks(pieces: JsonPieces): Generator<string> {
  let buffer: string[] = [];
  let size = 0;
  for (const piece of pieces) {
    buffer.push(piece);
    size += piece.length;
    if (size >= CHUNK_CHARS) {
      yield buffer.join('');
      buffer = [];
      size = 0;
    }
  }
  if (buffer.length > 0) yield buffer.join('');
}

/** A JSON body given as pieces: small, one string; large, a stream of ~64 KiB chunks. */
export function jsonPiecesBody(pieces: JsonPieces): string | Readable {
  let total = 0;
  for (const p of pieces) total += p.length;
  return total <= CHUNK_CHARS ? pieces.join('') : Readable.from(chunks(pieces), { objectMode: false });
}

/** Answer 200 with a JSON body given as pieces. */
export function sendJsonPieces(ctx: Context, pieces: JsonPieces): void {
  ctx.status = 200;
  ctx.type = 'application/json';
  ctx.body = jsonPiecesBody(pieces);
}

export function addStateRoutes(router: Router, state: () => JsonPieces): void {
  for (const path of ['/state', '/master/state', '/state.json', '/master/state.json']) {
    router.get(path, (ctx) => sendJsonPieces(ctx, state()));
  }
}
