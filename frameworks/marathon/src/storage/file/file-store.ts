/**
 * The file store: a directory of JSON documents, each written atomically
 * (write a temporary file, fsync, rename over the old one), for `agora local`
 * and single-machine use. Layout under the directory:
 *
 * ```
 * apps/<safe app id>.json                      current AppDefinition
 * app-versions/<safe app id>/<version>.json    version history
 * tasks/<safe app id>/<task id>.json           TaskRecord
 * framework-id                                 the Mesos framework id
 * event-subscriptions.json                     callback URLs of /v2/eventSubscriptions
 * event-log.jsonl, event-cursors.json          the durable event log and delivery cursors (file-event-log.ts)
 * deployments/<id>.json                        running DeploymentRecord
 * reservations/<id>.json                       ReservationRecord of a resident app's instance
 * schema-version                               STORE_SCHEMA_VERSION, checked at open
 * runtime-configuration.json                   backup/restore request for the next leader (storage/backup.ts)
 * ```
 *
 * `<safe app id>` is Marathon's safe path (`/a/b` → `a_b`).
 */
import { mkdir, open, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { AppDefinition } from '../../model/app-definition.js';
import { safePath } from '../../model/path-id.js';
import type { DeploymentRecord } from '../../deployments/deployment-tracker.js';
import type { TaskRecord } from '../../model/task.js';
import { fileEventLog } from './file-event-log.js';
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
import { type FileStoreParts, fileCommit, replayJournal } from './file-commit.js';

const TMP_MARK = '.tmp-';
let tmpCounter = 0;

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/** Write `text` to `file` atomically: temp file in the same dir, fsync, rename. */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}${TMP_MARK}${process.pid}-${tmpCounter++}`;
  const handle = await open(tmp, 'w', 0o644);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** The `.json` documents of a directory (none when it does not exist), without temp files. */
async function jsonFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((f) => f.endsWith('.json') && !f.includes(TMP_MARK)).sort();
  } catch (err) {
    if (isMissing(err)) return [];
    throw err;
  }
}

/** A version names one document of its directory: none with a path separator, `..` or NUL (they read nothing). */
function isDocumentName(version: string): boolean {
  return version !== '' && !version.includes('/') && !version.includes('..') && !version.includes('\0');
}

async function readAll<T>(dir: string, what: string): Promise<T[]> {
  const out: T[] = [];
  for (const f of await jsonFiles(dir)) {
    const text = await readOptional(join(dir, f));
    if (text !== undefined) out.push(parseStored<T>(text, `${what} ${f}`));
  }
  return out;
}

export class FileStore implements MarathonStore, AtomicStore {
  readonly kind = 'file' as const;
  readonly apps: AppRepository;
  readonly tasks: TaskRepository;
  readonly frameworkId: FrameworkIdRepository;
  readonly eventSubscriptions: EventSubscriptionRepository;
  readonly deployments: DeploymentRepository;
  readonly groups: GroupRepository;
  readonly reservations: ReservationRepository;
  readonly runtimeConfiguration: RuntimeConfigurationRepository;

  constructor(readonly location: string) {
    const dir = location;
    const appFile = (id: string): string => join(dir, 'apps', `${safePath(id)}.json`);
    const versionDir = (id: string): string => join(dir, 'app-versions', safePath(id));
    const taskDir = (appId: string): string => join(dir, 'tasks', safePath(appId));
    const frameworkIdFile = join(dir, 'framework-id');

    this.apps = {
      list: () => guarded('list apps', () => readAll<AppDefinition>(join(dir, 'apps'), 'app')),
      get: (id) =>
        guarded(`read app ${id}`, async () => {
          const text = await readOptional(appFile(id));
          return text === undefined ? undefined : parseStored<AppDefinition>(text, `app ${id}`);
        }),
      put: (app) =>
        guarded(`write app ${app.id}`, async () => {
          const text = JSON.stringify(app, null, 2);
          await mkdir(versionDir(app.id), { recursive: true });
          await writeFileAtomic(join(versionDir(app.id), `${app.version}.json`), text);
          await writeFileAtomic(appFile(app.id), text);
          const versions = await jsonFiles(versionDir(app.id));
          for (const old of versions.slice(0, Math.max(0, versions.length - MAX_APP_VERSIONS))) {
            await rm(join(versionDir(app.id), old), { force: true });
          }
        }),
      delete: (id) =>
        guarded(`delete app ${id}`, async () => {
          await rm(appFile(id), { force: true });
          await rm(versionDir(id), { recursive: true, force: true });
        }),
      versions: (id) =>
        guarded(`list versions of ${id}`, async () =>
          (await jsonFiles(versionDir(id))).map((f) => f.slice(0, -'.json'.length)),
        ),
      getVersion: (id, version) =>
        guarded(`read app ${id} version ${version}`, async () => {
          if (!isDocumentName(version)) return undefined;
          const text = await readOptional(join(versionDir(id), `${version}.json`));
          return text === undefined ? undefined : parseStored<AppDefinition>(text, `app ${id} version ${version}`);
        }),
    };

    this.tasks = {
      list: () =>
        guarded('list tasks', async () => {
          let appDirs: string[];
          try {
            appDirs = (await readdir(join(dir, 'tasks'))).sort();
          } catch (err) {
            if (isMissing(err)) return [];
            throw err;
          }
          const out: TaskRecord[] = [];
          for (const a of appDirs) out.push(...(await readAll<TaskRecord>(join(dir, 'tasks', a), 'task')));
          return out;
        }),
      listByApp: (appId) => guarded(`list tasks of ${appId}`, () => readAll<TaskRecord>(taskDir(appId), 'task')),
      put: (task) =>
        guarded(`write task ${task.id}`, async () => {
          await mkdir(taskDir(task.appId), { recursive: true });
          await writeFileAtomic(join(taskDir(task.appId), `${task.id}.json`), JSON.stringify(task));
        }),
      delete: (appId, taskId) =>
        guarded(`delete task ${taskId}`, async () => {
          await rm(join(taskDir(appId), `${taskId}.json`), { force: true });
        }),
    };

    const reservationDir = join(dir, 'reservations');
    const reservationFile = (id: string): string => join(reservationDir, `${encodeURIComponent(id)}.json`);
    this.reservations = {
      list: () => guarded('list reservations', () => readAll<ReservationRecord>(reservationDir, 'reservation')),
      put: (r) =>
        guarded(`write reservation ${r.id}`, async () => {
          await mkdir(reservationDir, { recursive: true });
          await writeFileAtomic(reservationFile(r.id), JSON.stringify(r));
        }),
      delete: (id) => guarded(`delete reservation ${id}`, () => rm(reservationFile(id), { force: true })),
    };

    this.frameworkId = {
      get: () =>
        guarded('read the framework id', async () => (await readOptional(frameworkIdFile))?.trim() || undefined),
      put: (id) => guarded('write the framework id', () => writeFileAtomic(frameworkIdFile, `${id}\n`)),
      delete: () => guarded('delete the framework id', () => rm(frameworkIdFile, { force: true })),
    };

    const runtimeFile = join(dir, 'runtime-configuration.json');
    this.runtimeConfiguration = {
      get: () =>
        guarded('read the runtime configuration', async () => {
          const text = await readOptional(runtimeFile);
          return text === undefined ? undefined : parseStored<RuntimeConfiguration>(text, 'the runtime configuration');
        }),
      put: (config) =>
        guarded('write the runtime configuration', () => writeFileAtomic(runtimeFile, JSON.stringify(config))),
      delete: () => guarded('delete the runtime configuration', () => rm(runtimeFile, { force: true })),
    };

    const subscriptionsFile = join(dir, 'event-subscriptions.json');
    const readSubscriptions = async (): Promise<string[]> => {
      const text = await readOptional(subscriptionsFile);
      return text === undefined ? [] : parseStored<string[]>(text, 'event subscriptions');
    };
    this.eventSubscriptions = {
      list: () => guarded('list event subscriptions', readSubscriptions),
      add: (url) =>
        guarded(`store event subscription ${url}`, async () => {
          const urls = await readSubscriptions();
          if (!urls.includes(url)) await writeFileAtomic(subscriptionsFile, JSON.stringify([...urls, url]));
        }),
      remove: (url) =>
        guarded(`delete event subscription ${url}`, async () => {
          const urls = await readSubscriptions();
          if (urls.includes(url))
            await writeFileAtomic(subscriptionsFile, JSON.stringify(urls.filter((u) => u !== url)));
        }),
      log: fileEventLog(dir, writeFileAtomic),
    };

    const deploymentFile = (id: string): string => join(dir, 'deployments', `${safePath(id)}.json`);
    this.deployments = {
      list: () => guarded('list deployments', () => readAll<DeploymentRecord>(join(dir, 'deployments'), 'deployment')),
      put: (d) =>
        guarded(`write deployment ${d.id}`, async () => {
          await mkdir(join(dir, 'deployments'), { recursive: true });
          await writeFileAtomic(deploymentFile(d.id), JSON.stringify(d));
        }),
      delete: (id) => guarded(`delete deployment ${id}`, () => rm(deploymentFile(id), { force: true })),
    };

    // Root group: root-group.json (current) and root-group-versions/<version>.json.
    const rootFile = join(dir, 'root-group.json');
    const rootVersionsDir = join(dir, 'root-group-versions');
    const rootVersions = async (): Promise<string[]> => {
      try {
        return (await readdir(rootVersionsDir))
          .filter((f) => f.endsWith('.json'))
          .map((f) => f.slice(0, -'.json'.length))
          .sort();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw err;
      }
    };
    this.groups = {
      root: () =>
        guarded('read the root group', async () => {
          const text = await readOptional(rootFile);
          return text === undefined ? undefined : parseStored<RootGroupRecord>(text, 'the root group');
        }),
      putRoot: (root) =>
        guarded('write the root group', async () => {
          await mkdir(rootVersionsDir, { recursive: true });
          const text = JSON.stringify(root);
          await writeFileAtomic(join(rootVersionsDir, `${root.version}.json`), text);
          await writeFileAtomic(rootFile, text);
          const versions = await rootVersions();
          for (const v of versions.slice(0, Math.max(0, versions.length - MAX_APP_VERSIONS))) {
            await rm(join(rootVersionsDir, `${v}.json`), { force: true });
          }
        }),
      versions: () => guarded('list root group versions', rootVersions),
      getVersion: (version) =>
        guarded(`read root group version ${version}`, async () => {
          if (!isDocumentName(version)) return undefined;
          const text = await readOptional(join(rootVersionsDir, `${version}.json`));
          return text === undefined ? undefined : parseStored<RootGroupRecord>(text, 'a root group version');
        }),
    };
  }

  open(): Promise<void> {
    return guarded(`open the state directory ${this.location}`, async () => {
      for (const sub of ['apps', 'app-versions', 'tasks', 'deployments']) {
        await mkdir(join(this.location, sub), { recursive: true });
      }
      const file = join(this.location, 'schema-version');
      const found = (await readOptional(file))?.trim();
      if (found === undefined) await writeFileAtomic(file, `${STORE_SCHEMA_VERSION}\n`);
      else if (found !== String(STORE_SCHEMA_VERSION)) throw schemaMismatch(found, this.location);
      await replayJournal(this.parts());
    });
  }

  clear(): Promise<void> {
    return guarded('clear the state directory', async () => {
      const dirs = ['apps', 'app-versions', 'tasks', 'deployments', 'reservations', 'root-group-versions'];
      for (const sub of dirs) await rm(join(this.location, sub), { recursive: true, force: true });
      for (const f of ['framework-id', 'event-subscriptions.json', 'root-group.json']) {
        await rm(join(this.location, f), { force: true });
      }
      for (const sub of ['apps', 'app-versions', 'tasks', 'deployments']) {
        await mkdir(join(this.location, sub), { recursive: true });
      }
    });
  }

  /** Write a change at once (journal, then documents; see file-commit.ts). */
  commit(change: StoreChange): Promise<void> {
    return fileCommit(this.parts(), change);
  }

  private parts(): FileStoreParts {
    const { location, apps, deployments, groups } = this;
    return { location, apps, deployments, groups, writeAtomic: writeFileAtomic };
  }

  async close(): Promise<void> {}
}
