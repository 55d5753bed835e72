/** Free TCP ports on 127.0.0.1. */
import { createServer } from 'node:net';

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it). Another
 * process may take it before you bind it, so launchers retry on "address in use".
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not read the bound port'))));
    });
  });
}

function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/**
 * A block of `count` consecutive ports on 127.0.0.1, all free a moment ago, at a
 * random place in [20000, 60000) — for agents' `ports:[lo-hi]` resources, so test
 * files running side by side do not hand the same host ports to their tasks.
 * Returns the inclusive range `[lo, hi]`; `resources` is the Mesos text form.
 */
export async function freePortRange(
  count: number,
  host = '127.0.0.1',
): Promise<{ lo: number; hi: number; resources: string }> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const lo = 20000 + Math.floor(Math.random() * (40000 - count));
    let free = true;
    for (let p = lo; p < lo + count && free; p++) free = await canBind(p, host);
    if (free) return { lo, hi: lo + count - 1, resources: `ports:[${lo}-${lo + count - 1}]` };
  }
  throw new Error(`no block of ${count} free ports found on ${host} after 50 tries`);
}
