/**
 * Offers for resident apps (persistent volumes): runs the pure planner
 * (scheduling/resident-planner.ts) and carries out its actions, one ACCEPT
 * per offer with the operations in order: DESTROY + UNRESERVE (clean-up),
 * RESERVE + CREATE (new reservations), LAUNCH (tasks on their reservations).
 *
 * Crash safety: a new reservation and its task are written to the store
 * before the ACCEPT; a reservation record is deleted only after the ACCEPT
 * that destroys it is sent. A reservation Marathon made but no record knows
 * (labelled with our framework id) is destroyed when an offer shows it.
 */
import { newUuid, Resources, toAgoraError } from '@agora/common';
import { agora, type TaskInfo } from '@agora/proto';
import { publishTaskUpdate } from '../events/publishers.js';
import { mesosHealthCheck } from '../health/mesos-health.js';
import type { AppDefinition } from '../model/app-definition.js';
import { taskIdFor } from '../model/path-id.js';
import {
  isResident,
  localVolumesJson,
  persistenceIdFor,
  persistentVolumesOf,
  type ReservationRecord,
  reservationIdFor,
} from '../model/reservation.js';
import { placementOfTask, type TaskRecord } from '../model/task.js';
import { isKilling, planInstances } from '../scheduling/instance-planner.js';
import type { OfferView } from '../scheduling/offer-cycle.js';
import {
  planResidentOffers,
  type ResidentAction,
  type ResidentDemand,
  type ResidentOffer,
  reservationOf,
  volumeDiskOf,
} from '../scheduling/resident-planner.js';
import {
  destroyAndUnreserve,
  launchResources,
  readOfferReservations,
  reserveAndCreate,
} from '../scheduling/resident-operations.js';
import { hasSecretReferences } from '../model/secret-volumes.js';
import { buildTaskInfo } from '../scheduling/task-builder.js';
import { NoSecretSource } from '../secrets/file-secrets.js';
import type { SchedulerContext } from './scheduler-context.js';

type Operation = agora.v1.Offer.Operation.$Properties;
const LAUNCH = agora.v1.Offer.Operation.Type.LAUNCH;

export interface ResidentOfferResult {
  /** Offers used (by an ACCEPT, or declined after a failed store write): not for other apps. */
  used: Set<string>;
  /** A resident app wants instances now. */
  demand: boolean;
}

/** Resident apps that want instances now (not held, not backed off). */
export function residentDemand(ctx: SchedulerContext, now: number): ResidentDemand[] {
  const { apps, tasks, launchQueue } = ctx.parts;
  const out: ResidentDemand[] = [];
  for (const app of apps.list()) {
    if (!isResident(app) || ctx.isHeld(app)) continue;
    const live = tasks.byApp(app.id);
    const plan = planInstances(app, live, (t) => ctx.isHealthyAndReady(t));
    if (plan.launch > 0 && launchQueue.launchAllowedAt(app, now) <= now) {
      out.push({ app, count: plan.launch, placed: live.filter((t) => !isKilling(t)).map(placementOfTask) });
    }
  }
  return out;
}

/** Whether reservations wait for clean-up (their app is gone, or wiped): offers are needed even without demand. */
export function residentCleanupPending(ctx: SchedulerContext): boolean {
  return (
    ctx.parts.reservations?.all().some((x) => x.wipe === true || ctx.parts.apps.get(x.appId) === undefined) === true
  );
}

