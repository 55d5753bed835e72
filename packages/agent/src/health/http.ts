/**
 * HTTP health probe: `GET http://<host>:<port><path>`; healthy when the
 * status is in `statuses` (when given) or in 200–399 (Mesos' rule).
 */
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Probe, ProbeResult } from './probe.js';

export interface HttpProbeOptions {
  port: number;
  /** @default '/' */
  path?: string;
  /** @default '127.0.0.1' */
  host?: string;
  /** Accepted statuses; empty = 200–399. */
  statuses?: readonly number[];
}

export function isHealthyStatus(status: number, statuses: readonly number[] = []): boolean {
  return statuses.length > 0 ? statuses.includes(status) : status >= 200 && status < 400;
}

/** Shared by the http and https probes. */
export function requestProbe(scheme: 'http' | 'https', options: HttpProbeOptions): Probe {
  const host = options.host ?? '127.0.0.1';
  const path =
    options.path === undefined || options.path === ''
      ? '/'
      : options.path.startsWith('/')
        ? options.path
        : `/${options.path}`;
  const url = `${scheme}://${host}:${options.port}${path}`;
  return (timeoutMs) =>
    new Promise<ProbeResult>((resolve) => {
      let done = false;
      const finish = (result: ProbeResult) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        req.destroy();
        resolve(result);
      };
      const reqOptions: RequestOptions & { rejectUnauthorized?: boolean } = { method: 'GET', agent: false };
      // Like Mesos (curl -k), the https probe does not verify the task's certificate.
      if (scheme === 'https') reqOptions.rejectUnauthorized = false;
      const req = (scheme === 'https' ? httpsRequest : httpRequest)(url, reqOptions, (res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        finish({
          ok: isHealthyStatus(status, options.statuses),
          message: `${url} returned ${status}`,
          statusCode: status,
        });
      });
      const timer = setTimeout(
        () => finish({ ok: false, message: `${url} timed out after ${timeoutMs} ms` }),
        timeoutMs,
      );
      req.on('error', (err) => finish({ ok: false, message: `${url} failed: ${err.message}` }));
      req.end();
    });
}

export function httpProbe(options: HttpProbeOptions): Probe {
  return requestProbe('http', options);
}
