/**
 * Large JSON bodies given as pieces (the cached /state views) go out as a stream of ~64 KiB chunks with chunked
 * transfer encoding, and arrive whole and in order over a real HTTP connection; small ones are one string with a
 * Content-Length.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { jsonPiecesBody } from '../../src/api/http/state.js';

const test = suite('state bodies streamed in chunks');

async function serve(pieces: string[]): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    const body = jsonPiecesBody(pieces);
    if (typeof body === 'string') res.end(body);
    else body.pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

function get(port: number): Promise<{ headers: Record<string, unknown>; body: string; chunks: number }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/' }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () =>
        resolve({ headers: res.headers, body: Buffer.concat(parts).toString('utf8'), chunks: parts.length }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

test('a 2 MB body arrives whole, chunked, without a Content-Length', async () => {
  const items = Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ id: `task-${i}`, text: 'é'.repeat(40) }));
  const pieces = ['{"tasks":['];
  items.forEach((item, i) => {
    if (i > 0) pieces.push(',');
    pieces.push(item);
  });
  pieces.push(']}');
  const { server, port } = await serve(pieces);
  try {
    const res = await get(port);
    assert.is(res.headers['transfer-encoding'], 'chunked');
    assert.is(res.headers['content-length'], undefined);
    const parsed = JSON.parse(res.body) as { tasks: Array<{ id: string }> };
    assert.is(parsed.tasks.length, 20_000);
    assert.is(parsed.tasks[19_999]!.id, 'task-19999');
    assert.is(res.body, pieces.join(''));
  } finally {
    server.close();
  }
});

test('a small body is sent as one string with its length', async () => {
  const { server, port } = await serve(['{"slaves":[', '{"id":"a"}', '],"recovered_slaves":[]}']);
  try {
    const res = await get(port);
    assert.is(res.headers['content-length'], String(Buffer.byteLength(res.body)));
    assert.equal(JSON.parse(res.body), { slaves: [{ id: 'a' }], recovered_slaves: [] });
  } finally {
    server.close();
  }
});

test.run();