function newReservation(
  app: AppDefinition,
  offer: OfferView,
  action: Extract<ResidentAction, { kind: 'reserve' }>,
  now: number,
): ReservationRecord {
  const uuid = newUuid();
  const r: ReservationRecord = {
    id: reservationIdFor(app.id, uuid),
    appId: app.id,
    uuid,
    incarnation: 0,
    agentId: offer.agentId,
    hostname: offer.hostname,
    role: app.role,
    resources: reservationOf(action.instance, app.role, volumeDiskOf(app)).toString(),
    hostPorts: action.instance.hostPorts,
    volumes: persistentVolumesOf(app).map((v) => ({
      containerPath: v.containerPath,
      persistenceId: persistenceIdFor(app.id, v.containerPath, uuid),
      size: v.size,
    })),
    createdAt: new Date(now).toISOString(),
    confirmed: false,
  };
  if (offer.attributes !== undefined) r.attributes = { ...offer.attributes };
  if (offer.region !== undefined) r.region = offer.region;
  if (offer.zone !== undefined) r.zone = offer.zone;
  return r;
}

interface Launch {
  app: AppDefinition;
  reservation: ReservationRecord;
  isNew: boolean;
  task: TaskInfo;
  record: TaskRecord;
}

async function buildLaunch(
  ctx: SchedulerContext,
  app: AppDefinition,
  reservation: ReservationRecord,
  isNew: boolean,
  now: number,
  frameworkId: string,
): Promise<Launch | undefined> {
  let secretEnvironment: Record<string, string> | undefined;
  if (hasSecretReferences(app)) {
    try {
      secretEnvironment = await (ctx.parts.secrets ?? new NoSecretSource()).environmentOf(app);
    } catch (err) {
      const e = toAgoraError(err);
      ctx.parts.logger.warn({ appId: app.id, code: e.code, reason: e.message }, 'secrets unavailable; not launching');
      return undefined;
    }
  }
  const next: ReservationRecord = { ...reservation, incarnation: reservation.incarnation + 1 };
  const taskId = taskIdFor(app.id, next.uuid, next.incarnation);
  const task = buildTaskInfo({
    app,
    taskId,
    agentId: next.agentId,
    hostname: next.hostname,
    instance: { resources: Resources.empty(), hostPorts: next.hostPorts },
    ...(secretEnvironment === undefined ? {} : { secretEnvironment }),
  });
  task.resources = launchResources(next, frameworkId);
  const healthCheck = mesosHealthCheck(app, next.hostPorts);
  if (healthCheck !== undefined) task.health_check = healthCheck;
  const record: TaskRecord = {
    id: taskId,
    appId: app.id,
    agentId: next.agentId,
    host: next.hostname,
    state: 'TASK_STAGING',
    stagedAt: new Date(now).toISOString(),
    version: app.version,
    ports: next.hostPorts,
    servicePorts: app.portDefinitions.map((p) => p.port),
    ipAddresses: [],
    role: next.role,
    reservationId: next.id,
    localVolumes: localVolumesJson(next.volumes) as Array<{ containerPath: string; persistenceId: string }>,
    ...(next.attributes === undefined ? {} : { attributes: { ...next.attributes } }),
    ...(next.region === undefined ? {} : { region: next.region }),
    ...(next.zone === undefined ? {} : { zone: next.zone }),
  };
  return { app, reservation: next, isNew, task, record };
}

