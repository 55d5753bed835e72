/**
 * The apps: create, update (scale or restart), delete, with Marathon's
 * rules (409 when the id exists, 404 when it does not, 409 when a deployment
 * holds the app unless `force`). Every change is validated first, then
 * written to the store, and only then applied in memory and announced, so a
 * bad body or a store failure changes nothing. Changes run one at a time.
 */
import { AgoraError, type Clock, Emitter, type Event, type Logger, newUuid } from '@agora/common';
import type { Deployment, DeploymentAction, DeploymentTracker } from '../deployments/deployment-tracker.js';
import type { AppDefinition, AppSpec, JsonObject, JsonValue } from '../model/app-definition.js';
import { isUpgrade, nextVersion } from '../model/app-json.js';
import { isObject } from '../model/app-reads.js';
import { type AppParseResult, mergeAppUpdate, parseAppDefinition } from '../model/app-parser.js';
import { canonicalPathId, canonicalSegments } from '../model/path-id.js';
import type { MarathonStore } from '../storage/repositories.js';
import { publishApiPost, publishDeploymentStarted, type RequestOrigin } from '../events/publishers.js';
import type { EventPublisher } from '../events/types.js';
import { SerialQueue } from '../util/serial-queue.js';
import { assignServicePorts, DEFAULT_SERVICE_PORT_RANGE, type ServicePortRange } from './service-ports.js';

export interface AppManagerOptions {
  /** Role of apps that name none. @default '*' */
  defaultRole?: string;
  /** @default [10000, 20000] */
  servicePorts?: ServicePortRange;
  /** Where Marathon events are published (api_post_event, deployment_info, …). */
  events?: EventPublisher;
}

export interface AppChange {
  readonly appId: string;
  readonly kind: 'created' | 'updated' | 'deleted';
  /** The configuration changed (tasks must be replaced), not only `instances`. */
  readonly restart: boolean;
}

export interface AppChangeResult {
  app: AppDefinition;
  deployment: Deployment;
  created: boolean;
  unknownFields: string[];
}

function invalid(result: Extract<AppParseResult, { ok: false }>): AgoraError {
  const message = result.kind === 'json' ? 'Invalid JSON' : 'Object is not valid';
  return new AgoraError('AGORA_ERR_APP_INVALID', message, {
    data: { kind: result.kind, violations: result.violations, unknownFields: result.unknownFields },
  });
}

export class AppManager {
  private readonly apps = new Map<string, AppDefinition>();
  private readonly queue = new SerialQueue();
  private readonly onDidChangeEmitter = new Emitter<AppChange>();
  /** An app was created, updated or deleted (after the store write). */
  readonly onDidChangeApp: Event<AppChange> = this.onDidChangeEmitter.event;
  private readonly defaultRole: string;
  private readonly servicePorts: ServicePortRange;

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
  create(body: unknown, _options: { force?: boolean; origin?: RequestOrigin } = {}): Promise<AppChangeResult> {
    const parsed = parseAppDefinition(body, { defaultRole: this.defaultRole });
    if (!parsed.ok) return Promise.reject(invalid(parsed));
    return this.queue.run(async () => {
      if (this.apps.has(parsed.spec.id)) {
        throw new AgoraError('AGORA_ERR_APP_EXISTS', `An app with id [${parsed.spec.id}] already exists.`);
      }
      this.checkNamespace(parsed.spec.id);
      const app = await this.commitNew(parsed.spec, _options.origin);
      return { ...app, unknownFields: parsed.unknownFields };
    });
  }

  /** PUT /v2/apps/{id}: update, or create when the app does not exist. */
  update(
    id: string,
    body: unknown,
    options: { partial?: boolean; force?: boolean; origin?: RequestOrigin } = {},
  ): Promise<AppChangeResult> {
    const appId = canonicalPathId(id);
    return this.queue.run(async () => {
      const current = this.apps.get(appId);
      if (current === undefined) {
        const parsed = parseAppDefinition(body, { defaultRole: this.defaultRole, id: appId });
        if (!parsed.ok) throw invalid(parsed);
        this.checkNamespace(parsed.spec.id);
        const created = await this.commitNew(parsed.spec, options.origin);
        return { ...created, unknownFields: parsed.unknownFields };
      }
      const partial = options.partial !== false;
      const input: JsonValue =
        partial && isObject(body as JsonValue) ? mergeAppUpdate(current, body as JsonObject) : (body as JsonValue);
      const parsed = parseAppDefinition(input, { defaultRole: this.defaultRole, id: appId });
      if (!parsed.ok) throw invalid(parsed);
      this.checkLock(appId, options.force === true);
      const spec = assignServicePorts(parsed.spec, this.apps.values(), this.servicePorts);
      const restart = isUpgrade(current, spec);
      const now = this.clock.now();
      const version = nextVersion(now, current.version);
      const versionInfo = restart
        ? { lastScalingAt: version, lastConfigChangeAt: version }
        : {
            lastScalingAt: spec.instances !== current.instances ? version : current.versionInfo.lastScalingAt,
            lastConfigChangeAt: current.versionInfo.lastConfigChangeAt,
          };
      const app: AppDefinition = { ...spec, version, versionInfo };
      await this.store.apps.put(app);
      this.apps.set(appId, app);
      publishApiPost(this.options.events, options.origin, app);
      const deployment = this.startDeployment(
        appId,
        restart ? 'RestartApplication' : 'ScaleApplication',
        version,
        current,
      );
      this.logger.info({ appId, version, restart, instances: app.instances }, 'app updated');
      this.onDidChangeEmitter.fire({ appId, kind: 'updated', restart });
      const unknownFields = isObject(body as JsonValue) ? parsed.unknownFields : [];
      return { app, deployment, created: false, unknownFields };
    });
  }

