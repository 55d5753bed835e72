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
 *   copy it from there (counted as hits) instead of downloading again. The cache holds at most
 *   `cacheSizeBytes` (Mesos' `--fetcher_cache_size`, 2 GB): the least recently used entries are evicted to make
 *   room, and a download larger than the whole cache goes straight to the sandbox, not cached. Entries found in
 *   `cacheDir` at start are kept, ordered by their mtime (touched on every hit).
 *
 * Every failure is an AgoraError AGORA_ERR_FETCH_FAILED whose message names the URI.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
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
/** Mesos' `--fetcher_cache_size`. */
export const DEFAULT_FETCHER_CACHE_SIZE_BYTES = 2 * 1024 ** 3;

export interface FetcherOptions {
  /** Where cached downloads live (`<work_dir>/fetch-cache`). */
  cacheDir: string;
  /** @default DEFAULT_FETCH_STALL_TIMEOUT_MS */
  stallTimeoutMs?: number;
  /** Accept self-signed certificates for https. @default false */
  insecureTls?: boolean;
  /** The cache's size limit (`--fetcher_cache_size`). @default DEFAULT_FETCHER_CACHE_SIZE_BYTES */
  cacheSizeBytes?: number;
  logger?: Logger;
}

export interface FetcherStats {
  /** Cached URIs served from the cache. */
  cacheHits: number;
  /** Cached URIs that had to be downloaded. */
  cacheMisses: number;
  /** Downloads and copies made (cache hits excluded). */
  fetches: number;
  /** Cache entries removed to make room. */
  cacheEvictions: number;
  /** Cached URIs too large for the cache, fetched straight into the sandbox. */
  cacheBypasses: number;
}

interface CacheEntry {
  size: number;
  lastUsed: number;
  /** Copies from it in progress (never evicted meanwhile). */
  pins: number;
}

/** What a shared download into the cache ended with: cached, or too large (then its file is at `tmp`). */
type CacheFill = { cached: true } | { cached: false; tmp: string };

const ARCHIVE = /\.(tar|tar\.gz|tgz|tar\.bz2|tbz2|tar\.xz|txz|zip)$/i;

function fetchError(uri: string, why: string, cause?: unknown): AgoraError {
  return new AgoraError('AGORA_ERR_FETCH_FAILED', `Failed to fetch '${uri}': ${why}`, {
    ...(cause === undefined ? {} : { cause }),
    data: { uri },
  });
}

export class Fetcher {
  readonly stats: FetcherStats = { cacheHits: 0, cacheMisses: 0, fetches: 0, cacheEvictions: 0, cacheBypasses: 0 };
  private readonly logger: Logger;
  private readonly inFlight = new Map<string, Promise<CacheFill>>();
  /** The cache's entries by file path (loaded from `cacheDir` on first use). */
  private entries: Map<string, CacheEntry> | undefined;
  private loading: Promise<Map<string, CacheEntry>> | undefined;
  /** The last `lastUsed` given: uses within one millisecond still get increasing times (a strict LRU order). */
  private lastUse = 0;

  private useTime(): number {
    this.lastUse = Math.max(Date.now(), this.lastUse + 0.001);
    return this.lastUse;
  }

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
      await this.fetchCached(value, source, dest);
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

  /** Bytes the cache holds now. */
  async cacheSize(): Promise<number> {
    let total = 0;
    for (const e of (await this.cacheEntries()).values()) total += e.size;
    return total;
  }

  private get cacheLimit(): number {
    return this.options.cacheSizeBytes ?? DEFAULT_FETCHER_CACHE_SIZE_BYTES;
  }

  private async fetchCached(value: string, source: Source, dest: string): Promise<void> {
    const cached = join(this.options.cacheDir, createHash('sha256').update(value).digest('hex'));
    const entries = await this.cacheEntries();
    let entry = entries.get(cached);
    if (entry !== undefined && (await exists(cached))) {
      this.stats.cacheHits++;
    } else {
      this.stats.cacheMisses++;
      const fill = await this.fetchToCache(value, source, cached);
      entry = entries.get(cached);
      if (!fill.cached || entry === undefined) {
        if (fill.cached) {
          // Cached and already evicted again by a concurrent fill: fetch it directly.
          await this.retrieve(value, source, dest);
        } else if (!(await moveFile(fill.tmp, dest))) {
          // Another task's fill of the same URI was too large for the cache (its file went to that task).
          await this.retrieve(value, source, dest);
        }
        return;
      }
    }
    entry.pins++;
    entry.lastUsed = this.useTime();
    try {
      await copyFile(cached, dest);
      const now = new Date();
      await utimes(cached, now, now).catch(() => undefined);
    } catch (err) {
      throw fetchError(value, `cannot copy from the cache: ${(err as Error).message}`, err);
    } finally {
      entry.pins--;
    }
  }

  private fetchToCache(value: string, source: Source, cached: string): Promise<CacheFill> {
    // Two tasks fetching the same cached URI at once download it once.
    let pending = this.inFlight.get(cached);
    if (pending === undefined) {
      pending = (async (): Promise<CacheFill> => {
        await mkdir(this.options.cacheDir, { recursive: true });
        const tmp = `${cached}.${newUuid()}.part`;
        let keep = false;
        try {
          await this.retrieve(value, source, tmp);
          const size = (await stat(tmp)).size;
          if (!(await this.makeRoom(size))) {
            this.stats.cacheBypasses++;
            this.logger.info(
              { uri: value, size, limit: this.cacheLimit },
              'too large for the fetcher cache; not cached',
            );
            keep = true;
            return { cached: false, tmp };
          }
          await rename(tmp, cached);
          (await this.cacheEntries()).set(cached, { size, lastUsed: this.useTime(), pins: 0 });
          return { cached: true };
        } finally {
          if (!keep) await rm(tmp, { force: true });
        }
      })().finally(() => this.inFlight.delete(cached));
      this.inFlight.set(cached, pending);
    }
    return pending;
  }

  /** Evict least recently used entries until `size` more bytes fit; false when they cannot. */
  private async makeRoom(size: number): Promise<boolean> {
    const limit = this.cacheLimit;
    if (size > limit) return false;
    const entries = await this.cacheEntries();
    let total = await this.cacheSize();
    const victims = [...entries].filter(([, e]) => e.pins === 0).sort(([, a], [, b]) => a.lastUsed - b.lastUsed);
    for (const [path, e] of victims) {
      if (total + size <= limit) break;
      await rm(path, { force: true });
      entries.delete(path);
      total -= e.size;
      this.stats.cacheEvictions++;
      this.logger.info({ file: path, size: e.size }, 'evicted from the fetcher cache');
    }
    return total + size <= limit;
  }

  /** The cache's entries; on first use, what `cacheDir` holds (leftover partial downloads are removed). */
  private cacheEntries(): Promise<Map<string, CacheEntry>> {
    if (this.entries !== undefined) return Promise.resolve(this.entries);
    this.loading ??= (async () => {
      const entries = new Map<string, CacheEntry>();
      const names = await readdir(this.options.cacheDir).catch(() => [] as string[]);
      for (const name of names) {
        const path = join(this.options.cacheDir, name);
        if (name.endsWith('.part')) {
          await rm(path, { force: true });
          continue;
        }
        const st = await stat(path).catch(() => undefined);
        if (st?.isFile()) entries.set(path, { size: st.size, lastUsed: st.mtimeMs, pins: 0 });
      }
      this.entries = entries;
      return entries;
    })();
    return this.loading;
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

/** Move a file (rename, or copy and remove across file systems); false when `from` is gone. */
async function moveFile(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    await copyFile(from, to);
    await rm(from, { force: true });
    return true;
  }
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