/** Plan and carry out the resident apps' work on these offers. */
export async function handleResidentOffers(
  ctx: SchedulerContext,
  offers: readonly agora.v1.Offer[],
  views: readonly OfferView[],
  now: number,
): Promise<ResidentOfferResult> {
  const { reservations, tasks, apps, launchQueue } = ctx.parts;
  const frameworkId = ctx.frameworkId;
  const demand = residentDemand(ctx, now);
  // Clean-up pending counts as demand: unused offers are declined briefly, so the agent that frees the volumes
  // of a deleted app's last task offers them again soon.
  const result: ResidentOfferResult = { used: new Set(), demand: demand.length > 0 || residentCleanupPending(ctx) };
  if (reservations === undefined || frameworkId === undefined) return result;
  const rawById = new Map(offers.map((o) => [o.id.value, o]));
  const residentOffers: ResidentOffer[] = views.map((view) => ({
    view,
    ...readOfferReservations(rawById.get(view.id)?.resources ?? []),
  }));
  const busy = new Set(tasks.all().flatMap((t) => (t.reservationId === undefined ? [] : [t.reservationId])));
  const plan = planResidentOffers({
    offers: residentOffers,
    demand,
    reservations: reservations.all(),
    busy,
    appExists: (id) => apps.get(id) !== undefined,
    frameworkId,
    options: {
      maxPerOffer: ctx.options.maxInstancesPerOffer,
      ...(ctx.options.random === undefined ? {} : { random: ctx.options.random }),
    },
  });
  for (const r of plan.seen) {
    await reservations.put({ ...r, confirmed: true }).catch(() => {}); // retried at the next offer
  }
  for (const r of plan.refusals) {
    launchQueue.noteOffer(
      r.appId,
      0,
      r.reason,
      now,
      views.find((v) => v.id === r.offerId),
    );
  }
  for (const a of plan.actions) {
    if (a.kind === 'forget') await forgetReservation(ctx, a.reservation, 'its volumes are gone from its agent');
  }
  for (const offerId of plan.used) {
    const view = views.find((v) => v.id === offerId);
    if (view === undefined) continue;
    result.used.add(offerId);
    await acceptOne(
      ctx,
      view,
      plan.actions.filter((a) => a.kind !== 'forget' && a.offerId === offerId),
      now,
      frameworkId,
    );
  }
  return result;
}

async function forgetReservation(ctx: SchedulerContext, r: ReservationRecord, why: string): Promise<void> {
  try {
    await ctx.parts.reservations?.remove(r.id);
    ctx.parts.logger.info({ reservationId: r.id, appId: r.appId, agentId: r.agentId, why }, 'reservation forgotten');
  } catch (err) {
    ctx.parts.logger.warn({ err: toAgoraError(err).toJSON(), reservationId: r.id }, 'cannot delete a reservation');
  }
}

/** Store the new reservations and tasks, then send one ACCEPT; a failed write declines the offer and sends nothing. */
async function acceptOne(
  ctx: SchedulerContext,
  offer: OfferView,
  actions: ResidentAction[],
  now: number,
  frameworkId: string,
): Promise<void> {
  const { reservations, tasks, logger, launchQueue, events } = ctx.parts;
  const refuse = ctx.options.declineRefuseSeconds;
  const ops: Operation[] = [];
  const launches: Launch[] = [];
  const destroyed: ReservationRecord[] = [];
  for (const a of actions) {
    if (a.kind === 'destroy') {
      ops.push(...destroyAndUnreserve(a.volumes, a.unreserve));
      if (a.reservation !== undefined) destroyed.push(a.reservation);
    } else if (a.kind === 'reserve' || a.kind === 'relaunch') {
      const app = a.kind === 'reserve' ? a.app : ctx.parts.apps.get(a.reservation.appId);
      if (app === undefined) continue;
      const reservation = a.kind === 'reserve' ? newReservation(app, offer, a, now) : a.reservation;
      const launch = await buildLaunch(ctx, app, reservation, a.kind === 'reserve', now, frameworkId);
      if (launch !== undefined) launches.push(launch);
    }
  }
  const storedTasks: TaskRecord[] = [];
  const storedNew: ReservationRecord[] = [];
  try {
    for (const l of launches) {
      await reservations?.put(l.reservation);
      if (l.isNew) storedNew.push(l.reservation);
      await tasks.put(l.record);
      storedTasks.push(l.record);
      if (l.isNew) ops.push(...reserveAndCreate(l.reservation, frameworkId));
    }
  } catch (err) {
    logger.error({ err: toAgoraError(err).toJSON(), offerId: offer.id }, 'cannot store a reservation; nothing sent');
    await undo(ctx, storedTasks, storedNew);
    ctx.call('decline', (d) => d.decline([offer.id], { refuse_seconds: refuse }));
    return;
  }
  if (launches.length > 0) ops.push({ type: LAUNCH, launch: { task_infos: launches.map((l) => l.task) } });
  const sent = ctx.call('accept', (d) => d.accept([offer.id], ops, { refuse_seconds: refuse }));
  if (!sent) {
    await undo(ctx, storedTasks, storedNew);
    return;
  }
  for (const r of destroyed) await forgetReservation(ctx, r, 'destroyed: its app is gone or it was wiped');
  for (const l of launches) {
    launchQueue.noteOffer(l.app.id, 1, undefined, now);
    publishTaskUpdate(events, l.record, 'TASK_STAGING', undefined);
    logger.info(
      {
        taskId: l.record.id,
        appId: l.app.id,
        agentId: offer.agentId,
        reservationId: l.reservation.id,
        newReservation: l.isNew,
      },
      l.isNew ? 'reserving and launching a resident task' : 'relaunching a resident task on its reservation',
    );
  }
  if (ops.some((o) => o.type !== LAUNCH) && launches.length === 0) {
    logger.info({ offerId: offer.id, agentId: offer.agentId }, 'destroying and unreserving unneeded reservations');
  }
}

