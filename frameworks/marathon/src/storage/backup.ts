/**
 * Backup and restore of the whole Marathon state (Marathon's
 * `DELETE /v2/leader?backup=<uri>&restore=<uri>`): the request is stored as
 * the runtime configuration, and the next leader, at takeover and before it
 * loads anything, writes a backup to `backup` and then replaces the state
 * with the one in `restore` (in that order, as Marathon's migration does).
 *
 * A backup is one JSON document (`format: "agora-marathon-backup"`) with the
 * store's schema version and every app with all its stored versions, the
 * root group with its versions, tasks, deployments, reservations, the
 * framework id and the event subscriptions (not the event log). It works for
 * both stores (Redis and files). Only `file:///absolute/path` URIs are
 * supported (Marathon also takes `s3://`).
 *
 * Crash safety: the backup file is written atomically (temp file, fsync,
 * rename). A restore first reads and checks the whole file; if that fails
 * nothing changes and the request is dropped (logged). Once it starts
 * writing, the request stays stored until the restore is complete, so a
 * leader that dies half-way is followed by one that restores again (a
 * restore replaces everything, so repeating it is safe).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgoraError, type Logger, toAgoraError } from '@agora/common';
import type { DeploymentRecord } from '../deployments/deployment-tracker.js';
import type { AppDefinition } from '../model/app-definition.js';
import type { ReservationRecord } from '../model/reservation.js';
import type { TaskRecord } from '../model/task.js';
import { writeFileAtomic } from './file/file-store.js';
import {
  type MarathonStore,
  type RootGroupRecord,
  type RuntimeConfiguration,
  STORE_SCHEMA_VERSION,
} from './repositories.js';

export const BACKUP_FORMAT = 'agora-marathon-backup';

export interface StateBackup {
  format: typeof BACKUP_FORMAT;
  schemaVersion: number;
  createdAt: string;
  frameworkId?: string;
  /** Each app: its stored versions, oldest first (the current one last). */
  apps: Array<{ id: string; versions: AppDefinition[] }>;
  /** Root group versions, oldest first (the current one last). */
  rootGroups: RootGroupRecord[];
  tasks: TaskRecord[];
  deployments: DeploymentRecord[];
  reservations: ReservationRecord[];
  eventSubscriptions: string[];
}

function badUri(uri: string, why: string): AgoraError {
  return new AgoraError('AGORA_ERR_BAD_REQUEST', `Invalid backup/restore location '${uri}': ${why}`);
}

/** The path of a `file:///absolute/path` URI; AGORA_ERR_BAD_REQUEST for anything else. */
export function backupPath(uri: string): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw badUri(uri, 'not a URI');
  }
  if (url.protocol !== 'file:') throw badUri(uri, 'only file:// locations are supported');
  if (url.host !== '' && url.host !== 'localhost') throw badUri(uri, 'a file URI names no host');
  const path = fileURLToPath(url);
  if (path === '/' || path.endsWith('/')) throw badUri(uri, 'must name a file');
  return path;
}

/** Check a runtime configuration request (both locations optional); throws AGORA_ERR_BAD_REQUEST. */
export function checkRuntimeConfiguration(config: RuntimeConfiguration): void {
  if (config.backup !== undefined) backupPath(config.backup);
  if (config.restore !== undefined) backupPath(config.restore);
}

/** Read the whole state of a store. */
export async function exportState(store: MarathonStore, now: Date): Promise<StateBackup> {
  const apps: StateBackup['apps'] = [];
  for (const app of await store.apps.list()) {
    const versions: AppDefinition[] = [];
    for (const v of await store.apps.versions(app.id)) {
      if (v === app.version) continue;
      const old = await store.apps.getVersion(app.id, v);
      if (old !== undefined) versions.push(old);
    }
    versions.push(app);
    apps.push({ id: app.id, versions });
  }
  const rootGroups: RootGroupRecord[] = [];
  const root = await store.groups?.root();
  for (const v of (await store.groups?.versions()) ?? []) {
    if (v === root?.version) continue;
    const old = await store.groups?.getVersion(v);
    if (old !== undefined) rootGroups.push(old);
  }
  if (root !== undefined) rootGroups.push(root);
  const frameworkId = await store.frameworkId.get();
  return {
    format: BACKUP_FORMAT,
    schemaVersion: STORE_SCHEMA_VERSION,
    createdAt: now.toISOString(),
    ...(frameworkId === undefined ? {} : { frameworkId }),
    apps,
    rootGroups,
    tasks: await store.tasks.list(),
    deployments: await store.deployments.list(),
    reservations: (await store.reservations?.list()) ?? [],
    eventSubscriptions: (await store.eventSubscriptions?.list()) ?? [],
  };
}

