/**
 * The apps: create, update (scale or restart), delete, with Marathon's
 * rules (409 when the id exists, 404 when it does not, 409 when a deployment
 * holds the app unless `force`). Every change — one app, a bulk change or a
 * group change — is a batch of operations: validated in full first
 * (`app-batch.ts`), planned as ONE deployment (`deployment-plan.ts`), then
 * written to the store in one atomic write together with that deployment
 * (and the root group version, for group changes), and only then applied in
 * memory and announced. A bad body or a store failure changes nothing.
 * Changes run one at a time.
 */
import { AgoraError, type Clock, Emitter, type Event, type Logger, newUuid } from '@agora/common';
import { type DeploymentStep, planDeployment } from '../deployments/deployment-plan.js';
import type { DeploymentRecord, DeploymentTracker } from '../deployments/deployment-tracker.js';
import { publishApiPost, publishDeploymentStarted, type RequestOrigin } from '../events/publishers.js';
import type { EventPublisher } from '../events/types.js';
import type { AppDefinition } from '../model/app-definition.js';
import { nextVersion } from '../model/app-json.js';
import { type ParseAppOptions, parseAppDefinition } from '../model/app-parser.js';
import { canonicalPathId } from '../model/path-id.js';
import { type RoleResolver, roleSettingsFor } from '../model/role-settings.js';
import type { MarathonStore, RootGroupRecord } from '../storage/repositories.js';
import { commitChange } from '../storage/store-change.js';
import { SerialQueue } from '../util/serial-queue.js';
import { type AppOp, type AppOpOutcome, appInvalid, planBatch } from './app-batch.js';
import { DEFAULT_SERVICE_PORT_RANGE, type ServicePortRange } from './service-ports.js';

export type { AppOp, AppOpOutcome } from './app-batch.js';
export { appNotFound as notFound } from './app-batch.js';

export interface AppManagerOptions {
  /** Role of apps that name none. @default '*' */
  defaultRole?: string;
  /** @default [10000, 20000] */
  servicePorts?: ServicePortRange;
  /** Where Marathon events are published (api_post_event, deployment_info, …). */
  events?: EventPublisher;
  /** `--enable_features` (e.g. `secrets`), for validation. */
  enabledFeatures?: readonly string[];
}

export interface AppChange {
  readonly appId: string;
  readonly kind: 'created' | 'updated' | 'deleted';
  /** The configuration changed (tasks must be replaced), not only `instances`. */
  readonly restart: boolean;
}

export interface AppChangeResult {
  app: AppDefinition;
  deployment: DeploymentRecord;
  created: boolean;
  unknownFields: string[];
}

export interface BatchOptions {
  /** Override the locks of running deployments (they are superseded). */
  force?: boolean;
  /** Publish `api_post_event` for each put app (single-app POST/PUT/PATCH, as Marathon). */
  origin?: RequestOrigin;
  /** The root group version to store in the same write, given the apps after the change. */
  root?: (apps: readonly AppDefinition[], version: string) => RootGroupRecord;
  /** `enforceRole` of top-level groups as the change sets them (group id → flag), over the stored ones. */
  enforceRoles?: ReadonlyMap<string, boolean>;
}

export interface BatchResult {
  /** The change's version (the newest app version it wrote). */
  version: string;
  /** The one deployment of the change; undefined when nothing changed (an empty change starts none). */
  deployment: DeploymentRecord | undefined;
  outcomes: AppOpOutcome[];
}

export class AppManager {
  private readonly apps = new Map<string, AppDefinition>();
  private readonly queue = new SerialQueue();
  private readonly onDidChangeEmitter = new Emitter<AppChange>();
  /** An app was created, updated or deleted (after the store write). */
  readonly onDidChangeApp: Event<AppChange> = this.onDidChangeEmitter.event;
  private readonly defaultRole: string;
  private readonly servicePorts: ServicePortRange;
  private enforceRoleOf: (topLevelGroupId: string) => boolean | undefined = () => undefined;

  constructor(
    private readonly store: MarathonStore,
    private readonly deployments: DeploymentTracker,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: AppManagerOptions = {},
  ) {
    this.defaultRole = options.defaultRole ?? '*';
    this.servicePorts = options.servicePorts ?? DEFAULT_SERVICE_PORT_RANGE;
  }

