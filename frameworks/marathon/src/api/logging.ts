/**
 * `/logging` (Marathon's runtime log levels):
 *
 * | route           | answer                                                                             |
 * |-----------------|------------------------------------------------------------------------------------|
 * | `GET /logging`  | 200 `{"<logger>": "INFO", …}` — `marathon` and `marathon.<part>`                   |
 * | `POST /logging` | body `{"level": "debug", "logger": "marathon.scheduler", "durationSeconds": 60}` → 200 the change; bad body 400; unknown logger 404 |
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import { type LogLevels, parseLoggerChange } from '../logging/log-levels.js';
import { readJsonBody } from './body.js';

export function registerLoggingRoutes(router: Router, levels: LogLevels): void {
  router.get('/logging', (ctx: Context) => {
    ctx.body = levels.levels();
  });
  router.post('/logging', async (ctx: Context) => {
    const change = parseLoggerChange(await readJsonBody(ctx));
    levels.change(change);
    ctx.body = { ...change };
  });
}
