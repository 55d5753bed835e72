/** A real Marathon (HTTP on 127.0.0.1, port 0) for API tests, and a small JSON client. */
import { silentLogger } from '@agora/common';
import { createMarathon, type Marathon } from '../../src/marathon.js';
import type { MarathonConfig } from '../../src/config.js';

export interface Reply {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: test assertions read response JSON of many shapes
  body: any;
  text: string;
}

/** Start a Marathon whose master does not answer (port 1): the API works, nothing is launched. */
export async function startMarathon(config: Partial<MarathonConfig>): Promise<Marathon> {
  const marathon = createMarathon({ master: '127.0.0.1:1', port: 0, ...config }, { logger: silentLogger() });
  await marathon.start();
  return marathon;
}

export function client(base: () => string) {
  async function call(method: string, path: string, body?: unknown, raw?: string): Promise<Reply> {
    const init: RequestInit = { method, headers: { 'content-type': 'application/json' } };
    if (raw !== undefined) init.body = raw;
    else if (body !== undefined) init.body = JSON.stringify(body);
    const res = await fetch(`${base()}${path}`, init);
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  }
  return {
    get: (path: string) => call('GET', path),
    post: (path: string, body?: unknown) => call('POST', path, body),
    put: (path: string, body?: unknown) => call('PUT', path, body),
    delete: (path: string) => call('DELETE', path),
    raw: (method: string, path: string, text: string) => call(method, path, undefined, text),
  };
}
