/**
 * Resident apps (Marathon's `residency`): an app with persistent local
 * volumes (`container.volumes[]` with `persistent`) keeps, per instance, a
 * dynamic reservation and its volumes on one agent. The reservation record
 * outlives the instance's tasks: a replacement runs only on the same agent,
 * on the same reserved resources, with the same data. PURE.
 *
 * Persistence ids are Marathon's (`LocalVolumeId`): `<safe app id>#<containerPath>#<uuid>`;
 * reserved resources carry Marathon's labels `marathon_framework_id` and
 * `marathon_task_id` (the reservation id, here the instance id).
 */
import { makeReservation, type ReservationIdentity } from '@agora/common';
import type { AppSpec, JsonObject } from './app-definition.js';
import { safePath } from './path-id.js';

/** Label naming the framework that made a reservation. */
export const FRAMEWORK_ID_LABEL = 'marathon_framework_id';
/** Label naming the reservation (the resident instance) a reserved resource belongs to. */
export const RESERVATION_ID_LABEL = 'marathon_task_id';

/** A persistent volume as the app declares it. */
export interface PersistentVolumeSpec {
  containerPath: string;
  /** MiB */
  size: number;
}

/** A volume of a reservation: where the task sees it and its Mesos persistence id. */
export interface LocalVolume {
  containerPath: string;
  persistenceId: string;
  /** MiB */
  size: number;
}

/**
 * One resident instance's reservation, stored before the ACCEPT that makes
 * it, so a crash never forgets a reservation Marathon made.
 */
export interface ReservationRecord {
  /** The reservation id (`marathon_task_id` label): `<safe app id>.instance-<uuid>`. */
  id: string;
  appId: string;
  /** The instance's uuid: its tasks are `<safe app id>.instance-<uuid>._app.<incarnation>`. */
  uuid: string;
  /** The incarnation of the instance's last task. */
  incarnation: number;
  agentId: string;
  hostname: string;
  role: string;
  /** Reserved resources other than the volumes, Mesos text (e.g. `cpus(db):0.1;mem(db):32`). */
  resources: string;
  /** Host ports reserved for the instance, in portDefinitions order. */
  hostPorts: number[];
  volumes: LocalVolume[];
  /** ISO-8601, when the reservation was decided. */
  createdAt: string;
  /** The agent ran a task on it or an offer carried its volumes: the reservation exists on the agent. */
  confirmed: boolean;
  /** Wiped (`wipe=true`): destroyed and unreserved once its task is gone; never relaunched, not counted. */
  wipe?: boolean;
  /** The agent's attributes and fault domain (for constraints of later instances). */
  attributes?: Record<string, string>;
  region?: string;
  zone?: string;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The app's persistent volumes (`container.volumes[]` with `persistent`). */
export function persistentVolumesOf(app: Pick<AppSpec, 'container'>): PersistentVolumeSpec[] {
  const volumes = app.container?.['volumes'];
  if (!Array.isArray(volumes)) return [];
  const out: PersistentVolumeSpec[] = [];
  for (const v of volumes) {
    if (!isObject(v) || !isObject(v['persistent'])) continue;
    const containerPath = v['containerPath'];
    const size = v['persistent']['size'];
    if (typeof containerPath === 'string' && typeof size === 'number') out.push({ containerPath, size });
  }
  return out;
}

/** Whether the app is resident: it has persistent volumes. */
export function isResident(app: Pick<AppSpec, 'container'>): boolean {
  return persistentVolumesOf(app).length > 0;
}

/** Marathon's persistence id of a volume (`LocalVolumeId.idString`). */
export function persistenceIdFor(appId: string, containerPath: string, uuid: string): string {
  return `${safePath(appId)}#${containerPath}#${uuid}`;
}

/** The reservation id of an instance (its instance id). */
export function reservationIdFor(appId: string, uuid: string): string {
  return `${safePath(appId)}.instance-${uuid}`;
}

/** The labels of every resource Marathon reserves for an instance. */
export function reservationLabels(frameworkId: string, reservationId: string): Array<{ key: string; value: string }> {
  return [
    { key: FRAMEWORK_ID_LABEL, value: frameworkId },
    { key: RESERVATION_ID_LABEL, value: reservationId },
  ];
}

/**
 * The identity of an instance's reserved resources in the resource algebra (its labels; Marathon names no
 * principal): the master offers each labelled reservation apart, so an instance matches exactly its own.
 */
export function reservationIdentity(frameworkId: string, reservationId: string): ReservationIdentity | undefined {
  return makeReservation(undefined, reservationLabels(frameworkId, reservationId));
}

/** `localVolumes` of a task JSON (Marathon: `[{containerPath, persistenceId}]`). */
export function localVolumesJson(volumes: readonly LocalVolume[]): JsonObject[] {
  return volumes.map((v) => ({ containerPath: v.containerPath, persistenceId: v.persistenceId }));
}

/** Marathon's messages for a forbidden change of a resident app (`AppDefinition.residentUpdateIsValid`). */
export const MSG_RESIDENT_VOLUMES_CHANGED = 'Persistent volumes can not be changed!';
export const MSG_RESIDENT_RESOURCES_CHANGED = 'Resident Tasks may not change resource requirements!';

function sameVolumes(a: readonly PersistentVolumeSpec[], b: readonly PersistentVolumeSpec[]): boolean {
  return (
    a.length === b.length && a.every((v) => b.some((w) => w.containerPath === v.containerPath && w.size === v.size))
  );
}

/**
 * The changes an update may not make to a resident app (its instances keep what they reserved): persistent
 * volumes, cpus / mem / disk / gpus, and host ports (`requirePorts` and, when required, the ports). Errors at `/`.
 */
export function residentUpdateErrors(
  from: Pick<AppSpec, 'container' | 'cpus' | 'mem' | 'disk' | 'gpus' | 'portDefinitions' | 'requirePorts'>,
  to: Pick<AppSpec, 'container' | 'cpus' | 'mem' | 'disk' | 'gpus' | 'portDefinitions' | 'requirePorts'>,
): string[] {
  if (!isResident(from)) return [];
  const errors: string[] = [];
  if (!sameVolumes(persistentVolumesOf(from), persistentVolumesOf(to))) errors.push(MSG_RESIDENT_VOLUMES_CHANGED);
  const ports = (a: typeof from): string =>
    a.requirePorts ? a.portDefinitions.map((p) => p.port).join(',') : String(a.portDefinitions.length);
  const same =
    from.cpus === to.cpus &&
    from.mem === to.mem &&
    from.disk === to.disk &&
    from.gpus === to.gpus &&
    from.requirePorts === to.requirePorts &&
    ports(from) === ports(to);
  if (!same) errors.push(MSG_RESIDENT_RESOURCES_CHANGED);
  return errors;
}
