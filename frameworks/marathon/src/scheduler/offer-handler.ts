/**
 * Offers: what each app should launch now (its planned launches, unless a
 * deployment holds it or its backoff delay runs), the offer cycle's matches,
 * and the launches. Invariant: a task is written to the store
 * (TASK_STAGING, with its agent) before its ACCEPT is sent, so a crash in
 * between can never launch it twice; when storing fails nothing is launched
 * and the offer is declined.
 */
import { newUuid, Resources, toAgoraError } from '@agora/common';
import type { agora, TaskInfo } from '@agora/proto';
import { attributeValues } from '../constraints/field-values.js';
import { publishTaskUpdate } from '../events/publishers.js';
import { mesosHealthCheck } from '../health/mesos-health.js';
import type { AppDefinition } from '../model/app-definition.js';
import { taskIdFor } from '../model/path-id.js';
import { isResident } from '../model/reservation.js';
import { hasSecretReferences } from '../model/secret-volumes.js';
import { placementOfTask, type TaskRecord } from '../model/task.js';
import { isKilling, planInstances } from '../scheduling/instance-planner.js';
import { type Demand, type OfferView, runOfferCycle } from '../scheduling/offer-cycle.js';
import { buildTaskInfo } from '../scheduling/task-builder.js';
import { NoSecretSource } from '../secrets/file-secrets.js';
import { handleResidentOffers } from './resident-offers.js';
import type { SchedulerContext } from './scheduler-context.js';

interface LaunchItem {
  app: AppDefinition;
  task: TaskInfo;
  record: TaskRecord;
}

/**
 * The offer as the matcher sees it, with the agent's fault domain (`@region`,
 * `@zone`) when the offer carries one; without it those fields are missing
 * (constraints on them fail, but UNLIKE). Throws when the resources cannot be read.
 */
export function offerView(offer: agora.v1.Offer): OfferView {
  const view: OfferView = {
    id: offer.id.value,
    agentId: offer.agent_id.value,
    hostname: offer.hostname,
    resources: Resources.fromProto(offer.resources),
    attributes: attributeValues(offer.attributes ?? []),
  };
  // A multi-role framework's offer is allocated to one role (allocation_info.role on every resource).
  const allocated = new Set((offer.resources ?? []).map((r) => r.allocation_info?.role ?? undefined));
  const allocationRole = allocated.size === 1 ? [...allocated][0] : undefined;
  if (typeof allocationRole === 'string' && allocationRole !== '') view.allocationRole = allocationRole;
  const domain = offer.domain?.fault_domain;
  const region = domain?.region?.name;
  const zone = domain?.zone?.name;
  if (typeof region === 'string' && region !== '') view.region = region;
  if (typeof zone === 'string' && zone !== '') view.zone = zone;
  return view;
}

/** What each app should launch now: its planned launches, unless held or backed off. */
export function currentDemand(ctx: SchedulerContext, now: number): Demand[] {
  const { apps, tasks, launchQueue } = ctx.parts;
  const demand: Demand[] = [];
  for (const app of apps.list()) {
    if (ctx.isHeld(app) || isResident(app)) continue; // resident apps: resident-offers.ts
    const plan = planInstances(app, tasks.byApp(app.id), (t) => ctx.isHealthyAndReady(t));
    if (plan.launch > 0 && launchQueue.launchAllowedAt(app, now) <= now) {
      const placed = tasks
        .byApp(app.id)
        .filter((t) => !isKilling(t))
        .map(placementOfTask);
      demand.push({ app, count: plan.launch, placed });
    }
  }
  return demand;
}

/**
 * Resolve the secret references of the apps in demand; an app whose secrets
 * cannot be read launches nothing (logged with the secret's name, never a value).
 */
async function withSecrets(
  ctx: SchedulerContext,
  wanted: Demand[],
): Promise<{ demand: Demand[]; secretEnv: Map<string, Record<string, string>> }> {
  const secretEnv = new Map<string, Record<string, string>>();
  const demand: Demand[] = [];
  for (const d of wanted) {
    if (!hasSecretReferences(d.app)) {
      demand.push(d);
      continue;
    }
    try {
      const source = ctx.parts.secrets ?? new NoSecretSource();
      secretEnv.set(d.app.id, await source.environmentOf(d.app));
      demand.push(d);
    } catch (err) {
      const e = toAgoraError(err);
      ctx.parts.logger.warn({ appId: d.app.id, code: e.code, reason: e.message }, 'secrets unavailable; not launching');
    }
  }
  return { demand, secretEnv };
}

