/** TCP health probe: healthy when a connection to `<host>:<port>` opens within the timeout. */
import { connect } from 'node:net';
import type { Probe, ProbeResult } from './probe.js';

export function tcpProbe(options: { port: number; host?: string }): Probe {
  const host = options.host ?? '127.0.0.1';
  const where = `${host}:${options.port}`;
  return (timeoutMs) =>
    new Promise<ProbeResult>((resolve) => {
      let done = false;
      const socket = connect({ host, port: options.port });
      const finish = (result: ProbeResult) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.destroy();
        resolve(result);
      };
      const timer = setTimeout(
        () => finish({ ok: false, message: `${where} timed out after ${timeoutMs} ms`, timedOut: true }),
        timeoutMs,
      );
      socket.once('connect', () => finish({ ok: true, message: `connected to ${where}` }));
      socket.once('error', (err) => finish({ ok: false, message: `cannot connect to ${where}: ${err.message}` }));
    });
}