/** Drop what was stored for an ACCEPT never sent (best effort). */
async function undo(ctx: SchedulerContext, stored: TaskRecord[], newReservations: ReservationRecord[]): Promise<void> {
  for (const t of stored) await ctx.parts.tasks.remove(t).catch(() => {});
  for (const r of newReservations) await ctx.parts.reservations?.remove(r.id).catch(() => {});
}

const CONFIRMING = new Set([
  'TASK_STARTING',
  'TASK_RUNNING',
  'TASK_KILLING',
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
]);
const NEVER_RAN = new Set([
  'TASK_ERROR',
  'TASK_DROPPED',
  'TASK_LOST',
  'TASK_UNKNOWN',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
]);

/**
 * A status of a task on a reservation: an agent's report confirms the
 * reservation; a task of an unconfirmed reservation that never ran (the
 * ACCEPT was refused or lost) drops the record — if the reservation was made
 * after all, the clean-up destroys it when an offer shows it.
 */
export async function noteResidentStatus(ctx: SchedulerContext, task: TaskRecord, state: string): Promise<void> {
  const tracker = ctx.parts.reservations;
  if (task.reservationId === undefined || tracker === undefined) return;
  const r = tracker.get(task.reservationId);
  if (r === undefined || r.confirmed) return;
  try {
    if (CONFIRMING.has(state)) await tracker.put({ ...r, confirmed: true });
    else if (NEVER_RAN.has(state)) await forgetReservation(ctx, r, `its first task ended ${state} before running`);
  } catch (err) {
    ctx.parts.logger.warn({ err: toAgoraError(err).toJSON(), reservationId: r.id }, 'cannot update a reservation');
  }
}

/** Mark the reservations of these tasks wiped (stored): destroyed once the task is gone, never relaunched. */
export async function wipeReservations(ctx: SchedulerContext, taskIds: readonly string[]): Promise<void> {
  const tracker = ctx.parts.reservations;
  if (tracker === undefined) return;
  for (const id of taskIds) {
    const reservationId = ctx.parts.tasks.get(id)?.reservationId;
    const r = reservationId === undefined ? undefined : tracker.get(reservationId);
    if (r === undefined || r.wipe === true) continue;
    await tracker.put({ ...r, wipe: true });
    ctx.parts.logger.info({ reservationId: r.id, taskId: id, appId: r.appId }, 'reservation wiped');
  }
}

/** The app was deleted: mark its reservations wiped (a failed write is logged; `appExists` still catches them). */
export async function wipeReservationsOfApp(ctx: SchedulerContext, appId: string): Promise<void> {
  const tracker = ctx.parts.reservations;
  for (const r of tracker?.byApp(appId) ?? []) {
    if (r.wipe === true) continue;
    await tracker?.put({ ...r, wipe: true }).catch((err: unknown) => {
      ctx.parts.logger.warn(
        { err: toAgoraError(err).toJSON(), reservationId: r.id },
        'cannot mark a reservation wiped',
      );
    });
  }
}
