/**
 * The JSON form of a canonical app (what GET /v2/apps serves, before the
 * runtime counters are added), Marathon's version stamps, and the
 * restart-or-scale comparison of two versions. PURE.
 */
import type { AppDefinition, AppSpec, JsonObject, JsonValue } from './app-definition.js';

/** The app as JSON, every canonical field present; absent optional fields are omitted. */
export function appToJson(app: AppSpec | AppDefinition): JsonObject {
  const json: JsonObject = { id: app.id };
  if (app.cmd !== undefined) json['cmd'] = app.cmd;
  if (app.args !== undefined) json['args'] = [...app.args];
  if (app.user !== undefined) json['user'] = app.user;
  json['env'] = { ...app.env } as JsonObject;
  json['instances'] = app.instances;
  json['cpus'] = app.cpus;
  json['mem'] = app.mem;
  json['disk'] = app.disk;
  json['gpus'] = app.gpus;
  json['executor'] = app.executor;
  json['constraints'] = app.constraints;
  if (app.acceptedResourceRoles !== undefined) json['acceptedResourceRoles'] = [...app.acceptedResourceRoles];
  json['fetch'] = app.fetch.map((f) => ({ ...f }));
  json['backoffSeconds'] = app.backoffSeconds;
  json['backoffFactor'] = app.backoffFactor;
  json['maxLaunchDelaySeconds'] = app.maxLaunchDelaySeconds;
  if (app.container !== undefined) json['container'] = app.container;
  json['healthChecks'] = app.healthChecks;
  if (app.check !== undefined) json['check'] = app.check;
  json['readinessChecks'] = app.readinessChecks;
  json['dependencies'] = [...app.dependencies];
  json['upgradeStrategy'] = { ...app.upgradeStrategy };
  json['unreachableStrategy'] = app.unreachableStrategy === 'disabled' ? 'disabled' : { ...app.unreachableStrategy };
  json['killSelection'] = app.killSelection;
  json['labels'] = { ...app.labels };
  json['requirePorts'] = app.requirePorts;
  json['networks'] = app.networks.map((n) => ({ ...n }) as JsonObject);
  if (app.networks.every((n) => n.mode === 'host')) {
    json['portDefinitions'] = app.portDefinitions.map((p) => ({ ...p }) as JsonObject);
  }
  if (app.residency !== undefined) json['residency'] = app.residency;
  if (app.taskKillGracePeriodSeconds !== undefined) json['taskKillGracePeriodSeconds'] = app.taskKillGracePeriodSeconds;
  if (Object.keys(app.secrets).length > 0) json['secrets'] = { ...app.secrets } as JsonObject;
  if (app.resourceLimits !== undefined) json['resourceLimits'] = app.resourceLimits;
  if (app.executorResources !== undefined) json['executorResources'] = app.executorResources;
  if (app.tty !== undefined) json['tty'] = app.tty;
  json['role'] = app.role;
  if ('version' in app) {
    json['version'] = app.version;
    json['versionInfo'] = { ...app.versionInfo };
  }
  return json;
}

/** An app's definition as a create/update body (no version stamps): what a rollback or a group scale sends. */
export function appBody(app: AppDefinition): JsonObject {
  const { version: _v, versionInfo: _vi, ...rest } = appToJson(app);
  return rest;
}

/** JSON with object keys sorted, so equal values give equal text. */
function stableText(value: JsonValue | undefined): string {
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `[${value.map(stableText).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableText(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Whether going from `from` to `to` needs a restart of the tasks
 * (`AppDefinition.isUpgrade`): any change but `instances` does; a change of
 * `instances` alone is a scale.
 */
export function isUpgrade(from: AppSpec, to: AppSpec): boolean {
  const strip = (a: AppSpec): JsonObject => {
    const { instances: _i, version: _v, versionInfo: _vi, ...rest } = appToJson(a);
    return rest;
  };
  return stableText(strip(from)) !== stableText(strip(to));
}

/** Whether two app specs are the same definition (ignoring version stamps). */
export function sameSpec(a: AppSpec, b: AppSpec): boolean {
  return !isUpgrade(a, b) && a.instances === b.instances;
}

/**
 * A new version stamp (ISO-8601 UTC with millis) for `nowMs`, strictly after
 * `previous` so versions of one app always sort in creation order.
 */
export function nextVersion(nowMs: number, previous?: string): string {
  const prev = previous === undefined ? Number.NEGATIVE_INFINITY : Date.parse(previous);
  const ms = Number.isFinite(prev) && prev >= nowMs ? prev + 1 : nowMs;
  return new Date(ms).toISOString();
}
