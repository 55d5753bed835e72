/**
 * `/v2/queue` (Marathon's `QueueResource`):
 *
 * | route                             | answer                                                            |
 * |-----------------------------------|-------------------------------------------------------------------|
 * | `GET /v2/queue[?embed=lastUnusedOffers]` | 200 `{"queue":[{app, count, role, delay, since, processedOffersSummary}]}` |
 * | `DELETE /v2/queue/{appId}/delay`  | 204; 404 `Application /x not found in tasks queue.`               |
 *
 * An app is in the queue while it has instances to launch. `count` is how
 * many; `delay` is its launch backoff (`overdue: true` = waiting for
 * offers); `processedOffersSummary` counts the offers refused since its last
 * launch, per reason, with Marathon's reason names.
 */
import { AgoraError } from '@agora/common';
import type { Resources } from '@agora/common';
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { AppDefinition, JsonObject } from '../../model/app-definition.js';
import { appToJson } from '../../model/app-json.js';
import { canonicalPathId } from '../../model/path-id.js';
import { planInstances } from '../../scheduling/instance-planner.js';
import { MARATHON_REASON_NAMES, type QueueStats } from '../../scheduling/launch-queue.js';
import { REFUSAL_REASONS } from '../../scheduling/offer-matcher.js';
import { queryValues } from '../body.js';
import type { ApiServices } from '../services.js';

/** Instances the app still has to launch (0: not in the queue). */
function waiting(services: ApiServices, app: AppDefinition): number {
  return planInstances(app, services.tasks.byApp(app.id)).launch;
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

/** Resources in Marathon's offer JSON shape (`[{name, role, scalar|ranges|set}]`). */
function resourcesJson(resources: Resources): JsonObject[] {
  const out: JsonObject[] = [];
  for (const role of resources.roles()) {
    const part = role === '*' ? resources.unreserved() : resources.reservedFor(role);
    for (const name of part.names()) {
      const ranges = part.ranges(name);
      const set = part.set(name);
      if (ranges.length > 0) out.push({ name, role, ranges: ranges.map(([begin, end]) => ({ begin, end })) });
      else if (set.length > 0) out.push({ name, role, set });
      else out.push({ name, role, scalar: part.scalar(name) });
    }
  }
  return out;
}

function lastUnusedOffers(stats: QueueStats | undefined): JsonObject[] {
  return (stats?.lastUnusedOffers ?? []).map((u) => ({
    offer: {
      id: u.offer.id,
      agentId: u.offer.agentId,
      hostname: u.offer.hostname,
      resources: resourcesJson(u.offer.resources),
      attributes: Object.entries(u.offer.attributes ?? {}).map(([name, value]) => ({ name, value })),
    },
    timestamp: new Date(u.at).toISOString(),
    reason: [MARATHON_REASON_NAMES[u.reason]],
  }));
}

function queueEntry(
  services: ApiServices,
  app: AppDefinition,
  count: number,
  now: number,
  withOffers: boolean,
): JsonObject {
  const q = services.launchQueue;
  const allowedAt = q?.launchAllowedAt(app, now) ?? 0;
  const timeLeftSeconds = Math.max(0, Math.ceil((allowedAt - now) / 1000));
  const stats = q?.statsOf(app.id);
  const processed = stats?.processedOffers ?? 0;
  const summary: JsonObject = {
    processedOffersCount: processed,
    unusedOffersCount: processed,
    lastUnusedOfferAt: iso(stats?.lastRefusalAt),
    lastUsedOfferAt: iso(stats?.lastLaunchAt),
    rejectSummaryLastOffers: REFUSAL_REASONS.map((r) => ({
      reason: MARATHON_REASON_NAMES[r],
      declined: stats?.refusals[r] ?? 0,
      processed,
    })),
    rejectSummaryLaunchAttempt: REFUSAL_REASONS.map((r) => ({
      reason: MARATHON_REASON_NAMES[r],
      declined: stats?.refusals[r] ?? 0,
      processed,
    })),
  };
  const entry: JsonObject = {
    app: appToJson(app),
    count,
    role: app.role,
    delay: { timeLeftSeconds, overdue: timeLeftSeconds === 0 },
    since: iso(stats?.waitingSince) ?? app.version,
    processedOffersSummary: summary,
  };
  if (withOffers) entry['lastUnusedOffers'] = lastUnusedOffers(stats);
  return entry;
}

export function registerQueueRoutes(router: Router, services: ApiServices): void {
  router.get('/v2/queue', (ctx) => {
    const now = services.now?.() ?? Date.now();
    const withOffers = queryValues(ctx, 'embed').includes('lastUnusedOffers');
    const queue: JsonObject[] = [];
    for (const app of services.apps.list()) {
      const count = waiting(services, app);
      if (count > 0) queue.push(queueEntry(services, app, count, now, withOffers));
    }
    ctx.body = { queue };
  });
  router.delete('/v2/queue/{*rest}', (ctx: Context) => {
    const rest = decodeURIComponent(ctx.path.slice('/v2/queue/'.length)).replace(/\/+$/, '');
    if (!rest.endsWith('/delay')) {
      ctx.status = 404;
      return;
    }
    const appId = canonicalPathId(rest.slice(0, -'/delay'.length));
    const app = services.apps.get(appId);
    if (app === undefined || waiting(services, app) === 0) {
      throw new AgoraError('AGORA_ERR_APP_NOT_FOUND', `Application ${appId} not found in tasks queue.`);
    }
    services.launchQueue?.reset(appId);
    ctx.status = 204;
  });
}
