/** A small SSE client for tests: real HTTP, frames parsed as they arrive. */
import { request } from 'node:http';
import type { IncomingMessage } from 'node:http';

export interface SseFrame {
  event?: string;
  // biome-ignore lint/suspicious/noExplicitAny: event payloads of many shapes
  data?: any;
  id?: number;
  comment?: string;
}

export interface SseStream {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly frames: SseFrame[];
  readonly ended: boolean;
  /** Event frames (no comments). */
  events(): SseFrame[];
  close(): void;
}

export function openStream(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      const frames: SseFrame[] = [];
      let buffer = '';
      let ended = false;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let at = buffer.indexOf('\n\n'); at >= 0; at = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          const frame: SseFrame = {};
          for (const line of block.split('\n')) {
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === '') frame.comment = value;
            else if (field === 'event') frame.event = value;
            else if (field === 'data') frame.data = JSON.parse(value);
            else if (field === 'id') frame.id = Number(value);
          }
          frames.push(frame);
        }
      });
      const done = () => {
        ended = true;
      };
      res.on('end', done);
      res.on('close', done);
      res.on('error', done);
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        frames,
        get ended() {
          return ended;
        },
        events: () => frames.filter((f) => f.event !== undefined),
        close: () => {
          req.destroy();
          res.destroy();
        },
      });
    });
    req.on('error', reject);
    req.end();
  });
}
