/**
 * Persistent volumes in the resource algebra: a disk resource's `disk.persistence`
 * and `disk.volume` (Mesos' DiskInfo), part of the resource's identity, and
 * their validation and text form.
 */
import type { Resource } from '@agora/proto';
import { AgoraError } from '../errors.js';

function badResources(message: string): AgoraError {
  return new AgoraError('AGORA_ERR_BAD_RESOURCES', message);
}

/**
 * A persistent volume on a disk resource (Mesos' `DiskInfo` with `persistence`
 * and `volume`). It is part of the resource's identity: a volume is never
 * merged with plain disk or with another volume.
 */
export interface VolumeIdentity {
  /** `disk.persistence.id`: unique per role on an agent. */
  readonly id: string;
  /** `disk.persistence.principal`, when given. */
  readonly principal?: string;
  /** `disk.volume.container_path`: where the task sees it, relative to its sandbox. */
  readonly containerPath: string;
  readonly mode: 'RW' | 'RO';
}

/** The identity key of a volume ('' for none). */
export function volumeKey(v: VolumeIdentity | undefined): string {
  return v === undefined ? '' : `\u0000${v.id}\u0000${v.principal ?? ''}\u0000${v.containerPath}\u0000${v.mode}`;
}

/** The Mesos text of a volume: `[id:container_path:rw]`. */
export function formatVolume(v: VolumeIdentity): string {
  return `[${v.id}:${v.containerPath}:${v.mode.toLowerCase()}]`;
}

/**
 * Throws unless `id` can name a persistent volume (it becomes a directory name on the agent). '#' is allowed:
 * Marathon's persistence ids are `<app>#<containerPath>#<uuid>`.
 */
export function checkPersistenceId(id: string, where = 'persistent volume'): void {
  if (id === '' || id === '.' || id === '..' || !/^[A-Za-z0-9_.#-]+$/.test(id) || id.includes('/')) {
    throw badResources(
      `${where}: persistence id '${id}' must be a non-empty name of letters, digits, '_', '.', '-', '#'`,
    );
  }
}

/** Throws unless `path` is a relative path inside the sandbox (no '..', not absolute, not empty). */
export function checkContainerPath(path: string, where = 'persistent volume'): void {
  const parts = path.split('/');
  if (
    path === '' ||
    path.startsWith('/') ||
    parts.some((p) => p === '..' || p === '.' || p === '') ||
    /\0/.test(path)
  ) {
    throw badResources(
      `${where}: container_path '${path}' must be a relative path inside the sandbox (no '..', not absolute)`,
    );
  }
}

/** The volume of a disk resource (`disk.persistence` + `disk.volume`), validated; undefined without `disk`. */
export function volumeFromProto(r: Resource, where: string, role: string): VolumeIdentity | undefined {
  const disk = r.disk;
  if (disk === undefined || disk === null) return undefined;
  const persistence = disk.persistence ?? undefined;
  const volume = disk.volume ?? undefined;
  if (persistence === undefined && volume === undefined) return undefined;
  if (r.name !== 'disk') throw badResources(`${where}: only 'disk' resources can carry disk info`);
  if (persistence === undefined || persistence === null) {
    throw badResources(`${where}: a volume without disk.persistence is not supported (persistent volumes only)`);
  }
  if (volume === undefined || volume === null) throw badResources(`${where}: a persistent volume needs disk.volume`);
  if (role === '*') throw badResources(`${where}: a persistent volume must be on reserved disk, not role '*'`);
  if (typeof persistence.id !== 'string') throw badResources(`${where}: disk.persistence.id is required`);
  checkPersistenceId(persistence.id, where);
  if (typeof volume.container_path !== 'string') throw badResources(`${where}: disk.volume.container_path is required`);
  checkContainerPath(volume.container_path, where);
  if (volume.host_path !== undefined && volume.host_path !== null && volume.host_path !== '') {
    throw badResources(`${where}: a persistent volume may not set disk.volume.host_path`);
  }
  const mode =
    volume.mode === 2
      ? 'RO'
      : volume.mode === 1 || volume.mode === undefined || volume.mode === null
        ? 'RW'
        : undefined;
  if (mode === undefined) throw badResources(`${where}: disk.volume.mode must be RW or RO`);
  const principal = persistence.principal ?? undefined;
  return {
    id: persistence.id,
    ...(principal === undefined || principal === '' ? {} : { principal }),
    containerPath: volume.container_path,
    mode,
  };
}
