/**
 * The Redis store (ioredis). Keys, under a prefix (default `agora:marathon:`):
 *
 * | key                      | type   | content                           |
 * |--------------------------|--------|-----------------------------------|
 * | `apps`                   | hash   | app id → current AppDefinition    |
 * | `app-versions:<app id>`  | hash   | version → AppDefinition           |
 * | `tasks:<app id>`         | hash   | task id → TaskRecord              |
 * | `task-apps`              | set    | app ids that have task hashes     |
 * | `framework-id`           | string | the Mesos framework id            |
 *
 * Commands fail fast while Redis is unreachable (no offline queue), so the
 * API can answer 503 at once; the client reconnects in the background.
 */
import { type ChainableCommander, Redis } from 'ioredis';
import type { AppDefinition } from '../../model/app-definition.js';
import type { TaskRecord } from '../../model/task.js';
import {
  type AppRepository,
  type FrameworkIdRepository,
  guarded,
  MAX_APP_VERSIONS,
  type MarathonStore,
  parseStored,
  type TaskRepository,
} from '../repositories.js';

export interface RedisStoreOptions {
  /** `redis://host:port[/db]`. */
  url: string;
  /** @default 'agora:marathon:' */
  prefix?: string;
  /** Fail a command that gets no answer in this time. @default 5000 */
  commandTimeoutMs?: number;
  /** Give up connecting at `open()` after this long. @default 10000 */
  connectTimeoutMs?: number;
}

export const DEFAULT_REDIS_PREFIX = 'agora:marathon:';

/** Run a MULTI and fail when it was aborted or any command in it failed (ioredis reports those in the result). */
async function execAll(multi: ChainableCommander): Promise<void> {
  const results = await multi.exec();
  if (results === null) throw new Error('transaction aborted');
  for (const [err] of results) if (err !== null) throw err;
}

export class RedisStore implements MarathonStore {
  readonly kind = 'redis' as const;
  readonly location: string;
  readonly apps: AppRepository;
  readonly tasks: TaskRepository;
  readonly frameworkId: FrameworkIdRepository;
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(options: RedisStoreOptions) {
    this.location = options.url;
    this.prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
    this.redis = new Redis(options.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: options.commandTimeoutMs ?? 5000,
      connectTimeout: options.connectTimeoutMs ?? 10_000,
      retryStrategy: (times) => Math.min(times * 100, 2000),
    });
    // Errors surface on the commands; the 'error' event only needs a listener so it does not crash the process.
    this.redis.on('error', () => {});
    const key = (k: string): string => this.prefix + k;
    const redis = this.redis;

    this.apps = {
      list: () =>
        guarded('list apps', async () => {
          const all = await redis.hvals(key('apps'));
          return all.map((t) => parseStored<AppDefinition>(t, 'an app'));
        }),
      get: (id) =>
        guarded(`read app ${id}`, async () => {
          const text = await redis.hget(key('apps'), id);
          return text === null ? undefined : parseStored<AppDefinition>(text, `app ${id}`);
        }),
      put: (app) =>
        guarded(`write app ${app.id}`, async () => {
          const text = JSON.stringify(app);
          await execAll(
            redis
              .multi()
              .hset(key('apps'), app.id, text)
              .hset(key(`app-versions:${app.id}`), app.version, text),
          );
          const versions = (await redis.hkeys(key(`app-versions:${app.id}`))).sort();
          const drop = versions.slice(0, Math.max(0, versions.length - MAX_APP_VERSIONS));
          if (drop.length > 0) await redis.hdel(key(`app-versions:${app.id}`), ...drop);
        }),
      delete: (id) =>
        guarded(`delete app ${id}`, async () => {
          await execAll(
            redis
              .multi()
              .hdel(key('apps'), id)
              .del(key(`app-versions:${id}`)),
          );
        }),
      versions: (id) =>
        guarded(`list versions of ${id}`, async () => (await redis.hkeys(key(`app-versions:${id}`))).sort()),
      getVersion: (id, version) =>
        guarded(`read app ${id} version ${version}`, async () => {
          const text = await redis.hget(key(`app-versions:${id}`), version);
          return text === null ? undefined : parseStored<AppDefinition>(text, `app ${id} version ${version}`);
        }),
    };

    this.tasks = {
      list: () =>
        guarded('list tasks', async () => {
          const appIds = await redis.smembers(key('task-apps'));
          const lists = await Promise.all(appIds.map((a) => redis.hvals(key(`tasks:${a}`))));
          return lists.flat().map((t) => parseStored<TaskRecord>(t, 'a task'));
        }),
      listByApp: (appId) =>
        guarded(`list tasks of ${appId}`, async () =>
          (await redis.hvals(key(`tasks:${appId}`))).map((t) => parseStored<TaskRecord>(t, 'a task')),
        ),
      put: (task: TaskRecord) =>
        guarded(`write task ${task.id}`, async () => {
          await execAll(
            redis
              .multi()
              .sadd(key('task-apps'), task.appId)
              .hset(key(`tasks:${task.appId}`), task.id, JSON.stringify(task)),
          );
        }),
      delete: (appId, taskId) =>
        guarded(`delete task ${taskId}`, async () => {
          await redis.hdel(key(`tasks:${appId}`), taskId);
          if ((await redis.hlen(key(`tasks:${appId}`))) === 0) await redis.srem(key('task-apps'), appId);
        }),
    };

    this.frameworkId = {
      get: () => guarded('read the framework id', async () => (await redis.get(key('framework-id'))) ?? undefined),
      put: (id) =>
        guarded('write the framework id', async () => {
          await redis.set(key('framework-id'), id);
        }),
      delete: () =>
        guarded('delete the framework id', async () => {
          await redis.del(key('framework-id'));
        }),
    };
  }

  open(): Promise<void> {
    return guarded(`connect to Redis at ${this.location}`, async () => {
      if (this.redis.status === 'wait') await this.redis.connect();
      await this.redis.ping();
    });
  }

  async close(): Promise<void> {
    if (this.redis.status === 'end') return;
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}
