/**
 * The offer operations of resident apps, as Mesos protos: RESERVE (labelled
 * with Marathon's `marathon_framework_id` / `marathon_task_id`), CREATE of
 * the persistent volumes, the resources a task on a reservation launches
 * with, and DESTROY + UNRESERVE to give a reservation back; plus reading an
 * offer's volumes and labelled reservations. PURE.
 */
import { Resources } from '@agora/common';
import { agora, type Resource } from '@agora/proto';
import {
  FRAMEWORK_ID_LABEL,
  type LocalVolume,
  RESERVATION_ID_LABEL,
  type ReservationRecord,
  reservationLabels,
} from '../model/reservation.js';
import type { LabelledReservation, OfferedVolume } from './resident-planner.js';
import { reservedResourcesOf } from './resident-planner.js';

type Operation = agora.v1.Offer.Operation.$Properties;
const OperationType = agora.v1.Offer.Operation.Type;
const DYNAMIC = agora.v1.Resource.ReservationInfo.Type.DYNAMIC;

/** Resources (all reserved for `role`) as protos with a DYNAMIC reservation, labelled when labels are given. */
function reservedProtos(
  resources: Resources,
  role: string,
  labels?: Array<{ key: string; value: string }>,
): Resource[] {
  return resources.toProto().map((r) => {
    const { role: _role, ...rest } = r;
    return {
      ...rest,
      reservations: [{ type: DYNAMIC, role, ...(labels === undefined ? {} : { labels: { labels } }) }],
    } as Resource;
  });
}

function volumeProto(v: LocalVolume, role: string, labels?: Array<{ key: string; value: string }>): Resource {
  return {
    name: 'disk',
    type: agora.v1.Value.Type.SCALAR,
    scalar: { value: v.size },
    reservations: [{ type: DYNAMIC, role, ...(labels === undefined ? {} : { labels: { labels } }) }],
    disk: {
      persistence: { id: v.persistenceId },
      volume: { container_path: v.containerPath, mode: agora.v1.Volume.Mode.RW },
    },
  } as Resource;
}

function volumeDisk(r: ReservationRecord): Resources {
  const total = r.volumes.reduce((sum, v) => sum + v.size, 0);
  return total > 0
    ? Resources.fromProto([
        { name: 'disk', type: agora.v1.Value.Type.SCALAR, scalar: { value: total }, role: r.role } as Resource,
      ])
    : Resources.empty();
}

/** RESERVE (the instance's resources and its volumes' disk, labelled) then CREATE (its volumes). */
export function reserveAndCreate(r: ReservationRecord, frameworkId: string): Operation[] {
  const labels = reservationLabels(frameworkId, r.id);
  const reserve = reservedResourcesOf(r).add(volumeDisk(r));
  const ops: Operation[] = [
    { type: OperationType.RESERVE, reserve: { resources: reservedProtos(reserve, r.role, labels) } },
  ];
  if (r.volumes.length > 0) {
    ops.push({ type: OperationType.CREATE, create: { volumes: r.volumes.map((v) => volumeProto(v, r.role, labels)) } });
  }
  return ops;
}

/** The resources a task on the reservation launches with: its reserved resources and its volumes. */
export function launchResources(r: ReservationRecord, frameworkId: string): Resource[] {
  const labels = reservationLabels(frameworkId, r.id);
  return [
    ...reservedProtos(reservedResourcesOf(r), r.role, labels),
    ...r.volumes.map((v) => volumeProto(v, r.role, labels)),
  ];
}

/** DESTROY the volumes (if any) then UNRESERVE the resources. */
export function destroyAndUnreserve(volumes: Resources, unreserve: Resources): Operation[] {
  const ops: Operation[] = [];
  if (!volumes.isEmpty()) ops.push({ type: OperationType.DESTROY, destroy: { volumes: rolesAsReservations(volumes) } });
  if (!unreserve.isEmpty()) {
    ops.push({ type: OperationType.UNRESERVE, unreserve: { resources: rolesAsReservations(unreserve) } });
  }
  return ops;
}

/** As protos naming their reservation: its labels when the resources carry them (as offered), else the role. */
function rolesAsReservations(resources: Resources): Resource[] {
  return resources.toProto().map((r) => {
    const { role, reservations, ...rest } = r;
    const named = reservations !== undefined && reservations !== null && reservations.length > 0;
    return { ...rest, reservations: named ? reservations : [{ type: DYNAMIC, role: role ?? '*' }] } as Resource;
  });
}

function labelValue(r: Resource, key: string): string | undefined {
  const reservations = r.reservations ?? [];
  const last = reservations[reservations.length - 1];
  const found = last?.labels?.labels?.find((l) => l.key === key);
  return typeof found?.value === 'string' ? found.value : undefined;
}

/** The persistent volumes of an offer and its reserved resources labelled by a Marathon (unreadable ones skipped). */
export function readOfferReservations(resources: readonly Resource[]): {
  volumes: OfferedVolume[];
  labelled: LabelledReservation[];
} {
  const volumes: OfferedVolume[] = [];
  const labelled: LabelledReservation[] = [];
  for (const r of resources) {
    let one: Resources;
    try {
      one = Resources.fromProto([r]);
    } catch {
      continue;
    }
    const frameworkId = labelValue(r, FRAMEWORK_ID_LABEL);
    const persistenceId = r.disk?.persistence?.id;
    if (typeof persistenceId === 'string' && persistenceId !== '') {
      const role = one.volumeList()[0]?.role;
      if (role === undefined) continue;
      volumes.push({ persistenceId, role, resources: one, ...(frameworkId === undefined ? {} : { frameworkId }) });
      continue;
    }
    const reservationId = labelValue(r, RESERVATION_ID_LABEL);
    if (frameworkId !== undefined && reservationId !== undefined)
      labelled.push({ frameworkId, reservationId, resources: one });
  }
  return { volumes, labelled };
}