  /** How app definitions are parsed here (default role, enabled features); bulk and group parsing use it too. */
  get parseOptions(): ParseAppOptions {
    return this.parseOptionsWith(undefined);
  }

  /** Where the stored `enforceRole` of top-level groups is read (the group manager). */
  useGroupRoles(enforceRoleOf: (topLevelGroupId: string) => boolean | undefined): void {
    this.enforceRoleOf = enforceRoleOf;
  }

  /** Every role an app has, and `--mesos_role` (the roles the framework subscribes with), sorted. */
  rolesInUse(): string[] {
    return [...new Set([this.defaultRole, ...[...this.apps.values()].map((a) => a.role)])].sort();
  }

  private parseOptionsWith(overrides: ReadonlyMap<string, boolean> | undefined): ParseAppOptions {
    const roles: RoleResolver = (appId, enforceRole) =>
      roleSettingsFor(
        {
          mesosRole: this.defaultRole,
          enforceRoleOf: (g) => overrides?.get(g) ?? this.enforceRoleOf(g),
          existingRoleOf: (id) => this.apps.get(id)?.role,
        },
        appId,
        enforceRole,
      );
    return { defaultRole: this.defaultRole, enabledFeatures: this.options.enabledFeatures ?? [], roles };
  }

  /** Read every app from the store (at start). */
  async load(): Promise<void> {
    const apps = await this.store.apps.list();
    this.apps.clear();
    for (const app of apps) this.apps.set(app.id, app);
    this.logger.info({ apps: apps.length }, 'apps loaded');
  }

