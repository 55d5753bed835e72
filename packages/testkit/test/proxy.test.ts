import { type Socket, connect, createServer } from 'node:net';
import { startTcpProxy, waitFor } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

/** An echo server on 127.0.0.1. */
async function echoServer(): Promise<{ port: number; received(): string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let received = '';
  const server = createServer((s) => {
    sockets.add(s);
    s.on('data', (d) => {
      received += d.toString('utf8');
    });
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    received: () => received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A client that records what it receives and whether it was closed. */
async function client(port: number) {
  const socket = connect({ host: '127.0.0.1', port });
  let received = '';
  let closed = false;
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    received += d;
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    closed = true;
  });
  // A reset may come before or after 'connect'.
  await new Promise((resolve) => {
    socket.once('connect', resolve);
    socket.once('close', resolve);
  });
  return {
    socket,
    get received() {
      return received;
    },
    get closed() {
      return closed;
    },
  };
}

const proxy = suite('startTcpProxy');

proxy('forwards both ways; a blackhole drops bytes but keeps the connection; heal resets it', async () => {
  const echo = await echoServer();
  const p = await startTcpProxy(echo.port);
  try {
    assert.is(p.address, `127.0.0.1:${p.port}`);
    const c = await client(p.port);
    c.socket.write('hello');
    await waitFor(() => c.received === 'hello', { message: 'the echo' });
    assert.is(p.connectionCount, 1);

    p.partition('blackhole');
    c.socket.write('lost');
    const late = await client(p.port); // accepted, but starved
    late.socket.write('also lost');
    // Prove nothing came back: a fresh round trip after healing arrives, the dropped bytes never do.
    p.heal();
    await waitFor(() => c.closed && late.closed, { message: 'starved connections to be reset by heal' });
    assert.is(c.received, 'hello');
    assert.is(late.received, '');

    const after = await client(p.port);
    after.socket.write('again');
    await waitFor(() => after.received === 'again', { message: 'forwarding after heal' });
    assert.is(echo.received(), 'helloagain', 'the server never saw the bytes sent during the partition');
    after.socket.destroy();
  } finally {
    await p.close();
    await echo.close();
  }
});

proxy('reset closes every connection and refuses new ones until healed', async () => {
  const echo = await echoServer();
  const p = await startTcpProxy(echo.port);
  try {
    const c = await client(p.port);
    p.partition('reset');
    await waitFor(() => c.closed, { message: 'the connection to be reset' });
    const refused = await client(p.port);
    await waitFor(() => refused.closed, { message: 'a new connection to be reset' });
    p.heal();
    const ok = await client(p.port);
    ok.socket.write('x');
    await waitFor(() => ok.received === 'x', { message: 'forwarding after heal' });
    ok.socket.destroy();
  } finally {
    await p.close();
    await echo.close();
  }
});

proxy.run();
