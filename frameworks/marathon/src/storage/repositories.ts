/**
 * Where Marathon keeps its state: repository interfaces with two
 * implementations, Redis (`redis/`, for real clusters) and a directory of
 * JSON files (`file/`, for `agora local`). Every failure is an AgoraError
 * `AGORA_ERR_STORAGE`; callers change no in-memory state when a write fails.
 *
 * Stored shapes are the canonical JSON of `AppDefinition` and `TaskRecord`.
 */
import { AgoraError } from '@agora/common';
import type { AppDefinition } from '../model/app-definition.js';
import type { GroupMeta } from '../model/group.js';
import type { TaskRecord } from '../model/task.js';
import type { ReservationRecord } from '../model/reservation.js';
import type { DeploymentRecord } from '../deployments/deployment-tracker.js';

/** Versions kept per app (Marathon's `--zk_max_versions`). */
export const MAX_APP_VERSIONS = 50;

export interface AppRepository {
  /** Every app, current versions. */
  list(): Promise<AppDefinition[]>;
  get(id: string): Promise<AppDefinition | undefined>;
  /** Store as the current version and add to the version history (oldest dropped beyond MAX_APP_VERSIONS). */
  put(app: AppDefinition): Promise<void>;
  /** Remove the app and its history. */
  delete(id: string): Promise<void>;
  /** Stored version stamps, oldest first. */
  versions(id: string): Promise<string[]>;
  getVersion(id: string, version: string): Promise<AppDefinition | undefined>;
}

export interface TaskRepository {
  /** Every stored task. */
  list(): Promise<TaskRecord[]>;
  listByApp(appId: string): Promise<TaskRecord[]>;
  put(task: TaskRecord): Promise<void>;
  delete(appId: string, taskId: string): Promise<void>;
}

/** Reservations of resident apps' instances (persistent volumes), kept after their tasks end. */
export interface ReservationRepository {
  list(): Promise<ReservationRecord[]>;
  put(reservation: ReservationRecord): Promise<void>;
  delete(id: string): Promise<void>;
}

export interface FrameworkIdRepository {
  get(): Promise<string | undefined>;
  put(id: string): Promise<void>;
  delete(): Promise<void>;
}

/** Running deployments (finished ones are deleted). */
export interface DeploymentRepository {
  list(): Promise<DeploymentRecord[]>;
  put(deployment: DeploymentRecord): Promise<void>;
  delete(id: string): Promise<void>;
}

/**
 * A version of the root group: the explicit groups' own data (apps are
 * stored as apps) and, per app, the app version it held, so a group can be
 * rolled back (`PUT /v2/groups/{id}` with `version`).
 */
export interface RootGroupRecord {
  version: string;
  groups: GroupMeta[];
  /** app id → app version */
  apps: Record<string, string>;
}

export interface GroupRepository {
  /** The current root group; undefined before the first group change. */
  root(): Promise<RootGroupRecord | undefined>;
  /** Store as current and add to the history (oldest dropped beyond MAX_APP_VERSIONS), in one write. */
  putRoot(root: RootGroupRecord): Promise<void>;
  /** Stored root versions, oldest first. */
  versions(): Promise<string[]>;
  getVersion(version: string): Promise<RootGroupRecord | undefined>;
}

/** The layout version this code reads and writes; a store holding another one is refused at open. */
export const STORE_SCHEMA_VERSION = 1;

/** The store holds a layout this code does not know. */
export function schemaMismatch(found: string, where: string): AgoraError {
  return new AgoraError(
    'AGORA_ERR_STORAGE',
    `state store at ${where} has schema version ${found}, this Marathon reads version ${STORE_SCHEMA_VERSION}; migrate or use another store`,
    { data: { found, expected: STORE_SCHEMA_VERSION } },
  );
}

/** HTTP callback subscriptions (`/v2/eventSubscriptions`), kept so they survive restarts and failover. */
export interface EventSubscriptionRepository {
  /** Stored callback URLs, oldest first. */
  list(): Promise<string[]>;
  /** Add (idempotent). */
  add(callbackUrl: string): Promise<void>;
  /** Remove (idempotent). */
  remove(callbackUrl: string): Promise<void>;
  /** The durable event log and delivery cursors (absent: events live in memory only). */
  readonly log?: EventLogRepository;
}

