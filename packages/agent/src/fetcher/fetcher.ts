/**
 * The fetcher (Mesos' `mesos-fetcher`): before a task starts, each of its
 * `CommandInfo.uris` is put into the sandbox.
 *
 * - `http://` / `https://` URLs are downloaded (redirects followed); a download that receives nothing for
 *   `stallTimeoutMs` (Mesos: 1 min) fails. Absolute paths and `file://` URLs are copied. Other schemes
 *   (ftp, hdfs, s3, ...) and relative paths are refused.
 * - The file is named `output_file` (relative, inside the sandbox) or the URI's last path segment.
 * - `executable`: chmod 755 (and never extracted). `extract` (default true): `.tar`, `.tar.gz`, `.tgz`,
 *   `.tar.bz2`, `.tar.xz`, `.txz` with `tar`, `.zip` with `unzip`, into the sandbox.
 * - `cache`: the download is kept in `cacheDir` under the sha256 of the URI; later fetches of the same URI
 *   copy it from there (counted as hits) instead of downloading again.
 *
 * Every failure is an AgoraError AGORA_ERR_FETCH_FAILED whose message names the URI.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgoraError, type Logger, newUuid, silentLogger } from '@agora/common';
import { type agora, PROTO_DEFAULTS } from '@agora/proto';

type Uri = agora.v1.CommandInfo.URI.$Properties;

/** Mesos' stall timeout for a download. */
export const DEFAULT_FETCH_STALL_TIMEOUT_MS = 60_000;
/** The longest an extraction may take. */
export const DEFAULT_EXTRACT_TIMEOUT_MS = 300_000;
const MAX_REDIRECTS = 5;

export interface FetcherOptions {
  /** Where cached downloads live (`<work_dir>/fetch-cache`). */
  cacheDir: string;
  /** @default DEFAULT_FETCH_STALL_TIMEOUT_MS */
  stallTimeoutMs?: number;
  /** Accept self-signed certificates for https. @default false */
  insecureTls?: boolean;
  logger?: Logger;
}

export interface FetcherStats {
  /** Cached URIs served from the cache. */
  cacheHits: number;
  /** Cached URIs that had to be downloaded. */
  cacheMisses: number;
  /** Downloads and copies made (cache hits excluded). */
  fetches: number;
}

const ARCHIVE = /\.(tar|tar\.gz|tgz|tar\.bz2|tbz2|tar\.xz|txz|zip)$/i;

function fetchError(uri: string, why: string, cause?: unknown): AgoraError {
  return new AgoraError('AGORA_ERR_FETCH_FAILED', `Failed to fetch '${uri}': ${why}`, {
    ...(cause === undefined ? {} : { cause }),
    data: { uri },
  });
}

export class Fetcher {
  readonly stats: FetcherStats = { cacheHits: 0, cacheMisses: 0, fetches: 0 };
  private readonly logger: Logger;
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(private readonly options: FetcherOptions) {
    this.logger = options.logger ?? silentLogger();
  }

  /** Fetch every URI into `sandbox`, in order. Rejects with the first failure. */
  async fetchAll(uris: readonly Uri[], sandbox: string): Promise<void> {
    for (const uri of uris) await this.fetchOne(uri, sandbox);
  }

  /** Fetch one URI into `sandbox`; resolves with the path of the fetched file. */
  async fetchOne(uri: Uri, sandbox: string): Promise<string> {
    const value = uri.value;
    const source = parseSource(value);
    const name =
      uri.output_file ?? basename(source.kind === 'url' ? decodeURIComponent(source.url.pathname) : source.path);
    if (name === '' || name === '/' || name === '.' || name === '..') {
      throw fetchError(value, 'cannot name the fetched file: give an output_file');
    }
    const dest = resolve(sandbox, name);
    const rel = relative(sandbox, dest);
    if (isAbsolute(name) || rel === '' || rel.startsWith('..')) {
      throw fetchError(value, `output_file '${name}' must be a relative path inside the sandbox`);
    }
    await mkdir(dirname(dest), { recursive: true });
    if (uri.cache === true) {
      const cached = join(this.options.cacheDir, createHash('sha256').update(value).digest('hex'));
      if (await exists(cached)) {
        this.stats.cacheHits++;
      } else {
        this.stats.cacheMisses++;
        await this.fetchToCache(value, source, cached);
      }
      await copyFile(cached, dest).catch((err: Error) => {
        throw fetchError(value, `cannot copy from the cache: ${err.message}`, err);
      });
    } else {
      await this.retrieve(value, source, dest);
    }
    if (uri.executable === true) {
      await chmod(dest, 0o755);
    } else if ((uri.extract ?? PROTO_DEFAULTS.extract) && ARCHIVE.test(name)) {
      await extract(value, dest, sandbox);
    }
    this.logger.info({ uri: value, dest }, 'fetched');
    return dest;
  }

