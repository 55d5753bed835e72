/**
 * Mesos' sandbox file endpoints, confined to the agent's sandboxes:
 *
 * - `GET /files/browse?path=<dir>`: the directory's entries (`[{path, nlink, size, mtime, mode, uid, gid}]`);
 * - `GET /files/read?path=<file>&offset=<n>&length=<n>`: `{data, offset}`; `offset=-1` returns
 *   `{data: "", offset: <size>}` so a client can start tailing at the end; `length` defaults to the rest
 *   of the file (at most `MAX_READ_LENGTH`);
 * - `GET /files/download?path=<file>`: the raw bytes as an attachment.
 *
 * Errors: 400 bad parameters, 403 outside a sandbox, 404 not found — each with a plain-text message.
 */
import { createReadStream, type Dirent, lstatSync, openSync, readdirSync, readSync, closeSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Router } from '@koa/router';
import type Koa from 'koa';
import { confineToSandbox, FilesError } from './sandbox-files.js';

/** The most one `/files/read` returns. */
export const MAX_READ_LENGTH = 16 * 1024 * 1024;

export interface FileEntry {
  path: string;
  nlink: number;
  size: number;
  mtime: number;
  mode: string;
  uid: number;
  gid: number;
}

/** `ls -l`-style mode text, as Mesos prints it (`drwxr-xr-x`). */
export function modeString(mode: number, isDir: boolean, isLink = false): string {
  const kind = isLink ? 'l' : isDir ? 'd' : '-';
  const bits = ['r', 'w', 'x'];
  let out = kind;
  for (let i = 8; i >= 0; i--) out += mode & (1 << i) ? bits[(8 - i) % 3] : '-';
  return out;
}

function entry(path: string): FileEntry {
  const st = lstatSync(path);
  return {
    path,
    nlink: st.nlink,
    size: st.size,
    mtime: Math.floor(st.mtimeMs / 1000),
    mode: modeString(st.mode, st.isDirectory(), st.isSymbolicLink()),
    uid: st.uid,
    gid: st.gid,
  };
}

function parseInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n))
    throw new FilesError(400, `Failed to parse '${name}': '${String(value)}' is not an integer`);
  return n;
}

function queryPath(ctx: Koa.Context): string | undefined {
  const p = ctx.query.path;
  return Array.isArray(p) ? p[0] : p;
}

function handle(fn: (ctx: Koa.Context) => void | Promise<void>) {
  return async (ctx: Koa.Context) => {
    try {
      await fn(ctx);
    } catch (err) {
      if (!(err instanceof FilesError)) throw err;
      ctx.status = err.status;
      ctx.type = 'text/plain';
      ctx.body = err.message;
    }
  };
}

/** Add `/files/browse`, `/files/read` and `/files/download` (and their `/files/*.json` aliases) to a router. */
export function mountFilesRoutes(router: Router, workDir: string): void {
  const browse = handle((ctx) => {
    const requested = queryPath(ctx);
    const { real, stats } = confineToSandbox(workDir, requested);
    const shown = (requested ?? '').replace(/\/+$/, '') || '/';
    if (!stats.isDirectory()) {
      ctx.body = [{ ...entry(real), path: shown }];
      return;
    }
    const names = readdirSync(real, { withFileTypes: true }).map((d: Dirent) => d.name);
    names.sort();
    ctx.body = names.map((name) => ({ ...entry(join(real, name)), path: join(shown, name) }));
  });

  const read = handle((ctx) => {
    const { real, stats } = confineToSandbox(workDir, queryPath(ctx));
    if (stats.isDirectory()) throw new FilesError(400, 'Cannot read a directory');
    const offset = parseInteger('offset', ctx.query.offset, 0);
    const length = parseInteger('length', ctx.query.length, -1);
    if (offset === -1) {
      ctx.body = { data: '', offset: stats.size };
      return;
    }
    if (offset < 0) throw new FilesError(400, `Negative offset provided: ${offset}`);
    if (length < -1) throw new FilesError(400, `Negative length provided: ${length}`);
    const want = Math.min(length === -1 ? Math.max(0, stats.size - offset) : length, MAX_READ_LENGTH);
    if (offset >= stats.size || want === 0) {
      ctx.body = { data: '', offset };
      return;
    }
    const buf = Buffer.alloc(want);
    const fd = openSync(real, 'r');
    let got = 0;
    try {
      got = readSync(fd, buf, 0, want, offset);
    } finally {
      closeSync(fd);
    }
    ctx.body = { data: buf.subarray(0, got).toString('utf8'), offset };
  });

  const download = handle((ctx) => {
    const { real, stats } = confineToSandbox(workDir, queryPath(ctx));
    if (stats.isDirectory()) throw new FilesError(400, 'Cannot download a directory');
    ctx.type = 'application/octet-stream';
    ctx.set('Content-Disposition', `attachment; filename="${basename(real).replace(/"/g, '')}"`);
    ctx.length = stats.size;
    ctx.body = createReadStream(real);
  });

  for (const [name, fn] of [
    ['browse', browse],
    ['read', read],
    ['download', download],
  ] as const) {
    router.get(`/files/${name}`, fn);
    router.get(`/files/${name}.json`, fn);
  }
}
