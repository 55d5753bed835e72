import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasErrorCode } from '@agora/common';
import { ensureDebianPackage } from '@agora/testkit';
import { type agora, TaskState, TaskStatusReason } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ProcessContainerizer } from '../../src/containerizer/process.js';
import { CommandExecutor } from '../../src/executor/command-executor.js';
import { Fetcher } from '../../src/fetcher/fetcher.js';
import { waitFor } from '../support/wait.js';
import { CERT, KEY } from '../support/tls.js';

const test = suite('fetcher');
let root = '';
let server: Server;
let base = '';
const hits = new Map<string, number>();
const files = new Map<string, Buffer>();
const stalled: import('node:http').ServerResponse[] = [];

test.before(async () => {
  ensureDebianPackage('unzip', () => spawnSync('unzip', ['-v'], { stdio: 'ignore' }).status === 0, 'zip extraction');
  root = mkdtempSync(join(tmpdir(), 'agora-fetcher-'));
  const src = join(root, 'src');
  mkdirSync(join(src, 'app'), { recursive: true });
  writeFileSync(join(src, 'app', 'hello.txt'), 'hello from the archive\n');
  writeFileSync(join(src, 'app', 'run.sh'), 'echo ran-from-archive\n');
  execFileSync('tar', ['-czf', join(root, 'app.tar.gz'), '-C', src, 'app']);
  execFileSync('tar', ['-cf', join(root, 'app.tar'), '-C', src, 'app']);
  execFileSync('python3', ['-m', 'zipfile', '-c', join(root, 'app.zip'), 'app'], { cwd: src });
  files.set('/app.tar.gz', readFileSync(join(root, 'app.tar.gz')));
  files.set('/app.tar', readFileSync(join(root, 'app.tar')));
  files.set('/app.zip', readFileSync(join(root, 'app.zip')));
  files.set('/script.sh', Buffer.from('#!/bin/sh\necho script-ran\n'));
  files.set('/data.txt', Buffer.from('plain data\n'));
  files.set('/broken.tar.gz', Buffer.from('this is not an archive'));
  server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (path === '/redirect') {
      res.writeHead(302, { location: '/data.txt' }).end();
      return;
    }
    if (path === '/stall.bin') {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('partial');
      stalled.push(res);
      return;
    }
    const body = files.get(path);
    if (body === undefined) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-length': String(body.length) }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

test.after(async () => {
  for (const res of stalled) res.destroy();
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

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    assert.ok(hasErrorCode(err, 'AGORA_ERR_FETCH_FAILED'), String(err));
    return err as Error;
  }
  throw new Error('expected the fetch to fail');
}

test('http download extracts tar.gz, tar and zip into the sandbox', async () => {
  const fetcher = new Fetcher({ cacheDir: join(root, 'cache') });
  for (const name of ['app.tar.gz', 'app.tar', 'app.zip']) {
    const dir = sandbox();
    await fetcher.fetchOne({ value: `${base}/${name}` }, dir);
    assert.is(readFileSync(join(dir, 'app', 'hello.txt'), 'utf8'), 'hello from the archive\n', name);
    assert.ok(statSync(join(dir, name)).isFile(), `${name} kept beside its contents`);
  }
});

test('extract=false keeps the archive packed; executable sets +x; output_file names the file', async () => {
  const fetcher = new Fetcher({ cacheDir: join(root, 'cache') });
  const dir = sandbox();
  await fetcher.fetchAll(
    [
      { value: `${base}/app.tar.gz`, extract: false },
      { value: `${base}/script.sh`, executable: true },
      { value: `${base}/data.txt`, output_file: 'conf/renamed.txt' },
      { value: `${base}/redirect`, output_file: 'via-redirect.txt' },
    ],
    dir,
  );
  assert.not.ok(statSync(join(dir, 'app.tar.gz')).isDirectory());
  assert.throws(() => statSync(join(dir, 'app')));
  assert.is(statSync(join(dir, 'script.sh')).mode & 0o777, 0o755);
  assert.is(execFileSync(join(dir, 'script.sh')).toString(), 'script-ran\n');
  assert.is(readFileSync(join(dir, 'conf', 'renamed.txt'), 'utf8'), 'plain data\n');
  assert.is(readFileSync(join(dir, 'via-redirect.txt'), 'utf8'), 'plain data\n');
});

test('local paths and file:// URLs are copied', async () => {
  const fetcher = new Fetcher({ cacheDir: join(root, 'cache') });
  const dir = sandbox();
  await fetcher.fetchOne({ value: join(root, 'app.tar.gz') }, dir);
  await fetcher.fetchOne({ value: `file://${join(root, 'app.zip')}`, extract: false, output_file: 'copy.zip' }, dir);
  assert.is(readFileSync(join(dir, 'app', 'hello.txt'), 'utf8'), 'hello from the archive\n');
  assert.ok(statSync(join(dir, 'copy.zip')).isFile());
});

test('cache: a cached URI is downloaded once, later fetches are hits', async () => {
  const fetcher = new Fetcher({ cacheDir: join(root, 'cache-2') });
  const url = `${base}/app.zip?v=1`;
  const before = hits.get('/app.zip') ?? 0;
  const dirs = [sandbox(), sandbox(), sandbox()];
  await Promise.all(dirs.map((d) => fetcher.fetchOne({ value: url, cache: true }, d)));
  await fetcher.fetchOne({ value: url, cache: true }, sandbox());
  assert.is((hits.get('/app.zip') ?? 0) - before, 1, 'one download for four fetches');
  assert.is(fetcher.stats.cacheHits, 1);
  assert.is(fetcher.stats.cacheMisses, 3, 'three concurrent misses share one download');
  for (const d of dirs) assert.is(readFileSync(join(d, 'app', 'hello.txt'), 'utf8'), 'hello from the archive\n');
  // Uncached fetches of the same URI download every time.
  await fetcher.fetchOne({ value: url }, sandbox());
  assert.is((hits.get('/app.zip') ?? 0) - before, 2);
});

test('failures name the URI: 404, refused connection, stall, bad archive, bad paths, schemes', async () => {
  const fetcher = new Fetcher({ cacheDir: join(root, 'cache'), stallTimeoutMs: 300 });
  const dir = sandbox();
  const cases: Array<[agora.v1.CommandInfo.URI.$Properties, RegExp]> = [
    [{ value: `${base}/missing.txt` }, /HTTP 404/],
    [{ value: 'http://127.0.0.1:1/x.txt' }, /ECONNREFUSED/],
    [{ value: `${base}/stall.bin` }, /stalled/],
    [{ value: `${base}/broken.tar.gz` }, /cannot extract/],
    [{ value: join(root, 'nope.txt') }, /does not exist/],
    [{ value: 'relative/file.txt' }, /relative path/],
    [{ value: 'ftp://example.com/x' }, /'ftp' scheme is not supported/],
    [{ value: `${base}/data.txt`, output_file: '../outside.txt' }, /inside the sandbox/],
    [{ value: `${base}/data.txt`, output_file: '/tmp/abs.txt' }, /inside the sandbox/],
  ];
  for (const [uri, why] of cases) {
    const err = await failure(fetcher.fetchOne(uri, dir));
    assert.ok(err.message.includes(`'${uri.value}'`), err.message);
    assert.match(err.message, why);
  }
  assert.throws(() => statSync(join(root, 'outside.txt')));
});

function runTask(command: agora.v1.CommandInfo.$Properties, fetcher: Fetcher) {
  const statuses: agora.v1.TaskStatus.$Properties[] = [];
  const dir = sandbox();
  const task: agora.v1.TaskInfo.$Properties = {
    name: 't',
    task_id: { value: `t${n}` },
    agent_id: { value: 'a1' },
    command,
  };
  const executor = new CommandExecutor({
    task,
    framework: { user: 'u', name: 'fw', id: { value: 'f1' } },
    frameworkId: 'f1',
    agentId: 'a1',
    containerId: `c${n}`,
    sandbox: dir,
    env: { PATH: process.env['PATH'] ?? '/bin' },
    containerizer: new ProcessContainerizer(),
    prepare: () => fetcher.fetchAll(command.uris ?? [], dir),
    onStatus: (s) => statuses.push(s),
  });
  void executor.launch();
  return { executor, statuses, dir };
}

test('a task runs with its fetched files; a fetch failure ends it TASK_FAILED with REASON_FETCHER_FAILED', async () => {
  const fetcher = new Fetcher({ cacheDir: join(root, 'cache') });
  const ok = runTask(
    {
      value: 'sh app/run.sh && ./script.sh',
      uris: [{ value: `${base}/app.tar.gz` }, { value: `${base}/script.sh`, executable: true }],
    },
    fetcher,
  );
  await ok.executor.done;
  assert.equal(
    ok.statuses.map((s) => TaskState[s.state]),
    ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED'],
  );
  await waitFor(() => readFileSync(join(ok.dir, 'stdout'), 'utf8').includes('script-ran'), 'stdout written');
  assert.is(readFileSync(join(ok.dir, 'stdout'), 'utf8'), 'ran-from-archive\nscript-ran\n');

  const bad = runTask({ value: 'touch ran', uris: [{ value: `${base}/missing.tgz` }] }, fetcher);
  await bad.executor.done;
  const last = bad.statuses[bad.statuses.length - 1];
  assert.is(last?.state, TaskState.TASK_FAILED);
  assert.is(last?.reason, TaskStatusReason.REASON_FETCHER_FAILED);
  assert.match(last?.message ?? '', `${base}/missing.tgz`);
  assert.throws(() => statSync(join(bad.dir, 'ran')), 'the command never ran');
});

test('https: a self-signed server is refused unless insecureTls is set', async () => {
  const tls = createHttpsServer({ key: KEY, cert: CERT }, (_req, res) => res.end('secret data\n'));
  await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
  try {
    const url = `https://127.0.0.1:${(tls.address() as AddressInfo).port}/secure.txt`;
    const strict = new Fetcher({ cacheDir: join(root, 'cache') });
    const err = await failure(strict.fetchOne({ value: url }, sandbox()));
    assert.match(err.message, url);
    assert.match(err.message, /certificate/i);
    const dir = sandbox();
    await new Fetcher({ cacheDir: join(root, 'cache'), insecureTls: true }).fetchOne({ value: url }, dir);
    assert.is(readFileSync(join(dir, 'secure.txt'), 'utf8'), 'secret data\n');
  } finally {
    tls.closeAllConnections();
    await new Promise<void>((r) => tls.close(() => r()));
  }
});

test.run();
