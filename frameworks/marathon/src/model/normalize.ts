/**
 * Normalization of an app definition into its canonical form
 * (`api/v2/AppNormalization.scala`): defaults filled in, relative ids made
 * absolute, deprecated fields converted (`ports` → `portDefinitions`,
 * `uris` → `fetch`, `ipAddress` and `container.docker.network` → `networks`,
 * `container.docker.portMappings` → `container.portMappings`). The input must
 * have passed `readAppJson`; normalization itself never fails. PURE.
 */
import {
  APP_DEFAULTS,
  type AppSpec,
  type EnvVarValue,
  type FetchUri,
  type JsonObject,
  type JsonValue,
  type KillSelection,
  type Network,
  type PortDefinition,
  type UnreachableStrategy,
  type UpgradeStrategy,
} from './app-definition.js';
import { isObject } from './app-reads.js';
import { canonicalPathId, canonicalSegments } from './path-id.js';

export interface NormalizeOptions {
  /** The role apps get when they name none (Marathon's `--mesos_role`). @default '*' */
  defaultRole?: string;
}

/** File endings the Mesos fetcher extracts; `uris` entries ending so get `extract: true`. */
const ARCHIVE_ENDINGS = ['.tgz', '.tar.gz', '.tbz2', '.tar.bz2', '.txz', '.tar.xz', '.zip'];

function present(v: JsonValue | undefined): v is Exclude<JsonValue, null> {
  return v !== undefined && v !== null;
}

function stringMap(v: JsonValue | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObject(v)) for (const [k, e] of Object.entries(v)) if (typeof e === 'string') out[k] = e;
  return out;
}

function stringList(v: JsonValue | undefined): string[] | undefined {
  return Array.isArray(v) ? v.filter((e): e is string => typeof e === 'string') : undefined;
}

function num(v: JsonValue | undefined, fallback: number): number {
  return typeof v === 'number' ? v : fallback;
}

function objects(v: JsonValue | undefined): JsonObject[] {
  return Array.isArray(v) ? v.filter(isObject) : [];
}

function portDefinitionOf(v: JsonObject): PortDefinition {
  const def: PortDefinition = {
    port: num(v['port'], 0),
    protocol: typeof v['protocol'] === 'string' ? v['protocol'] : 'tcp',
  };
  if (typeof v['name'] === 'string') def.name = v['name'];
  if (isObject(v['labels'])) def.labels = stringMap(v['labels']);
  return def;
}

function networkOf(v: JsonObject): Network {
  const net: Network = { mode: typeof v['mode'] === 'string' ? v['mode'] : 'host' };
  if (typeof v['name'] === 'string') net.name = v['name'];
  if (isObject(v['labels'])) net.labels = stringMap(v['labels']);
  return net;
}

function fetchOf(v: JsonObject): FetchUri {
  const uri = typeof v['uri'] === 'string' ? v['uri'] : '';
  const f: FetchUri = {
    uri,
    extract: typeof v['extract'] === 'boolean' ? v['extract'] : true,
    executable: v['executable'] === true,
    cache: v['cache'] === true,
  };
  if (typeof v['destPath'] === 'string') f.destPath = v['destPath'];
  return f;
}

function fetchFromUri(uri: string): FetchUri {
  const extract = ARCHIVE_ENDINGS.some((e) => uri.toLowerCase().endsWith(e));
  return { uri, extract, executable: false, cache: false };
}

/** Whether the container asks for persistent local volumes (a resident app). */
function hasPersistentVolumes(container: JsonValue | undefined): boolean {
  return isObject(container) && objects(container['volumes']).some((v) => isObject(v['persistent']));
}

