/** The standby's proxy on real HTTP servers: forwarded with X-Marathon-Via, loops refused, no leader 503. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { proxyToLeader } from '../../src/leadership/leader-proxy.js';
import { marathonElectionUrl } from '../../src/leadership/leadership.js';

const test = suite('leader proxy');
const servers: Server[] = [];

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

test.after(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
});

test('requests and bodies reach the leader with X-Marathon-Via; its answer comes back unchanged', async () => {
  const leader = await listen((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      res.writeHead(201, { 'X-Marathon-Leader': 'http://leader', 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, url: req.url, via: req.headers['x-marathon-via'], body }));
    });
  });
  let standbyUrl = '';
  standbyUrl = await listen((req, res) => void proxyToLeader(req, res, standbyUrl, async () => leader));
  const r = await fetch(`${standbyUrl}/v2/apps?force=true`, { method: 'POST', body: '{"id":"/x"}' });
  assert.is(r.status, 201);
  assert.is(r.headers.get('X-Marathon-Leader'), 'http://leader');
  assert.equal(await r.json(), { method: 'POST', url: '/v2/apps?force=true', via: standbyUrl, body: '{"id":"/x"}' });
});

test('a request that already passed this instance is a loop (502); without a leader 503', async () => {
  let selfUrl = '';
  selfUrl = await listen((req, res) => void proxyToLeader(req, res, selfUrl, async () => selfUrl));
  const loop = await fetch(`${selfUrl}/v2/info`, { headers: { 'X-Marathon-Via': `http://other, ${selfUrl}` } });
  assert.is(loop.status, 502);
  assert.match(((await loop.json()) as { message: string }).message, /loop/);
  let lonely = '';
  lonely = await listen((req, res) => void proxyToLeader(req, res, lonely, async () => undefined));
  const none = await fetch(`${lonely}/v2/info`);
  assert.is(none.status, 503);
  assert.equal(await none.json(), { message: 'Could not determine the current leader' });
});

test('the election runs under <zk path>/marathon-leader', () => {
  assert.is(marathonElectionUrl('zk://h1:2181,h2:2181/agora/'), 'zk://h1:2181,h2:2181/agora/marathon-leader');
});

test.run();