  private fetchToCache(value: string, source: Source, cached: string): Promise<void> {
    // Two tasks fetching the same cached URI at once download it once.
    let pending = this.inFlight.get(cached);
    if (pending === undefined) {
      pending = (async () => {
        await mkdir(this.options.cacheDir, { recursive: true });
        const tmp = `${cached}.${newUuid()}.part`;
        try {
          await this.retrieve(value, source, tmp);
          await rename(tmp, cached);
        } finally {
          await rm(tmp, { force: true });
        }
      })().finally(() => this.inFlight.delete(cached));
      this.inFlight.set(cached, pending);
    }
    return pending;
  }

  private async retrieve(value: string, source: Source, dest: string): Promise<void> {
    this.stats.fetches++;
    if (source.kind === 'path') {
      let st: Awaited<ReturnType<typeof stat>>;
      try {
        st = await stat(source.path);
      } catch (err) {
        throw fetchError(value, `'${source.path}' does not exist`, err);
      }
      if (!st.isFile()) throw fetchError(value, `'${source.path}' is not a regular file`);
      await copyFile(source.path, dest).catch((err: Error) => {
        throw fetchError(value, err.message, err);
      });
      return;
    }
    await this.download(value, source.url, dest, 0);
  }

  private download(value: string, url: URL, dest: string, redirects: number): Promise<void> {
    const stallMs = this.options.stallTimeoutMs ?? DEFAULT_FETCH_STALL_TIMEOUT_MS;
    return new Promise<void>((resolvePromise, reject) => {
      let settled = false;
      let stallTimer: NodeJS.Timeout | undefined;
      const fail = (why: string, cause?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(stallTimer);
        request.destroy();
        reject(fetchError(value, why, cause));
      };
      const armStall = () => {
        clearTimeout(stallTimer);
        stallTimer = setTimeout(() => fail(`the download stalled (nothing received for ${stallMs} ms)`), stallMs);
      };
      const onResponse = (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location !== undefined) {
          res.resume();
          if (redirects >= MAX_REDIRECTS) return fail(`more than ${MAX_REDIRECTS} redirects`);
          settled = true;
          clearTimeout(stallTimer);
          let next: URL;
          try {
            next = new URL(res.headers.location, url);
          } catch (err) {
            return reject(fetchError(value, `bad redirect location '${res.headers.location}'`, err));
          }
          this.download(value, next, dest, redirects + 1).then(resolvePromise, reject);
          return;
        }
        if (status < 200 || status >= 300) {
          res.resume();
          return fail(`HTTP ${status} ${res.statusMessage ?? ''}`.trim());
        }
        const out = createWriteStream(dest);
        out.on('error', (err) => fail(`cannot write '${dest}': ${err.message}`, err));
        res.on('data', armStall);
        res.on('error', (err) => fail(err.message, err));
        res.on('aborted', () => fail('the connection was closed mid-download'));
        out.on('finish', () => {
          if (settled) return;
          if (!res.complete) return fail('the connection was closed mid-download');
          settled = true;
          clearTimeout(stallTimer);
          resolvePromise();
        });
        res.pipe(out);
      };
      const options =
        url.protocol === 'https:' && this.options.insecureTls === true ? { rejectUnauthorized: false } : {};
      const request = url.protocol === 'https:' ? httpsGet(url, options, onResponse) : httpGet(url, onResponse);
      request.on('error', (err) => fail(err.message, err));
      armStall();
    });
  }
}

type Source = { kind: 'url'; url: URL } | { kind: 'path'; path: string };

function parseSource(value: string): Source {
  if (value.trim() === '') throw fetchError(value, 'the URI is empty');
  if (isAbsolute(value)) return { kind: 'path', path: value };
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    throw fetchError(value, 'a relative path cannot be fetched: use an absolute path or a URL');
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch (err) {
    throw fetchError(value, 'not a valid URL', err);
  }
  if (scheme === 'file') return { kind: 'path', path: fileURLToPath(url) };
  if (scheme === 'http' || scheme === 'https') return { kind: 'url', url };
  throw fetchError(value, `the '${scheme}' scheme is not supported (http, https, file and absolute paths are)`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function run(file: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    execFile(file, args, { cwd, timeout: DEFAULT_EXTRACT_TIMEOUT_MS }, (err, _stdout, stderr) => {
      if (err === null) resolvePromise();
      else reject(new Error(`${file} failed: ${String(stderr).trim() || err.message}`));
    });
  });
}

async function extract(value: string, archive: string, sandbox: string): Promise<void> {
  try {
    if (/\.zip$/i.test(archive)) await run('unzip', ['-o', '-q', archive, '-d', sandbox], sandbox);
    else await run('tar', ['-xf', archive, '-C', sandbox], sandbox);
  } catch (err) {
    throw fetchError(value, `cannot extract '${basename(archive)}': ${(err as Error).message}`, err);
  }
}