/** One logged event: its bus id and its JSON exactly as published. */
export interface EventLogEntry {
  readonly id: number;
  readonly json: string;
}

/**
 * The bounded, append-only log of published events (ids strictly increasing)
 * and each HTTP callback subscriber's cursor (id of the last event delivered),
 * so delivery resumes after a restart or failover. See docs/events.md.
 */
export interface EventLogRepository {
  /**
   * Append in one atomic step, keeping at most `maxEntries` (the oldest go).
   * Entries whose id is not above the newest logged id are skipped, so
   * retrying a batch whose answer was lost is safe.
   */
  append(entries: readonly EventLogEntry[], maxEntries: number): Promise<void>;
  /** Up to `limit` entries with an id above `afterId`, oldest first. */
  after(afterId: number, limit: number): Promise<EventLogEntry[]>;
  /** The newest `limit` entries, oldest first. */
  tail(limit: number): Promise<EventLogEntry[]>;
  /** Oldest and newest logged ids; undefined while the log is empty. */
  bounds(): Promise<{ first: number; last: number } | undefined>;
  /** callback URL → id of the last event delivered to it. */
  cursors(): Promise<Record<string, number>>;
  /** Store these cursors (others unchanged), in one write. */
  saveCursors(cursors: Readonly<Record<string, number>>): Promise<void>;
  deleteCursor(callbackUrl: string): Promise<void>;
}

/**
 * A request for the next leader, stored by `DELETE /v2/leader?backup=&restore=` (Marathon's
 * `runtime-configuration`): at takeover it writes a backup to `backup` and then loads `restore`.
 */
export interface RuntimeConfiguration {
  /** `file:///path` */
  backup?: string;
  /** `file:///path` */
  restore?: string;
}

export interface RuntimeConfigurationRepository {
  get(): Promise<RuntimeConfiguration | undefined>;
  put(config: RuntimeConfiguration): Promise<void>;
  delete(): Promise<void>;
}

export interface MarathonStore {
  /** `redis` or `file`, for /v2/info and logs. */
  readonly kind: 'redis' | 'file';
  /** Where: the Redis URL or the directory. */
  readonly location: string;
  readonly apps: AppRepository;
  readonly tasks: TaskRepository;
  readonly frameworkId: FrameworkIdRepository;
  /** Event callback subscriptions (optional so other store implementations stay valid). */
  readonly eventSubscriptions?: EventSubscriptionRepository;
  readonly deployments: DeploymentRepository;
  /** Resident apps' reservations (optional so other store implementations stay valid). */
  readonly reservations?: ReservationRepository;
  /** Group data and root group versions (optional so other store implementations stay valid). */
  readonly groups?: GroupRepository;
  /** The backup/restore request for the next leader (optional so other store implementations stay valid). */
  readonly runtimeConfiguration?: RuntimeConfigurationRepository;
  /**
   * Remove the whole Marathon state (apps and versions, groups, tasks, deployments, reservations, framework
   * id, event subscriptions) but not the schema version, the runtime configuration or the event log: the
   * first step of a restore. Optional so other store implementations stay valid.
   */
  clear?(): Promise<void>;
  /** Connect / create the layout; AGORA_ERR_STORAGE when the store cannot be reached. */
  open(): Promise<void>;
  close(): Promise<void>;
}

/** Wrap a failure of the store. */
export function storageError(what: string, cause: unknown): AgoraError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new AgoraError('AGORA_ERR_STORAGE', `state store failed to ${what}: ${reason}`, { cause });
}

/** Run `op`, turning any failure into AGORA_ERR_STORAGE naming `what`. */
export async function guarded<T>(what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof AgoraError && err.code === 'AGORA_ERR_STORAGE') throw err;
    throw storageError(what, err);
  }
}

/** Parse a stored JSON document, failing with AGORA_ERR_STORAGE when it is corrupt. */
export function parseStored<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw storageError(`read ${what} (corrupt JSON)`, err);
  }
}