/** `networks`, or the network the deprecated `ipAddress` / `container.docker.network` imply. */
function networksOf(input: JsonObject): Network[] {
  if (Array.isArray(input['networks']) && input['networks'].length > 0)
    return objects(input['networks']).map(networkOf);
  const ipAddress = input['ipAddress'];
  if (isObject(ipAddress)) {
    const net: Network = { mode: 'container' };
    if (typeof ipAddress['networkName'] === 'string') net.name = ipAddress['networkName'];
    return [net];
  }
  const container = input['container'];
  const docker = isObject(container) ? container['docker'] : undefined;
  const legacy = isObject(docker) ? docker['network'] : undefined;
  if (legacy === 'BRIDGE') return [{ mode: 'container/bridge' }];
  if (legacy === 'USER') return [{ mode: 'container' }];
  return APP_DEFAULTS.networks.map((n) => ({ ...n }));
}

/** The container in canonical form: `docker.portMappings` moved up, `docker.network` dropped (see `networks`). */
function containerOf(v: JsonValue | undefined): JsonObject | undefined {
  if (!isObject(v)) return undefined;
  const container: JsonObject = { ...v, type: typeof v['type'] === 'string' ? v['type'] : 'DOCKER' };
  const docker = v['docker'];
  if (isObject(docker)) {
    const { network: _network, portMappings, ...rest } = docker;
    container['docker'] = rest;
    if (Array.isArray(portMappings) && !present(v['portMappings'])) container['portMappings'] = portMappings;
  }
  return container;
}

function hasPortMappings(container: JsonObject | undefined): boolean {
  return container !== undefined && Array.isArray(container['portMappings']) && container['portMappings'].length > 0;
}

/**
 * The deprecated `ipAddress.discovery.ports` become port mappings of a
 * Mesos container (Marathon's `AppNormalization`); Docker containers may not
 * use them (validation says so).
 */
function withDiscoveryPorts(
  container: JsonObject | undefined,
  ipAddress: JsonValue | undefined,
): JsonObject | undefined {
  if (!isObject(ipAddress) || !isObject(ipAddress['discovery'])) return container;
  const ports = objects(ipAddress['discovery']['ports']);
  if (ports.length === 0 || (container !== undefined && container['type'] === 'DOCKER')) return container;
  if (container !== undefined && Array.isArray(container['portMappings']) && container['portMappings'].length > 0) {
    return container;
  }
  const portMappings: JsonValue[] = ports.map((p) => {
    const m: JsonObject = { containerPort: num(p['number'], 0) };
    if (typeof p['name'] === 'string') m['name'] = p['name'];
    if (typeof p['protocol'] === 'string') m['protocol'] = p['protocol'];
    return m;
  });
  return { ...(container ?? { type: 'MESOS' }), portMappings };
}

/**
 * Port mappings of a non-host network: Marathon's default
 * `[{containerPort: 0, name: "default"}]` when none are given; on a bridge
 * network a missing `hostPort` is 0 (dynamic); `protocol` defaults to tcp.
 */
function portMappingsOf(container: JsonObject, networks: readonly Network[]): JsonValue[] {
  const given = container['portMappings'];
  const bridge = networks.some((n) => n.mode === 'container/bridge');
  const list: JsonObject[] = Array.isArray(given) ? given.filter(isObject) : [{ containerPort: 0, name: 'default' }];
  return list.map((m) => {
    const out: JsonObject = { containerPort: 0, protocol: 'tcp', servicePort: 0, ...m };
    if (bridge && (out['hostPort'] === undefined || out['hostPort'] === null)) out['hostPort'] = 0;
    return out;
  });
}

function upgradeStrategyOf(v: JsonValue | undefined, resident: boolean): UpgradeStrategy {
  const base = resident ? APP_DEFAULTS.residentUpgradeStrategy : APP_DEFAULTS.upgradeStrategy;
  if (!isObject(v)) return { ...base };
  return {
    minimumHealthCapacity: num(v['minimumHealthCapacity'], base.minimumHealthCapacity),
    maximumOverCapacity: num(v['maximumOverCapacity'], base.maximumOverCapacity),
  };
}