  list(): AppDefinition[] {
    return [...this.apps.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  get(id: string): AppDefinition | undefined {
    return this.apps.get(canonicalPathId(id));
  }

  /** Stored version stamps of an app, oldest first; undefined when the app does not exist. */
  async versions(id: string): Promise<string[] | undefined> {
    const appId = canonicalPathId(id);
    if (!this.apps.has(appId)) return undefined;
    return this.store.apps.versions(appId);
  }

  /** The app as it was at `version`. */
  async versionOf(id: string, version: string): Promise<AppDefinition | undefined> {
    const appId = canonicalPathId(id);
    if (!this.apps.has(appId)) return undefined;
    return this.store.apps.getVersion(appId, version);
  }

  /** POST /v2/apps */
  async create(body: unknown, options: { force?: boolean; origin?: RequestOrigin } = {}): Promise<AppChangeResult> {
    const parsed = parseAppDefinition(body, this.parseOptions);
    if (!parsed.ok) throw appInvalid(parsed);
    const id = parsed.spec.id;
    return this.single(await this.change([{ op: 'put', id, body, partial: false, mustNotExist: true }], options));
  }

  /** PUT /v2/apps/{id}: update, or create when the app does not exist. */
  async update(
    id: string,
    body: unknown,
    options: { partial?: boolean; force?: boolean; origin?: RequestOrigin } = {},
  ): Promise<AppChangeResult> {
    const op: AppOp = { op: 'put', id, body, partial: options.partial !== false };
    return this.single(await this.change([op], options));
  }

  /**
   * POST /v2/apps/{id}/restart: a new version with the same configuration
   * whose `lastConfigChangeAt` moves, so every task is replaced (rolling, by
   * `upgradeStrategy`).
   */
  async restart(id: string, options: { force?: boolean } = {}): Promise<AppChangeResult> {
    return this.single(await this.change([{ op: 'restart', id }], options));
  }

  /** DELETE /v2/apps/{id} */
  async delete(
    id: string,
    options: { force?: boolean } = {},
  ): Promise<{ version: string; deployment: DeploymentRecord }> {
    const r = await this.change([{ op: 'delete', id }], options);
    return { version: r.version, deployment: r.deployment! };
  }

  /**
   * Apply a batch of operations as ONE change: every operation validated,
   * the locks checked, one deployment planned over all affected apps, and
   * the apps, the deployment (and `root`) written in one atomic store write.
   */
  change(ops: readonly AppOp[], options: BatchOptions = {}): Promise<BatchResult> {
    return this.queue.run(() => this.applyBatch(ops, options));
  }

  /** Wait for changes in flight (used at close). */
  drain(): Promise<void> {
    return this.queue.drain();
  }

  dispose(): void {
    this.onDidChangeEmitter.dispose();
  }

  private async applyBatch(ops: readonly AppOp[], options: BatchOptions): Promise<BatchResult> {
    const now = this.clock.now();
    const plan = planBatch(ops, {
      current: this.apps,
      now,
      parse: this.parseOptionsWith(options.enforceRoles),
      servicePorts: this.servicePorts,
    });
    this.checkLocks([...plan.after.keys()], options.force === true);
    const present = (m: Map<string, AppDefinition | undefined>): Map<string, AppDefinition> =>
      new Map([...m].filter((e): e is [string, AppDefinition] => e[1] !== undefined));
    const steps: DeploymentStep[] = planDeployment(present(plan.before), present(plan.after), {
      restart: plan.restarts,
    });
    // Every app put or restarted gets an action, even when only its version moved (Marathon deploys every change).
    const planned = new Set(steps.flatMap((s) => s.actions.map((a) => a.app)));
    const unplanned = [...present(plan.after).keys()].filter((id) => !planned.has(id));
    if (unplanned.length > 0) steps.push({ actions: unplanned.map((app) => ({ action: 'ScaleApplication', app })) });

    const written = [...present(plan.after).values()];
    const deleted = [...plan.after].filter(([, a]) => a === undefined).map(([id]) => id);
    const newest = written.map((a) => a.version).sort();
    const latest = [...this.apps.values()].map((a) => a.version).sort();
    const version = newest[newest.length - 1] ?? nextVersion(now, latest[latest.length - 1]);
    const afterAll = new Map(this.apps);
    for (const [id, app] of plan.after) {
      if (app === undefined) afterAll.delete(id);
      else afterAll.set(id, app);
    }
    const root = options.root?.([...afterAll.values()], version);

    let deployment: DeploymentRecord | undefined;
    if (steps.length > 0) {
      const first = steps[0]!.actions[0]!;
      const originals = Object.fromEntries([...plan.before].map(([id, app]) => [id, app ?? null]));
      deployment = await this.deployments.startWith(
        {
          id: newUuid(),
          appId: first.app,
          action: first.action,
          version,
          createdAt: new Date(now).toISOString(),
          steps,
          originals,
        },
        (record, superseded) =>
          commitChange(this.store, {
            putApps: written,
            deleteApps: deleted,
            putDeployment: record,
            deleteDeployments: [...superseded],
            ...(root === undefined ? {} : { root }),
          }),
      );
    } else if (root !== undefined) {
      await commitChange(this.store, { root });
    }

    // Written: now memory, events, the scheduler.
    for (const [id, app] of plan.after) {
      if (app === undefined) this.apps.delete(id);
      else this.apps.set(id, app);
    }
    for (const o of plan.outcomes) if (o.app !== undefined) publishApiPost(this.options.events, options.origin, o.app);
    if (deployment !== undefined) publishDeploymentStarted(this.options.events, deployment);
    for (const [id, app] of plan.after) {
      const prior = plan.before.get(id);
      const restart =
        plan.restarts.has(id) ||
        (deployment?.steps ?? []).some((s) => s.actions.some((a) => a.app === id && a.action === 'RestartApplication'));
      const kind = app === undefined ? 'deleted' : prior === undefined ? 'created' : 'updated';
      this.logger.info({ appId: id, version: app?.version, kind, deploymentId: deployment?.id }, `app ${kind}`);
      this.onDidChangeEmitter.fire({ appId: id, kind, restart });
    }
    return { version, deployment, outcomes: plan.outcomes };
  }

  private single(r: BatchResult): AppChangeResult {
    const o = r.outcomes[0]!;
    return { app: o.app!, deployment: r.deployment!, created: o.created, unknownFields: o.unknownFields };
  }

  /** 409 (AGORA_ERR_APP_LOCKED) when a running deployment holds one of these apps, unless `force`. */
  checkLocks(appIds: readonly string[], force: boolean): void {
    if (force) return;
    const ids = [...new Set(appIds.flatMap((a) => this.deployments.forApp(a).map((d) => d.id)))];
    if (ids.length === 0) return;
    throw new AgoraError(
      'AGORA_ERR_APP_LOCKED',
      `App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/${ids[0]}'.`,
      { data: { deployments: ids } },
    );
  }
}
