import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type AgentHttpServer, startAgentHttpServer } from '../../src/api/http-server.js';
import { mountFilesRoutes } from '../../src/files/files-routes.js';

const test = suite('sandbox files endpoints');
let root = '';
let workDir = '';
let sandbox = '';
let otherSandbox = '';
let server: AgentHttpServer;

test.before(async () => {
  root = mkdtempSync(join(tmpdir(), 'agora-files-'));
  workDir = join(root, 'work');
  const runs = join(workDir, 'agents', 'a1', 'frameworks', 'f1', 'executors', 't1', 'runs');
  sandbox = join(runs, 'c1');
  mkdirSync(join(sandbox, 'sub'), { recursive: true });
  symlinkSync('c1', join(runs, 'latest'));
  writeFileSync(join(sandbox, 'stdout'), 'line one\nline two\n');
  writeFileSync(join(sandbox, 'stderr'), '');
  writeFileSync(join(sandbox, 'sub', 'data.bin'), Buffer.from([1, 2, 3, 4]));
  otherSandbox = join(workDir, 'agents', 'a1', 'frameworks', 'f1', 'executors', 't2', 'runs', 'c2');
  mkdirSync(otherSandbox, { recursive: true });
  writeFileSync(join(otherSandbox, 'stdout'), 'other task');
  writeFileSync(join(root, 'secret'), 'not for tasks');
  writeFileSync(join(workDir, 'agent-private'), 'not a sandbox file');
  symlinkSync(join(root, 'secret'), join(sandbox, 'escape'));
  symlinkSync('/etc', join(sandbox, 'etc'));
  symlinkSync(join(otherSandbox, 'stdout'), join(sandbox, 'sideways'));
  symlinkSync('stdout', join(sandbox, 'inner-link'));
  server = await startAgentHttpServer({
    host: '127.0.0.1',
    port: 0,
    state: () => ({}),
    routes: [(router) => mountFilesRoutes(router, workDir)],
  });
});

test.after(async () => {
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

const get = (path: string, query: Record<string, string>) =>
  fetch(`http://127.0.0.1:${server.port}${path}?${new URLSearchParams(query).toString()}`);

test('browse lists a sandbox directory in Mesos shape', async () => {
  const res = await get('/files/browse', { path: sandbox });
  assert.is(res.status, 200);
  const entries = (await res.json()) as Array<Record<string, unknown>>;
  const byName = new Map(entries.map((e) => [String(e.path).split('/').pop(), e]));
  assert.ok(byName.has('stdout') && byName.has('stderr') && byName.has('sub'));
  const stdout = byName.get('stdout') as Record<string, unknown>;
  assert.is(stdout.path, join(sandbox, 'stdout'));
  assert.is(stdout.size, 18);
  assert.match(String(stdout.mode), /^-rw/);
  assert.match(String((byName.get('sub') as Record<string, unknown>).mode), /^d/);
  for (const key of ['nlink', 'mtime', 'uid', 'gid']) assert.type(stdout[key], 'number');
});

test('browse follows the latest link of a sandbox', async () => {
  const res = await get('/files/browse', { path: join(sandbox, '..', 'latest') });
  assert.is(res.status, 200);
  const entries = (await res.json()) as Array<{ path: string }>;
  assert.ok(entries.some((e) => e.path.endsWith('/latest/stdout')));
});

test('read returns data from an offset with a length, and offset -1 gives the size', async () => {
  const path = join(sandbox, 'stdout');
  assert.equal(await (await get('/files/read', { path, offset: '0' })).json(), {
    data: 'line one\nline two\n',
    offset: 0,
  });
  assert.equal(await (await get('/files/read', { path, offset: '5', length: '3' })).json(), {
    data: 'one',
    offset: 5,
  });
  assert.equal(await (await get('/files/read', { path, offset: '-1' })).json(), { data: '', offset: 18 });
  assert.equal(await (await get('/files/read', { path, offset: '100' })).json(), { data: '', offset: 100 });
  assert.equal(await (await get('/files/read.json', { path: join(sandbox, 'inner-link') })).json(), {
    data: 'line one\nline two\n',
    offset: 0,
  });
});

test('read refuses bad parameters and directories with 400', async () => {
  const path = join(sandbox, 'stdout');
  for (const q of [{ path, offset: 'abc' }, { path, offset: '-5' }, { path, length: '-2' }, { path: sandbox }, {}]) {
    const res = await get('/files/read', q as Record<string, string>);
    assert.is(res.status, 400, JSON.stringify(q));
    assert.ok((await res.text()).length > 0);
  }
});

test('tailing: reading from the last offset sees only what was appended', async () => {
  const path = join(sandbox, 'grow');
  writeFileSync(path, 'abc');
  const { offset } = (await (await get('/files/read', { path, offset: '-1' })).json()) as { offset: number };
  writeFileSync(path, 'abcdef');
  assert.equal(await (await get('/files/read', { path, offset: String(offset) })).json(), { data: 'def', offset: 3 });
});

test('download returns the raw bytes as an attachment', async () => {
  const res = await get('/files/download', { path: join(sandbox, 'sub', 'data.bin') });
  assert.is(res.status, 200);
  assert.match(res.headers.get('content-disposition') ?? '', /attachment; filename="data.bin"/);
  assert.equal([...new Uint8Array(await res.arrayBuffer())], [1, 2, 3, 4]);
  assert.is((await get('/files/download', { path: sandbox })).status, 400);
});

test('paths outside the sandboxes are refused with 403 and a message', async () => {
  const cases = [
    '/etc/passwd',
    join(root, 'secret'),
    join(workDir, 'agent-private'),
    join(workDir, 'agents', 'a1'),
    join(sandbox, '..', '..', '..', '..', '..', '..', '..', 'agent-private'),
    `${sandbox}/../c1/stdout`,
    join(sandbox, 'escape'),
    join(sandbox, 'etc', 'passwd'),
    join(sandbox, 'sideways'),
    'stdout',
  ];
  for (const path of cases) {
    for (const endpoint of ['/files/read', '/files/browse', '/files/download']) {
      const res = await get(endpoint, { path });
      assert.is(res.status, 403, `${endpoint} ${path}`);
      const text = await res.text();
      assert.ok(!text.includes('not for tasks') && text.length > 0, text);
    }
  }
});

test('a missing file in a sandbox is 404 and a missing path parameter 400', async () => {
  assert.is((await get('/files/read', { path: join(sandbox, 'nope') })).status, 404);
  assert.is(
    (await get('/files/browse', { path: join(workDir, 'agents/a1/frameworks/f1/executors/tx/runs/cx') })).status,
    404,
  );
  assert.is((await get('/files/browse', {})).status, 400);
});

test.run();