  /**
   * POST /v2/apps/{id}/restart: a new version with the same configuration
   * whose `lastConfigChangeAt` moves, so every task is replaced (rolling, by
   * `upgradeStrategy`).
   */
  restart(id: string, options: { force?: boolean } = {}): Promise<AppChangeResult> {
    const appId = canonicalPathId(id);
    return this.queue.run(async () => {
      const current = this.apps.get(appId);
      if (current === undefined) throw notFound(appId);
      this.checkLock(appId, options.force === true);
      const version = nextVersion(this.clock.now(), current.version);
      const app: AppDefinition = {
        ...current,
        version,
        versionInfo: { lastScalingAt: version, lastConfigChangeAt: version },
      };
      await this.store.apps.put(app);
      this.apps.set(appId, app);
      const deployment = this.startDeployment(appId, 'RestartApplication', version, current);
      this.logger.info({ appId, version }, 'app restarted');
      this.onDidChangeEmitter.fire({ appId, kind: 'updated', restart: true });
      return { app, deployment, created: false, unknownFields: [] };
    });
  }

  /** DELETE /v2/apps/{id} */
  delete(id: string, options: { force?: boolean } = {}): Promise<{ version: string; deployment: Deployment }> {
    const appId = canonicalPathId(id);
    return this.queue.run(async () => {
      const current = this.apps.get(appId);
      if (current === undefined) throw notFound(appId);
      this.checkLock(appId, options.force === true);
      await this.store.apps.delete(appId);
      this.apps.delete(appId);
      const version = nextVersion(this.clock.now(), current.version);
      const deployment = this.startDeployment(appId, 'StopApplication', version, current);
      this.logger.info({ appId }, 'app deleted');
      this.onDidChangeEmitter.fire({ appId, kind: 'deleted', restart: false });
      return { version, deployment };
    });
  }

  /** Wait for changes in flight (used at close). */
  drain(): Promise<void> {
    return this.queue.drain();
  }

  dispose(): void {
    this.onDidChangeEmitter.dispose();
  }

  private async commitNew(parsed: AppSpec, origin?: RequestOrigin): Promise<Omit<AppChangeResult, 'unknownFields'>> {
    const spec = assignServicePorts(parsed, this.apps.values(), this.servicePorts);
    const version = nextVersion(this.clock.now());
    const app: AppDefinition = {
      ...spec,
      version,
      versionInfo: { lastScalingAt: version, lastConfigChangeAt: version },
    };
    await this.store.apps.put(app);
    this.apps.set(app.id, app);
    publishApiPost(this.options.events, origin, app);
    const deployment = this.startDeployment(app.id, 'StartApplication', version);
    this.logger.info({ appId: app.id, version, instances: app.instances }, 'app created');
    this.onDidChangeEmitter.fire({ appId: app.id, kind: 'created', restart: false });
    return { app, deployment, created: true };
  }

  /** Apps and groups share one namespace: an app may not sit under another app, nor have an app under it. */
  private checkNamespace(appId: string): void {
    const segments = canonicalSegments(appId);
    for (let i = 1; i < segments.length; i++) {
      const parent = `/${segments.slice(0, i).join('/')}`;
      if (this.apps.has(parent)) {
        throw new AgoraError(
          'AGORA_ERR_APP_EXISTS',
          `An app with id [${parent}] already exists, so [${appId}] cannot be created under it.`,
        );
      }
    }
    for (const other of this.apps.keys()) {
      if (other.startsWith(`${appId}/`)) {
        throw new AgoraError('AGORA_ERR_APP_EXISTS', `A group with id [${appId}] already exists.`);
      }
    }
  }

  private checkLock(appId: string, force: boolean): void {
    const running = this.deployments.forApp(appId);
    if (running.length === 0 || force) return;
    const first = running[0]!;
    throw new AgoraError(
      'AGORA_ERR_APP_LOCKED',
      `App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/${first.id}'.`,
      { data: { deployments: running.map((d) => d.id) } },
    );
  }

  private startDeployment(
    appId: string,
    action: DeploymentAction,
    version: string,
    original?: AppDefinition,
  ): Deployment {
    const deployment: Deployment = {
      id: newUuid(),
      appId,
      action,
      version,
      createdAt: new Date(this.clock.now()).toISOString(),
      original,
    };
    publishDeploymentStarted(this.options.events, this.deployments.start(deployment));
    return deployment;
  }
}

export function notFound(appId: string): AgoraError {
  return new AgoraError('AGORA_ERR_APP_NOT_FOUND', `App '${appId}' does not exist`);
}
