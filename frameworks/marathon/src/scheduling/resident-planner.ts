/**
 * What to do with a batch of offers for resident apps (persistent volumes),
 * as Marathon's `OfferMatcherReconciler` and resident launches do. PURE.
 *
 * Per offer, in this order:
 * 1. Clean up: volumes and reservations labelled with this framework's id
 *    that no reservation record knows (a reservation made, then forgotten),
 *    and the reservations of deleted apps or wiped instances (`wipe=true`)
 *    whose tasks are gone → DESTROY the
 *    volumes and UNRESERVE the resources. A record of a deleted app whose
 *    agent offers without its volumes is forgotten (already destroyed).
 * 2. Relaunch: a reservation without a live task whose volumes and reserved
 *    resources are all in the offer (so: from its own agent) runs the app's
 *    next task there, on the same resources and data.
 * 3. Reserve: while an app has fewer reservations than `instances`, an offer
 *    whose unreserved part fits an instance plus its volumes (roles `*`,
 *    constraints honoured) gets RESERVE + CREATE + LAUNCH.
 * An app that still wants instances and may not reserve more waits for the
 * agents holding its reservations: other offers are refused with
 * NO_CORRESPONDING_RESERVATION_FOUND.
 */
import { ANY_ROLE, parseResources, Resources, scalarResource } from '@agora/common';
import type { PlacementView } from '../constraints/field-values.js';
import type { AppDefinition } from '../model/app-definition.js';
import { persistentVolumesOf, type ReservationRecord, reservationIdentity } from '../model/reservation.js';
import { type OfferView, placementOfOffer } from './offer-cycle.js';
import { type InstanceLaunch, type MatchOptions, matchOffer, type RefusalReason } from './offer-matcher.js';

/** A persistent volume in an offer, with the labels of its reservation. */
export interface OfferedVolume {
  persistenceId: string;
  role: string;
  /** `marathon_framework_id` of its reservation, when labelled. */
  frameworkId?: string;
  /** The volume alone (its reserved disk with its disk info). */
  resources: Resources;
}

/** Reserved resources (not volumes) in an offer whose reservation carries Marathon's labels. */
export interface LabelledReservation {
  frameworkId: string;
  reservationId: string;
  resources: Resources;
}

export interface ResidentOffer {
  view: OfferView;
  volumes: readonly OfferedVolume[];
  labelled: readonly LabelledReservation[];
}

export interface ResidentDemand {
  app: AppDefinition;
  /** Instances to (re)launch now. */
  count: number;
  /** Where the app's live instances are (for constraints). */
  placed: readonly PlacementView[];
}

export interface ResidentInput {
  offers: readonly ResidentOffer[];
  demand: readonly ResidentDemand[];
  /** Every reservation record. */
  reservations: readonly ReservationRecord[];
  /** Reservation ids with a live task. */
  busy: ReadonlySet<string>;
  appExists: (appId: string) => boolean;
  frameworkId: string;
  options?: MatchOptions;
}

export type ResidentAction =
  | { kind: 'relaunch'; offerId: string; reservation: ReservationRecord }
  | { kind: 'reserve'; offerId: string; app: AppDefinition; instance: InstanceLaunch }
  | {
      kind: 'destroy';
      offerId: string;
      /** The record this cleans up (absent: an unknown reservation). */
      reservation?: ReservationRecord;
      /** Volumes to DESTROY (may be empty). */
      volumes: Resources;
      /** Resources to UNRESERVE afterwards (the volumes' disk included). */
      unreserve: Resources;
    }
  | { kind: 'forget'; reservation: ReservationRecord };

export interface ResidentPlan {
  actions: ResidentAction[];
  /** Offers some action uses. */
  used: Set<string>;
  /** Unconfirmed records whose volumes an offer carried: the reservation exists. */
  seen: ReservationRecord[];
  refusals: Array<{ appId: string; offerId: string; reason: RefusalReason }>;
}

/** The record's reserved resources other than volumes. */
export function reservedResourcesOf(r: ReservationRecord): Resources {
  return r.resources === '' ? Resources.empty() : parseResources(r.resources);
}

/**
 * The record's reserved resources as offered: with its labels (`marathon_framework_id`, `marathon_task_id`),
 * which the master keeps apart from other reservations of the role on the agent.
 */
export function labelledResourcesOf(r: ReservationRecord, frameworkId: string): Resources {
  return reservedResourcesOf(r).withReservation(reservationIdentity(frameworkId, r.id));
}

/** Total size of the app's persistent volumes (MiB). */
export function volumeDiskOf(app: AppDefinition): number {
  return persistentVolumesOf(app).reduce((sum, v) => sum + v.size, 0);
}

/**
 * The reserved resources of a new instance: what the matcher took (unreserved, its disk including the volumes'),
 * reserved for `role`, without the disk the volumes will be created on.
 */
export function reservationOf(instance: InstanceLaunch, role: string, volumeDisk: number): Resources {
  const reserved = instance.resources.withRole(role);
  return volumeDisk > 0 ? reserved.subtract(scalarResource('disk', volumeDisk, role)) : reserved;
}