/** Replace the whole state of a store with a backup's (clear, then write everything). */
export async function importState(store: MarathonStore, backup: StateBackup): Promise<void> {
  if (store.clear === undefined) {
    throw new AgoraError('AGORA_ERR_STORAGE', `the ${store.kind} store cannot be cleared for a restore`);
  }
  await store.clear();
  for (const { versions } of backup.apps) for (const app of versions) await store.apps.put(app);
  for (const root of backup.rootGroups) await store.groups?.putRoot(root);
  for (const task of backup.tasks) await store.tasks.put(task);
  for (const d of backup.deployments) await store.deployments.put(d);
  for (const r of backup.reservations) await store.reservations?.put(r);
  for (const url of backup.eventSubscriptions) await store.eventSubscriptions?.add(url);
  if (backup.frameworkId !== undefined) await store.frameworkId.put(backup.frameworkId);
}

/** Write a backup document atomically (the directory is created). */
export async function writeBackup(path: string, backup: StateBackup): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, JSON.stringify(backup));
}

const LISTS = ['apps', 'rootGroups', 'tasks', 'deployments', 'reservations', 'eventSubscriptions'] as const;

/** Read and check a backup document; AGORA_ERR_BAD_REQUEST when it is not one this Marathon can load. */
export async function readBackup(path: string): Promise<StateBackup> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new AgoraError('AGORA_ERR_BAD_REQUEST', `cannot read the backup ${path}: ${toAgoraError(err).message}`, {
      cause: err,
    });
  }
  const doc = parsed as Partial<StateBackup> | null;
  if (doc === null || typeof doc !== 'object' || doc.format !== BACKUP_FORMAT) {
    throw new AgoraError('AGORA_ERR_BAD_REQUEST', `${path} is not a Marathon backup (format ${BACKUP_FORMAT})`);
  }
  if (doc.schemaVersion !== STORE_SCHEMA_VERSION) {
    throw new AgoraError(
      'AGORA_ERR_BAD_REQUEST',
      `the backup ${path} has schema version ${String(doc.schemaVersion)}, this Marathon reads ${STORE_SCHEMA_VERSION}`,
    );
  }
  for (const k of LISTS) {
    if (!Array.isArray(doc[k])) throw new AgoraError('AGORA_ERR_BAD_REQUEST', `the backup ${path} has no ${k} list`);
  }
  return doc as StateBackup;
}

/**
 * At takeover, before loading: carry out a stored backup/restore request.
 * A backup that cannot be written, or a restore file that cannot be read,
 * is logged and the request dropped (the state stays as it is); a store
 * failure while restoring keeps the request and is thrown.
 */
export async function applyRuntimeConfiguration(store: MarathonStore, logger: Logger, now: Date): Promise<void> {
  const config = await store.runtimeConfiguration?.get();
  if (config === undefined) return;
  if (config.backup !== undefined) {
    try {
      const path = backupPath(config.backup);
      await writeBackup(path, await exportState(store, now));
      logger.info({ backup: config.backup }, 'state backed up');
    } catch (err) {
      logger.error({ err: toAgoraError(err).toJSON(), backup: config.backup }, 'backup failed');
    }
  }
  if (config.restore !== undefined) {
    let backup: StateBackup | undefined;
    try {
      backup = await readBackup(backupPath(config.restore));
    } catch (err) {
      logger.error({ err: toAgoraError(err).toJSON(), restore: config.restore }, 'restore skipped: unreadable backup');
    }
    if (backup !== undefined) {
      await importState(store, backup);
      logger.info({ restore: config.restore, apps: backup.apps.length }, 'state restored');
    }
  }
  await store.runtimeConfiguration?.delete();
}
