/**
 * The Marathon app definition as Agora stores and serves it: the canonical
 * form after normalization (`api/v2/AppNormalization.scala`), every default
 * filled in. Fields this slice does not act on yet (container, health and
 * readiness checks, constraints, …) are kept verbatim and echoed back.
 * PURE: types and constants only.
 */

/** A JSON value as parsed by `JSON.parse`. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** An environment variable value: a string, or a reference to a secret. */
export type EnvVarValue = string | { secret: string };

export interface PortDefinition {
  /** 0 = dynamic; after creation the assigned service port. */
  port: number;
  /** `tcp`, `udp` or `udp,tcp`. @default 'tcp' */
  protocol: string;
  name?: string;
  labels?: Record<string, string>;
}

export interface Network {
  /** `host`, `container` or `container/bridge`. */
  mode: string;
  name?: string;
  labels?: Record<string, string>;
}

export interface FetchUri {
  uri: string;
  extract: boolean;
  executable: boolean;
  cache: boolean;
  destPath?: string;
}

export interface UpgradeStrategy {
  minimumHealthCapacity: number;
  maximumOverCapacity: number;
}

export type UnreachableStrategy = { inactiveAfterSeconds: number; expungeAfterSeconds: number } | 'disabled';

export type KillSelection = 'YOUNGEST_FIRST' | 'OLDEST_FIRST';
export const KILL_SELECTIONS: readonly KillSelection[] = ['YOUNGEST_FIRST', 'OLDEST_FIRST'];

export interface VersionInfo {
  lastScalingAt: string;
  lastConfigChangeAt: string;
}

/** An app definition without its version stamps: what a client asks for, in canonical form. */
export interface AppSpec {
  /** Absolute canonical path id, e.g. `/web`. */
  id: string;
  cmd?: string;
  args?: string[];
  user?: string;
  env: Record<string, EnvVarValue>;
  instances: number;
  cpus: number;
  mem: number;
  disk: number;
  gpus: number;
  executor: string;
  constraints: JsonValue[][];
  acceptedResourceRoles?: string[];
  role: string;
  fetch: FetchUri[];
  portDefinitions: PortDefinition[];
  requirePorts: boolean;
  networks: Network[];
  container?: JsonObject;
  healthChecks: JsonObject[];
  check?: JsonObject;
  readinessChecks: JsonObject[];
  dependencies: string[];
  upgradeStrategy: UpgradeStrategy;
  unreachableStrategy: UnreachableStrategy;
  killSelection: KillSelection;
  labels: Record<string, string>;
  backoffSeconds: number;
  backoffFactor: number;
  maxLaunchDelaySeconds: number;
  residency?: JsonObject;
  taskKillGracePeriodSeconds?: number;
  secrets: Record<string, { source: string }>;
  resourceLimits?: JsonObject;
  executorResources?: JsonObject;
  tty?: boolean;
}

/** A stored app: the spec plus its version (ISO-8601 with millis) and version info. */
export interface AppDefinition extends AppSpec {
  version: string;
  versionInfo: VersionInfo;
}

/** Defaults of normalization (Marathon's defaults with its default flags). */
export const APP_DEFAULTS = {
  instances: 1,
  cpus: 1,
  mem: 128,
  disk: 0,
  gpus: 0,
  executor: '',
  requirePorts: false,
  backoffSeconds: 1,
  backoffFactor: 1.15,
  maxLaunchDelaySeconds: 300,
  killSelection: 'YOUNGEST_FIRST' as KillSelection,
  role: '*',
  upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 1 } as UpgradeStrategy,
  residentUpgradeStrategy: { minimumHealthCapacity: 0.5, maximumOverCapacity: 0 } as UpgradeStrategy,
  unreachableStrategy: { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 } as UnreachableStrategy,
  /** For host networking when neither `ports` nor `portDefinitions` is given. */
  portDefinitions: [{ port: 0, name: 'default', protocol: 'tcp' }] as PortDefinition[],
  networks: [{ mode: 'host' }] as Network[],
} as const;

/**
 * Every top-level field Marathon knows in an app definition (RAML `App`),
 * including deprecated and read-only ones, which it accepts and ignores.
 * Anything else is unknown: Marathon silently drops it; Agora drops it too
 * and names it in the `X-Agora-Unknown-Fields` response header.
 */
export const KNOWN_APP_FIELDS: ReadonlySet<string> = new Set([
  'id',
  'cmd',
  'args',
  'user',
  'env',
  'instances',
  'cpus',
  'mem',
  'disk',
  'gpus',
  'executor',
  'executorResources',
  'constraints',
  'acceptedResourceRoles',
  'role',
  'fetch',
  'uris',
  'storeUrls',
  'portDefinitions',
  'ports',
  'requirePorts',
  'networks',
  'ipAddress',
  'container',
  'healthChecks',
  'check',
  'readinessChecks',
  'dependencies',
  'upgradeStrategy',
  'labels',
  'backoffSeconds',
  'backoffFactor',
  'maxLaunchDelaySeconds',
  'killSelection',
  'unreachableStrategy',
  'residency',
  'taskKillGracePeriodSeconds',
  'secrets',
  'resourceLimits',
  'tty',
  'version',
  'versionInfo',
  // read-only, present in GET responses that clients send back
  'tasksStaged',
  'tasksRunning',
  'tasksHealthy',
  'tasksUnhealthy',
  'deployments',
  'readinessCheckResults',
  'tasks',
  'lastTaskFailure',
  'taskStats',
]);
