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
 * | `event-subscriptions`    | zset   | callback URL, scored by subscription time |
 * | `event-log`              | stream | published events, bounded (redis-event-log.ts) |
 * | `event-cursors`          | hash   | callback URL → id of the last event delivered |
 * | `deployments`            | hash   | deployment id → DeploymentRecord  |
 * | `reservations`           | hash   | reservation id → ReservationRecord (resident apps) |
 * | `schema-version`         | string | STORE_SCHEMA_VERSION, checked at open |
 * | `runtime-configuration`  | string | backup/restore request for the next leader (storage/backup.ts) |
 *
 * Commands fail fast while Redis is unreachable (no offline queue), so the
 * API can answer 503 at once; the client reconnects in the background.
 */
import { type ChainableCommander, Redis } from 'ioredis';
import type { AppDefinition } from '../../model/app-definition.js';
import type { DeploymentRecord } from '../../deployments/deployment-tracker.js';
import type { TaskRecord } from '../../model/task.js';
import { redisEventLog } from './redis-event-log.js';
import {
  type AppRepository,
  type EventSubscriptionRepository,
  type DeploymentRepository,
  STORE_SCHEMA_VERSION,
  schemaMismatch,
  type FrameworkIdRepository,
  guarded,
  MAX_APP_VERSIONS,
  type MarathonStore,
  parseStored,
  type TaskRepository,
  type GroupRepository,
  type RootGroupRecord,
  type ReservationRepository,
  type RuntimeConfiguration,
  type RuntimeConfigurationRepository,
} from '../repositories.js';
import type { ReservationRecord } from '../../model/reservation.js';
import type { AtomicStore, StoreChange } from '../store-change.js';
import { redisCommit } from './redis-commit.js';

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

/** KEYS: tasks hash, task-apps set; ARGV: task id, app id. */
const DELETE_TASK_SCRIPT = `redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[2]) end
return 1`;

/** Run a MULTI and fail when it was aborted or any command in it failed (ioredis reports those in the result). */
async function execAll(multi: ChainableCommander): Promise<void> {
  const results = await multi.exec();
  if (results === null) throw new Error('transaction aborted');
  for (const [err] of results) if (err !== null) throw err;
}

export class RedisStore implements MarathonStore, AtomicStore {
  readonly kind = 'redis' as const;
  readonly location: string;
  readonly apps: AppRepository;
  readonly tasks: TaskRepository;
  readonly frameworkId: FrameworkIdRepository;
  readonly eventSubscriptions: EventSubscriptionRepository;
  readonly deployments: DeploymentRepository;
  readonly groups: GroupRepository;
  readonly reservations: ReservationRepository;
  readonly runtimeConfiguration: RuntimeConfigurationRepository;
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
          // One atomic step: the task goes, and its app leaves `task-apps` with its last task.
          await redis.eval(DELETE_TASK_SCRIPT, 2, key(`tasks:${appId}`), key('task-apps'), taskId, appId);
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

    this.runtimeConfiguration = {
      get: () =>
        guarded('read the runtime configuration', async () => {
          const text = await redis.get(key('runtime-configuration'));
          return text === null ? undefined : parseStored<RuntimeConfiguration>(text, 'the runtime configuration');
        }),
      put: (config) =>
        guarded('write the runtime configuration', async () => {
          await redis.set(key('runtime-configuration'), JSON.stringify(config));
        }),
      delete: () =>
        guarded('delete the runtime configuration', async () => {
          await redis.del(key('runtime-configuration'));
        }),
    };

    this.eventSubscriptions = {
      list: () => guarded('list event subscriptions', () => redis.zrange(key('event-subscriptions'), '0', '-1')),
      add: (url) =>
        guarded(`store event subscription ${url}`, async () => {
          await redis.zadd(key('event-subscriptions'), 'NX', String(Date.now()), url);
        }),
      remove: (url) =>
        guarded(`delete event subscription ${url}`, async () => {
          await redis.zrem(key('event-subscriptions'), url);
        }),
      log: redisEventLog(redis, key('event-log'), key('event-cursors')),
    };

    this.deployments = {
      list: () =>
        guarded('list deployments', async () =>
          (await redis.hvals(key('deployments'))).map((t) => parseStored<DeploymentRecord>(t, 'a deployment')),
        ),
      put: (d) =>
        guarded(`write deployment ${d.id}`, async () => {
          await redis.hset(key('deployments'), d.id, JSON.stringify(d));
        }),
      delete: (id) =>
        guarded(`delete deployment ${id}`, async () => {
          await redis.hdel(key('deployments'), id);
        }),
    };

    this.reservations = {
      list: () =>
        guarded('list reservations', async () =>
          (await redis.hvals(key('reservations'))).map((t) => parseStored<ReservationRecord>(t, 'a reservation')),
        ),
      put: (r) =>
        guarded(`write reservation ${r.id}`, async () => {
          await redis.hset(key('reservations'), r.id, JSON.stringify(r));
        }),
      delete: (id) =>
        guarded(`delete reservation ${id}`, async () => {
          await redis.hdel(key('reservations'), id);
        }),
    };

    // Root group: `root-group` (current JSON) and `root-group-versions` (hash version → JSON), written together.
    this.groups = {
      root: () =>
        guarded('read the root group', async () => {
          const text = await redis.get(key('root-group'));
          return text === null ? undefined : parseStored<RootGroupRecord>(text, 'the root group');
        }),
      putRoot: (root) =>
        guarded('write the root group', async () => {
          const text = JSON.stringify(root);
          const versions = [...new Set([...(await redis.hkeys(key('root-group-versions'))), root.version])].sort();
          const drop = versions.slice(0, Math.max(0, versions.length - MAX_APP_VERSIONS));
          const tx = redis.multi().set(key('root-group'), text).hset(key('root-group-versions'), root.version, text);
          if (drop.length > 0) tx.hdel(key('root-group-versions'), ...drop);
          await execAll(tx);
        }),
      versions: () =>
        guarded('list root group versions', async () => (await redis.hkeys(key('root-group-versions'))).sort()),
      getVersion: (version) =>
        guarded(`read root group version ${version}`, async () => {
          const text = await redis.hget(key('root-group-versions'), version);
          return text === null ? undefined : parseStored<RootGroupRecord>(text, 'a root group version');
        }),
    };
  }

  open(): Promise<void> {
    return guarded(`connect to Redis at ${this.location}`, async () => {
      if (this.redis.status === 'wait') await this.redis.connect();
      await this.redis.ping();
      const key = `${this.prefix}schema-version`;
      await this.redis.set(key, String(STORE_SCHEMA_VERSION), 'NX');
      const found = await this.redis.get(key);
      if (found !== String(STORE_SCHEMA_VERSION)) throw schemaMismatch(String(found), this.location);
    });
  }

  /** Delete every key under the prefix but the schema version, the runtime configuration and the event log. */
  clear(): Promise<void> {
    return guarded('clear the state', async () => {
      const keep = new Set(
        ['schema-version', 'runtime-configuration', 'event-log', 'event-cursors'].map((k) => this.prefix + k),
      );
      const pattern = `${this.prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
      let cursor = '0';
      do {
        const [next, keys] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
        cursor = next;
        const doomed = keys.filter((k) => !keep.has(k));
        if (doomed.length > 0) await this.redis.del(...doomed);
      } while (cursor !== '0');
    });
  }

  /** Write a change at once (one Lua script; see redis-commit.ts). */
  commit(change: StoreChange): Promise<void> {
    return guarded('write a change', () => redisCommit(this.redis, this.prefix, change));
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
