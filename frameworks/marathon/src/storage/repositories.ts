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
import type { TaskRecord } from '../model/task.js';

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

export interface FrameworkIdRepository {
  get(): Promise<string | undefined>;
  put(id: string): Promise<void>;
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