function hasAll(offer: ResidentOffer, r: ReservationRecord): boolean {
  return r.volumes.every((v) => offer.volumes.some((o) => o.persistenceId === v.persistenceId && o.role === r.role));
}

export function planResidentOffers(input: ResidentInput): ResidentPlan {
  const plan: ResidentPlan = { actions: [], used: new Set(), seen: [], refusals: [] };
  const knownVolumes = new Set(input.reservations.flatMap((r) => r.volumes.map((v) => v.persistenceId)));
  const knownIds = new Set(input.reservations.map((r) => r.id));
  const handled = new Set<string>();
  const left = new Map(input.demand.map((d) => [d.app.id, d.count]));
  const placed = new Map(input.demand.map((d) => [d.app.id, [...d.placed]]));
  const reservationCount = new Map<string, number>();
  for (const r of input.reservations) {
    if (r.wipe !== true) reservationCount.set(r.appId, (reservationCount.get(r.appId) ?? 0) + 1);
  }

  for (const offer of input.offers) {
    const id = offer.view.id;
    let reserved = offer.view.resources.withoutVolumes();
    let unreserved = offer.view.resources.unreserved();
    const act = (a: ResidentAction): void => {
      plan.actions.push(a);
      if (a.kind !== 'forget') plan.used.add(id);
    };

    // 1. Clean up what this framework reserved and no longer needs.
    for (const v of offer.volumes) {
      if (v.frameworkId !== input.frameworkId || knownVolumes.has(v.persistenceId)) continue;
      act({ kind: 'destroy', offerId: id, volumes: v.resources, unreserve: v.resources.withoutVolumeInfo() });
    }
    for (const l of offer.labelled) {
      if (l.frameworkId !== input.frameworkId || knownIds.has(l.reservationId) || !reserved.contains(l.resources))
        continue;
      act({ kind: 'destroy', offerId: id, volumes: Resources.empty(), unreserve: l.resources });
      reserved = reserved.subtract(l.resources);
    }
    for (const r of input.reservations) {
      if (r.agentId !== offer.view.agentId || handled.has(r.id)) continue;
      if (!r.confirmed && hasAll(offer, r)) plan.seen.push(r);
      if ((input.appExists(r.appId) && r.wipe !== true) || input.busy.has(r.id)) continue;
      handled.add(r.id);
      const present = offer.volumes.filter((o) => r.volumes.some((v) => v.persistenceId === o.persistenceId));
      if (present.length === 0) {
        act({ kind: 'forget', reservation: r });
        continue;
      }
      const volumes = present.reduce((acc, o) => acc.add(o.resources), Resources.empty());
      const own = labelledResourcesOf(r, input.frameworkId);
      let unreserve = volumes.withoutVolumeInfo();
      if (reserved.contains(own)) {
        unreserve = unreserve.add(own);
        reserved = reserved.subtract(own);
      }
      act({ kind: 'destroy', offerId: id, reservation: r, volumes, unreserve });
    }

    // 2 and 3, per app wanting instances.
    const at = placementOfOffer(offer.view);
    for (const d of input.demand) {
      const app = d.app;
      let wanted = left.get(app.id) ?? 0;
      if (wanted <= 0) continue;
      for (const r of input.reservations) {
        if (wanted <= 0) break;
        if (r.appId !== app.id || r.agentId !== offer.view.agentId || r.wipe === true) continue;
        if (input.busy.has(r.id) || handled.has(r.id)) continue;
        const own = labelledResourcesOf(r, input.frameworkId);
        if (!hasAll(offer, r) || !reserved.contains(own)) continue;
        handled.add(r.id);
        reserved = reserved.subtract(own);
        act({ kind: 'relaunch', offerId: id, reservation: r });
        wanted -= 1;
        placed.get(app.id)?.push(at);
      }
      const count = reservationCount.get(app.id) ?? 0;
      if (wanted > 0 && app.role === ANY_ROLE && count < app.instances) {
        // Nothing can be reserved for '*': the app needs a role (Marathon's --mesos_role or the app's `role`).
        plan.refusals.push({ appId: app.id, offerId: id, reason: 'UNFULFILLED_ROLE' });
        continue;
      }
      const mayReserve = Math.max(0, Math.min(wanted, app.instances - count));
      if (mayReserve > 0) {
        const volumeDisk = volumeDiskOf(app);
        const shape: AppDefinition = { ...app, acceptedResourceRoles: [ANY_ROLE], disk: app.disk + volumeDisk };
        const result = matchOffer(shape, mayReserve, unreserved, {
          ...input.options,
          placement: { offer: at, placed: placed.get(app.id) ?? [] },
        });
        for (const instance of result.launches) {
          act({ kind: 'reserve', offerId: id, app, instance });
          placed.get(app.id)?.push(at);
        }
        unreserved = result.remaining;
        wanted -= result.launches.length;
        reservationCount.set(app.id, count + result.launches.length);
        if (wanted > 0 && result.refusal !== undefined) {
          plan.refusals.push({ appId: app.id, offerId: id, reason: result.refusal });
        }
      } else if (wanted > 0) {
        plan.refusals.push({ appId: app.id, offerId: id, reason: 'NO_CORRESPONDING_RESERVATION_FOUND' });
      }
      left.set(app.id, wanted);
    }
  }
  return plan;
}
