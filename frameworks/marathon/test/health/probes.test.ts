/** Marathon-side probes against real HTTP, HTTPS-less and TCP servers on 127.0.0.1. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runProbe } from '../../src/health/health-monitor.js';
import { healthCheckSpec } from '../../src/health/health-policy.js';

const test = suite('health probes on real servers');
let http: Server;
let tcp: TcpServer;
let httpPort = 0;
let tcpPort = 0;
let closedPort = 0;

test.before(async () => {
  http = createServer((req, res) => {
    if (req.url === '/slow') return; // never answers
    const status = Number(req.url?.slice(1)) || 200;
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end('x');
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  httpPort = (http.address() as AddressInfo).port;
  tcp = createTcpServer((s) => s.end());
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  tcpPort = (tcp.address() as AddressInfo).port;
  const spare = createTcpServer();
  await new Promise<void>((r) => spare.listen(0, '127.0.0.1', r));
  closedPort = (spare.address() as AddressInfo).port;
  await new Promise<void>((r) => spare.close(() => r()));
});

test.after(async () => {
  http.closeAllConnections();
  await new Promise<void>((r) => http.close(() => r()));
  await new Promise<void>((r) => tcp.close(() => r()));
});

test('HTTP: 2xx/3xx healthy, 5xx unhealthy with the status as cause, timeouts and refusals unhealthy', async () => {
  assert.equal(await runProbe(healthCheckSpec({ path: '/200' }), '127.0.0.1', httpPort), { healthy: true });
  assert.equal(await runProbe(healthCheckSpec({ path: '/301' }), '127.0.0.1', httpPort), { healthy: true });
  assert.equal(await runProbe(healthCheckSpec({ path: '/503' }), '127.0.0.1', httpPort), {
    healthy: false,
    cause: 'HTTP 503',
  });
  const slow = await runProbe(healthCheckSpec({ path: '/slow', timeoutSeconds: 0.3 }), '127.0.0.1', httpPort);
  assert.ok('healthy' in slow && !slow.healthy && /timed out/.test(slow.cause), JSON.stringify(slow));
  const refused = await runProbe(healthCheckSpec({}), '127.0.0.1', closedPort);
  assert.ok('healthy' in refused && !refused.healthy && /ECONNREFUSED/.test(refused.cause), JSON.stringify(refused));
});

test('TCP: a listening port is healthy, a closed one is not', async () => {
  assert.equal(await runProbe(healthCheckSpec({ protocol: 'TCP' }), '127.0.0.1', tcpPort), { healthy: true });
  const r = await runProbe(healthCheckSpec({ protocol: 'TCP', timeoutSeconds: 1 }), '127.0.0.1', closedPort);
  assert.ok('healthy' in r && !r.healthy);
});

test.run();
