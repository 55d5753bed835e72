/**
 * The fetcher cache's size limit (`--fetcher_cache_size`) against a local
 * HTTP server: least recently used entries are evicted to make room, a
 * download larger than the whole cache goes straight to the sandbox (never
 * cached), and a new fetcher on the same cache dir keeps the entries (and
 * removes partial downloads).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { validateAgentConfig } from '../../src/config.js';
import { Fetcher } from '../../src/fetcher/fetcher.js';

const test = suite('fetcher cache: size limit, LRU eviction, too-large entries bypass the cache');
let root = '';
let server: Server;
let base = '';
const hits = new Map<string, number>();
const blob = (size: number, fill: string) => Buffer.alloc(size, fill);
const FILES = new Map<string, Buffer>([
  ['/a.bin', blob(400, 'a')],
  ['/b.bin', blob(400, 'b')],
  ['/c.bin', blob(400, 'c')],
  ['/big.bin', blob(2000, 'z')],
]);

test.before(async () => {
  root = mkdtempSync(join(tmpdir(), 'agora-fetch-cache-'));
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const body = FILES.get(path);
    if (body === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'content-length': String(body.length) }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
test.after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
function sandbox(): string {
  const dir = join(root, `sandbox-${++n}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}
const downloads = (path: string) => hits.get(path) ?? 0;

async function fetchCached(fetcher: Fetcher, path: string): Promise<string> {
  const dir = sandbox();
  await fetcher.fetchOne({ value: `${base}${path}`, cache: true }, dir);
  return readFileSync(join(dir, path.slice(1)), 'utf8');
}

test('the least recently used entry is evicted to make room; the limit is never exceeded', async () => {
  const cacheDir = join(root, 'cache-lru');
  const fetcher = new Fetcher({ cacheDir, cacheSizeBytes: 1000 });
  await fetchCached(fetcher, '/a.bin');
  await fetchCached(fetcher, '/b.bin');
  assert.is(await fetcher.cacheSize(), 800);
  await fetchCached(fetcher, '/a.bin'); // a is now more recent than b
  assert.is(downloads('/a.bin'), 1, 'a hit');
  assert.is((await fetchCached(fetcher, '/c.bin'))[0], 'c');
  assert.is(fetcher.stats.cacheEvictions, 1);
  assert.is(await fetcher.cacheSize(), 800, 'b went, c came');
  assert.is(readdirSync(cacheDir).length, 2);
  await fetchCached(fetcher, '/a.bin');
  assert.is(downloads('/a.bin'), 1, 'a was kept');
  assert.is((await fetchCached(fetcher, '/b.bin'))[0], 'b');
  assert.is(downloads('/b.bin'), 2, 'b had been evicted: downloaded again');
  assert.ok((await fetcher.cacheSize()) <= 1000);
});

test('an entry larger than the whole cache is fetched directly and not cached', async () => {
  const cacheDir = join(root, 'cache-big');
  const fetcher = new Fetcher({ cacheDir, cacheSizeBytes: 1000 });
  await fetchCached(fetcher, '/a.bin');
  const before = downloads('/big.bin');
  const [one, two] = await Promise.all([fetchCached(fetcher, '/big.bin'), fetchCached(fetcher, '/big.bin')]);
  assert.is(one, 'z'.repeat(2000));
  assert.is(two, 'z'.repeat(2000));
  assert.is(fetcher.stats.cacheEvictions, 0, 'nothing evicted for it');
  assert.ok(fetcher.stats.cacheBypasses >= 1);
  assert.is(await fetcher.cacheSize(), 400, 'only a is cached');
  assert.equal(
    readdirSync(cacheDir).filter((f) => !f.endsWith('.part')).length,
    1,
    'no file of the big download left in the cache',
  );
  await fetchCached(fetcher, '/big.bin');
  assert.ok(downloads('/big.bin') - before >= 2, 'fetched again: it was never cached');
});

test('a new fetcher on the same cache dir keeps its entries and removes partial downloads', async () => {
  const cacheDir = join(root, 'cache-restart');
  const first = new Fetcher({ cacheDir, cacheSizeBytes: 1000 });
  await fetchCached(first, '/a.bin');
  await fetchCached(first, '/b.bin');
  writeFileSync(join(cacheDir, 'leftover.part'), 'half a download');
  const second = new Fetcher({ cacheDir, cacheSizeBytes: 1000 });
  assert.is(await second.cacheSize(), 800);
  assert.not.ok(readdirSync(cacheDir).includes('leftover.part'));
  const a = downloads('/a.bin');
  await fetchCached(second, '/a.bin');
  assert.is(downloads('/a.bin'), a, 'a hit after the restart');
  assert.is(second.stats.cacheHits, 1);
});

test('a non-positive --fetcher_cache_size is refused', () => {
  assert.throws(
    () => validateAgentConfig({ master: 'm:1', port: 0, workDir: '/tmp/x', fetcherCacheSizeBytes: 0 }),
    /--fetcher_cache_size/,
  );
});

test.run();