function unreachableStrategyOf(v: JsonValue | undefined, resident: boolean): UnreachableStrategy {
  if (v === 'disabled') return 'disabled';
  if (!isObject(v)) return resident ? 'disabled' : { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 };
  return {
    inactiveAfterSeconds: num(v['inactiveAfterSeconds'], 0),
    expungeAfterSeconds: num(v['expungeAfterSeconds'], 0),
  };
}

/** Marathon's health check defaults (`HealthCheck.scala`), per protocol. */
export function normalizeHealthCheck(hc: JsonObject, hasPorts: boolean): JsonObject {
  const protocol = typeof hc['protocol'] === 'string' ? hc['protocol'] : 'HTTP';
  const out: JsonObject = {
    gracePeriodSeconds: 300,
    intervalSeconds: 60,
    timeoutSeconds: 20,
    maxConsecutiveFailures: 3,
    delaySeconds: 15,
  };
  if (protocol !== 'COMMAND') {
    if (protocol.startsWith('MESOS_')) out['ipProtocol'] = 'IPv4';
    if (!present(hc['port']) && !present(hc['portIndex']) && hasPorts) out['portIndex'] = 0;
  }
  if (protocol === 'HTTP' || protocol === 'HTTPS' || protocol === 'MESOS_HTTP' || protocol === 'MESOS_HTTPS') {
    out['path'] = '/';
  }
  if (protocol === 'HTTP') out['ignoreHttp1xx'] = false;
  for (const [k, v] of Object.entries(hc)) if (v !== null) out[k] = v;
  out['protocol'] = protocol;
  return out;
}

/** Marathon's readiness check defaults (`ReadinessCheck.scala`). */
export function normalizeReadinessCheck(rc: JsonObject): JsonObject {
  const out: JsonObject = {
    name: 'readinessCheck',
    protocol: 'HTTP',
    path: '/',
    portName: 'http-api',
    intervalSeconds: 30,
    timeoutSeconds: 10,
    httpStatusCodesForReady: [200],
    preserveLastResponse: false,
  };
  for (const [k, v] of Object.entries(rc)) if (v !== null) out[k] = v;
  return out;
}

function envOf(v: JsonValue | undefined): Record<string, EnvVarValue> {
  const env: Record<string, EnvVarValue> = {};
  if (!isObject(v)) return env;
  for (const [k, e] of Object.entries(v)) {
    if (typeof e === 'string') env[k] = e;
    else if (isObject(e) && typeof e['secret'] === 'string') env[k] = { secret: e['secret'] };
  }
  return env;
}

/**
 * The canonical app for a (type-checked) definition. `id` is made absolute
 * (relative to the root group); `dependencies` relative to the app's group.
 */
