/**
 * `GET /v2/events`: the SSE stream (Marathon's `EventsResource`). Needs
 * `Accept: text/event-stream` (else 406 `{"message":…}`; Marathon's Jetty
 * answered 405). Query `event_type=<type>` (repeatable or comma list) filters;
 * `Last-Event-ID` (header, or `?lastEventId=`) replays what a reconnecting
 * client missed. The response is taken over by `EventStreams` (no body
 * buffering): frames are written as events are published.
 */
import type Router from '@koa/router';
import { AgoraError } from '@agora/common';
import type { EventStreams } from '../../events/sse.js';
import { queryValues } from '../body.js';

export function registerEventStreamRoutes(router: Router, streams: EventStreams): void {
  router.get('/v2/events', (ctx) => {
    const accept = ctx.get('accept');
    if (!accept.includes('text/event-stream')) {
      ctx.status = 406;
      ctx.body = { message: "GET /v2/events is a server-sent event stream: send 'Accept: text/event-stream'" };
      return;
    }
    const types = queryValues(ctx, 'event_type');
    const rawLast = ctx.get('last-event-id') || queryValues(ctx, 'lastEventId')[0] || '';
    let lastEventId: number | undefined;
    if (rawLast !== '') {
      lastEventId = Number(rawLast);
      if (!Number.isSafeInteger(lastEventId) || lastEventId < 0) {
        throw new AgoraError('AGORA_ERR_BAD_REQUEST', `Last-Event-ID '${rawLast}' is not an event id`);
      }
    }
    ctx.status = 200;
    ctx.respond = false;
    streams.attach(ctx.req, ctx.res, {
      eventTypes: types.length === 0 ? undefined : new Set(types),
      lastEventId,
    });
  });
}
