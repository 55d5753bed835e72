/**
 * Standbys proxy every HTTP request to the leader (Marathon's
 * `LeaderProxyFilter`): the request goes on with `X-Marathon-Via: <self>`
 * added (a request that already passed through this instance is a loop:
 * 502), and the leader's answer comes back unchanged (it carries
 * `X-Marathon-Leader`). Without a known leader after a short wait: 503
 * `{"message":"Could not determine the current leader"}`.
 */
import { type IncomingMessage, request, type ServerResponse } from 'node:http';

export const VIA_HEADER = 'x-marathon-via';
export const LEADER_HEADER = 'X-Marathon-Leader';

function answer(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ message }));
}

export async function proxyToLeader(
  req: IncomingMessage,
  res: ServerResponse,
  self: string,
  leaderUrl: () => Promise<string | undefined>,
  timeoutMs = 10_000,
): Promise<void> {
  const via = String(req.headers[VIA_HEADER] ?? '');
  if (
    via
      .split(',')
      .map((s) => s.trim())
      .includes(self)
  ) {
    answer(res, 502, `Request loop detected via ${via}`);
    return;
  }
  const target = await leaderUrl();
  if (target === undefined || target === self) {
    answer(res, 503, 'Could not determine the current leader');
    return;
  }
  const headers = { ...req.headers, [VIA_HEADER]: via === '' ? self : `${via}, ${self}` };
  delete headers.host;
  await new Promise<void>((resolve) => {
    const upstream = request(
      `${target}${req.url ?? '/'}`,
      { method: req.method, headers, timeout: timeoutMs },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        up.on('end', resolve);
        up.on('error', () => {
          res.destroy();
          resolve();
        });
      },
    );
    upstream.on('timeout', () => upstream.destroy(new Error('leader did not answer in time')));
    upstream.on('error', (err) => {
      answer(res, 502, `Could not proxy to the leader ${target}: ${err.message}`);
      resolve();
    });
    req.pipe(upstream);
  });
}