export function normalizeApp(input: JsonObject, options: NormalizeOptions = {}): AppSpec {
  const id = canonicalPathId(typeof input['id'] === 'string' ? input['id'] : '');
  const parent = canonicalSegments(id).slice(0, -1);
  const container = withDiscoveryPorts(containerOf(input['container']), input['ipAddress']);
  const resident = isObject(input['residency']) || hasPersistentVolumes(input['container']);
  const networks = networksOf(input);
  const hostNetworking = networks.every((n) => n.mode === 'host');
  if (container !== undefined && !hostNetworking) container['portMappings'] = portMappingsOf(container, networks);

  let portDefinitions: PortDefinition[];
  if (Array.isArray(input['portDefinitions'])) {
    portDefinitions = objects(input['portDefinitions']).map(portDefinitionOf);
  } else if (Array.isArray(input['ports'])) {
    portDefinitions = input['ports']
      .filter((p): p is number => typeof p === 'number')
      .map((port) => ({ port, protocol: 'tcp' }));
  } else {
    portDefinitions = hostNetworking ? APP_DEFAULTS.portDefinitions.map((p) => ({ ...p })) : [];
  }

  let fetch: FetchUri[];
  if (Array.isArray(input['fetch']) && input['fetch'].length > 0) fetch = objects(input['fetch']).map(fetchOf);
  else fetch = (stringList(input['uris']) ?? []).map(fetchFromUri);

  const secrets: Record<string, { source: string }> = {};
  if (isObject(input['secrets'])) {
    for (const [k, s] of Object.entries(input['secrets'])) {
      if (isObject(s) && typeof s['source'] === 'string') secrets[k] = { source: s['source'] };
    }
  }

  const spec: AppSpec = {
    id,
    env: envOf(input['env']),
    instances: num(input['instances'], APP_DEFAULTS.instances),
    cpus: num(input['cpus'], APP_DEFAULTS.cpus),
    mem: num(input['mem'], APP_DEFAULTS.mem),
    disk: num(input['disk'], APP_DEFAULTS.disk),
    gpus: num(input['gpus'], APP_DEFAULTS.gpus),
    executor: typeof input['executor'] === 'string' ? input['executor'] : APP_DEFAULTS.executor,
    constraints: Array.isArray(input['constraints']) ? input['constraints'].filter((c) => Array.isArray(c)) : [],
    role: typeof input['role'] === 'string' ? input['role'] : (options.defaultRole ?? APP_DEFAULTS.role),
    fetch,
    portDefinitions,
    requirePorts: hostNetworking && input['requirePorts'] === true,
    networks,
    healthChecks: objects(input['healthChecks']).map((hc) =>
      normalizeHealthCheck(hc, portDefinitions.length > 0 || hasPortMappings(container)),
    ),
    readinessChecks: objects(input['readinessChecks']).map(normalizeReadinessCheck),
    dependencies: (stringList(input['dependencies']) ?? []).map(
      (d) => `/${canonicalSegments(d, d.startsWith('/') ? [] : parent).join('/')}`,
    ),
    upgradeStrategy: upgradeStrategyOf(input['upgradeStrategy'], resident),
    unreachableStrategy: unreachableStrategyOf(input['unreachableStrategy'], resident),
    killSelection: (typeof input['killSelection'] === 'string'
      ? input['killSelection']
      : APP_DEFAULTS.killSelection) as KillSelection,
    labels: stringMap(input['labels']),
    backoffSeconds: num(input['backoffSeconds'], APP_DEFAULTS.backoffSeconds),
    backoffFactor: num(input['backoffFactor'], APP_DEFAULTS.backoffFactor),
    maxLaunchDelaySeconds: num(input['maxLaunchDelaySeconds'], APP_DEFAULTS.maxLaunchDelaySeconds),
    secrets,
  };
  if (typeof input['cmd'] === 'string') spec.cmd = input['cmd'];
  const args = stringList(input['args']);
  if (args !== undefined && args.length > 0) spec.args = args;
  if (typeof input['user'] === 'string') spec.user = input['user'];
  const roles = stringList(input['acceptedResourceRoles']);
  if (roles !== undefined) spec.acceptedResourceRoles = roles;
  if (container !== undefined) spec.container = container;
  if (isObject(input['check'])) spec.check = input['check'];
  if (isObject(input['residency']) || resident) {
    spec.residency = {
      relaunchEscalationTimeoutSeconds: 3600,
      taskLostBehavior: 'WAIT_FOREVER',
      ...(isObject(input['residency']) ? input['residency'] : {}),
    };
  }
  if (typeof input['taskKillGracePeriodSeconds'] === 'number') {
    spec.taskKillGracePeriodSeconds = input['taskKillGracePeriodSeconds'];
  }
  if (isObject(input['resourceLimits'])) spec.resourceLimits = input['resourceLimits'];
  if (isObject(input['executorResources'])) spec.executorResources = input['executorResources'];
  if (typeof input['tty'] === 'boolean') spec.tty = input['tty'];
  return spec;
}
