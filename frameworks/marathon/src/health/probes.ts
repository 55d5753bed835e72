/**
 * Marathon-side probes: one HTTP(S) GET or one TCP connect against a task's
 * host and port, bounded by a timeout. HTTPS certificates are not verified
 * (as Marathon). Used by health and readiness checks.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';

export interface HttpProbeAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** GET `url`; resolves with the answer, rejects on connection errors and timeouts. */
export function httpGet(url: string, timeoutMs: number, maxBody = 64 * 1024): Promise<HttpProbeAnswer> {
  return new Promise((resolve, reject) => {
    const https = url.startsWith('https:');
    const req = (https ? httpsRequest : httpRequest)(
      url,
      { method: 'GET', timeout: timeoutMs, ...(https ? { rejectUnauthorized: false } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < maxBody) chunks.push(c);
          size += c.length;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            body: Buffer.concat(chunks).toString('utf8').slice(0, maxBody),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Open a TCP connection to host:port and close it; rejects when it cannot within `timeoutMs`. */
export function tcpConnect(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}