/** Match the offers against the demand, launch on the used ones, decline the rest. */
export async function handleOffers(ctx: SchedulerContext, offers: agora.v1.Offer[]): Promise<void> {
  const { clock, launchQueue, logger } = ctx.parts;
  const o = ctx.options;
  const now = clock.now();
  const views: OfferView[] = [];
  const ipOf = new Map<string, string>();
  for (const offer of offers) {
    try {
      views.push(offerView(offer));
      const ip = offer.url?.address?.ip;
      if (typeof ip === 'string' && ip !== '') ipOf.set(offer.id.value, ip);
    } catch (err) {
      logger.warn({ err: toAgoraError(err).toJSON(), offerId: offer.id?.value }, 'unreadable offer declined');
      ctx.call('decline', (d) => d.decline([offer.id.value], { refuse_seconds: o.declineRefuseSeconds }));
    }
  }
  const resident = await handleResidentOffers(ctx, offers, views, now);
  const wanted = currentDemand(ctx, now);
  const { demand, secretEnv } = await withSecrets(ctx, wanted);
  const free = views.filter((v) => !resident.used.has(v.id));
  const cycle = runOfferCycle(free, demand, {
    maxPerOffer: o.maxInstancesPerOffer,
    ...(o.random === undefined ? {} : { random: o.random }),
  });
  for (const r of cycle.refusals) {
    const offer = views.find((v) => v.id === r.offerId);
    launchQueue.noteOffer(r.appId, 0, r.reason, now, offer);
  }

  const byOffer = new Map<string, { offer: OfferView; items: LaunchItem[] }>();
  for (const launch of cycle.launches) {
    const entry = byOffer.get(launch.offer.id) ?? { offer: launch.offer, items: [] };
    for (const instance of launch.instances) {
      const taskId = taskIdFor(launch.app.id, newUuid());
      const ip = ipOf.get(launch.offer.id);
      const record: TaskRecord = {
        id: taskId,
        appId: launch.app.id,
        agentId: launch.offer.agentId,
        host: launch.offer.hostname,
        state: 'TASK_STAGING',
        stagedAt: new Date(now).toISOString(),
        version: launch.app.version,
        ports: instance.hostPorts,
        servicePorts: launch.app.portDefinitions.map((p) => p.port),
        ipAddresses: ip === undefined ? [] : [{ ipAddress: ip, protocol: ip.includes(':') ? 'IPv6' : 'IPv4' }],
        role: launch.app.role,
        ...(launch.offer.attributes === undefined ? {} : { attributes: { ...launch.offer.attributes } }),
        ...(launch.offer.region === undefined ? {} : { region: launch.offer.region }),
        ...(launch.offer.zone === undefined ? {} : { zone: launch.offer.zone }),
      };
      const task = buildTaskInfo({
        app: launch.app,
        taskId,
        agentId: launch.offer.agentId,
        hostname: launch.offer.hostname,
        instance,
        ...(secretEnv.has(launch.app.id) ? { secretEnvironment: secretEnv.get(launch.app.id)! } : {}),
      });
      const healthCheck = mesosHealthCheck(launch.app, instance.hostPorts);
      if (healthCheck !== undefined) task.health_check = healthCheck;
      entry.items.push({ app: launch.app, task, record });
    }
    byOffer.set(launch.offer.id, entry);
    launchQueue.noteOffer(launch.app.id, launch.instances.length, undefined, now);
  }

  for (const { offer, items } of byOffer.values()) await launchOnOffer(ctx, offer, items);
  // Apps waiting for their secrets still want offers soon: their secrets may become readable.
  const refuse = wanted.length > 0 || resident.demand ? o.declineRefuseSeconds : o.idleDeclineRefuseSeconds;
  if (cycle.unused.length > 0) {
    ctx.call('decline', (d) =>
      d.decline(
        cycle.unused.map((u) => u.id),
        { refuse_seconds: refuse },
      ),
    );
  }
}

/** Store the tasks, then ACCEPT; if storing fails nothing is launched (the offer is declined). */
async function launchOnOffer(ctx: SchedulerContext, offer: OfferView, items: LaunchItem[]): Promise<void> {
  const { tasks, logger, events } = ctx.parts;
  const refuse = ctx.options.declineRefuseSeconds;
  const stored: TaskRecord[] = [];
  try {
    for (const item of items) {
      await tasks.put(item.record);
      stored.push(item.record);
    }
  } catch (err) {
    logger.error({ err: toAgoraError(err).toJSON(), offerId: offer.id }, 'cannot store new tasks; nothing launched');
    await forget(ctx, stored);
    ctx.call('decline', (d) => d.decline([offer.id], { refuse_seconds: refuse }));
    return;
  }
  const sent = ctx.call('launch', (d) =>
    d.launch(
      [offer.id],
      items.map((i) => i.task),
      { refuse_seconds: refuse },
    ),
  );
  if (!sent) {
    await forget(ctx, stored);
    return;
  }
  for (const item of items) {
    publishTaskUpdate(events, item.record, 'TASK_STAGING', undefined);
    logger.info(
      { taskId: item.record.id, appId: item.app.id, agentId: offer.agentId, ports: item.record.ports },
      'launching task',
    );
  }
}

/** Drop records of tasks that were never sent (best effort: leftovers are reported LOST by reconciliation). */
async function forget(ctx: SchedulerContext, records: readonly TaskRecord[]): Promise<void> {
  for (const r of records) {
    await ctx.parts.tasks.remove(r).catch((err: unknown) => {
      ctx.parts.logger.warn(
        { err: toAgoraError(err).toJSON(), taskId: r.id },
        'cannot remove an unlaunched task record',
      );
    });
  }
}
