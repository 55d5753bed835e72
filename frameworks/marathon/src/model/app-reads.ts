/**
 * The JSON "reads" of an app definition: the shape checks Marathon's
 * Play-JSON readers make before any semantic validation. A wrong JSON type
 * gives Play's error keys at the field's path (`/id` → `error.expected.jsstring`,
 * a non-integer → `error.expected.int`, a bad enum → `error.unknown.enum.literal`,
 * out of range → `error.min` / `error.max`); Marathon answers these with 422
 * `{"message":"Invalid JSON","details":[…]}`. `null` counts as absent, as in
 * Marathon's optional fields. PURE.
 */
import type { JsonObject, JsonValue } from './app-definition.js';
import { childPath, type Violations } from './violations.js';

export const E_STRING = 'error.expected.jsstring';
export const E_NUMBER = 'error.expected.jsnumber';
export const E_INT = 'error.expected.int';
export const E_BOOLEAN = 'error.expected.jsboolean';
export const E_ARRAY = 'error.expected.jsarray';
export const E_OBJECT = 'error.expected.jsobject';
export const E_ENUM = 'error.unknown.enum.literal';
export const E_MIN = 'error.min';
export const E_MAX = 'error.max';
export const E_MISSING = 'error.path.missing';

/** A check of one JSON value at a path; it reports into `out`. */
type Read = (value: JsonValue, path: string, out: Violations) => void;

export function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const str: Read = (v, p, out) => {
  if (typeof v !== 'string') out.add(p, E_STRING);
};
const bool: Read = (v, p, out) => {
  if (typeof v !== 'boolean') out.add(p, E_BOOLEAN);
};
const obj: Read = (v, p, out) => {
  if (!isObject(v)) out.add(p, E_OBJECT);
};

function num(min?: number, max?: number): Read {
  return (v, p, out) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return out.add(p, E_NUMBER);
    if (min !== undefined && v < min) out.add(p, E_MIN);
    if (max !== undefined && v > max) out.add(p, E_MAX);
  };
}

function int(min?: number, max?: number): Read {
  return (v, p, out) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return out.add(p, E_NUMBER);
    if (!Number.isInteger(v)) return out.add(p, E_INT);
    if (min !== undefined && v < min) out.add(p, E_MIN);
    if (max !== undefined && v > max) out.add(p, E_MAX);
  };
}

function oneOf(...values: string[]): Read {
  return (v, p, out) => {
    if (typeof v !== 'string') out.add(p, E_STRING);
    else if (!values.includes(v)) out.add(p, E_ENUM);
  };
}

function arrayOf(item: Read): Read {
  return (v, p, out) => {
    if (!Array.isArray(v)) return out.add(p, E_ARRAY);
    v.forEach((e, i) => {
      item(e, childPath(p, i), out);
    });
  };
}

function mapOf(item: Read): Read {
  return (v, p, out) => {
    if (!isObject(v)) return out.add(p, E_OBJECT);
    for (const [k, e] of Object.entries(v)) item(e, childPath(p, k), out);
  };
}

/** An object with typed fields; `required` fields report `error.path.missing`. Other fields are kept unchecked. */
function fields(shape: Record<string, Read>, required: readonly string[] = []): Read {
  return (v, p, out) => {
    if (!isObject(v)) return out.add(p, E_OBJECT);
    for (const name of required) {
      if (v[name] === undefined || v[name] === null) out.add(childPath(p, name), E_MISSING);
    }
    for (const [name, read] of Object.entries(shape)) {
      const field = v[name];
      if (field !== undefined && field !== null) read(field, childPath(p, name), out);
    }
  };
}

const labels = mapOf(str);

const envValue: Read = (v, p, out) => {
  if (typeof v === 'string') return;
  if (isObject(v) && typeof v['secret'] === 'string') return;
  out.add(p, E_STRING);
};

const portDefinition = fields({ port: int(0, 65535), protocol: oneOf('tcp', 'udp', 'udp,tcp'), name: str, labels });

const network = fields({ mode: oneOf('host', 'container', 'container/bridge'), name: str, labels });

const fetchUri = fields({ uri: str, extract: bool, executable: bool, cache: bool, destPath: str }, ['uri']);

const upgradeStrategy = fields({ minimumHealthCapacity: num(0, 1), maximumOverCapacity: num(0, 1) });

const unreachableStrategy: Read = (v, p, out) => {
  if (typeof v === 'string') {
    if (v !== 'disabled') out.add(p, E_ENUM);
    return;
  }
  fields({ inactiveAfterSeconds: int(0), expungeAfterSeconds: int(0) })(v, p, out);
};

const constraint: Read = (v, p, out) => {
  if (!Array.isArray(v)) return out.add(p, E_ARRAY);
  v.forEach((e, i) => {
    str(e, childPath(p, i), out);
  });
};

const HEALTH_PROTOCOLS = ['HTTP', 'HTTPS', 'TCP', 'COMMAND', 'MESOS_HTTP', 'MESOS_HTTPS', 'MESOS_TCP'];

const healthCheck = fields({
  protocol: oneOf(...HEALTH_PROTOCOLS),
  path: str,
  portIndex: int(0),
  port: int(0, 65535),
  gracePeriodSeconds: int(0),
  intervalSeconds: int(0),
  timeoutSeconds: int(0),
  maxConsecutiveFailures: int(0),
  delaySeconds: int(0),
  ignoreHttp1xx: bool,
  ipProtocol: oneOf('IPv4', 'IPv6'),
  command: obj,
});

const readinessCheck = fields({
  name: str,
  protocol: oneOf('HTTP', 'HTTPS'),
  path: str,
  portName: str,
  intervalSeconds: int(1),
  timeoutSeconds: int(1),
  httpStatusCodesForReady: arrayOf(int(100, 999)),
  preserveLastResponse: bool,
});

const residency = fields({
  relaunchEscalationTimeoutSeconds: int(0),
  taskLostBehavior: oneOf('WAIT_FOREVER', 'RELAUNCH_AFTER_TIMEOUT'),
});

/** The reads of every top-level field this slice checks; other known fields are taken as they are. */
const APP_FIELD_READS: Record<string, Read> = {
  id: str,
  cmd: str,
  args: arrayOf(str),
  user: str,
  env: mapOf(envValue),
  instances: int(0),
  cpus: num(0),
  mem: num(0),
  disk: num(0),
  gpus: int(0),
  executor: str,
  constraints: arrayOf(constraint),
  acceptedResourceRoles: arrayOf(str),
  role: str,
  fetch: arrayOf(fetchUri),
  uris: arrayOf(str),
  storeUrls: arrayOf(str),
  portDefinitions: arrayOf(portDefinition),
  ports: arrayOf(int(0, 65535)),
  requirePorts: bool,
  networks: arrayOf(network),
  ipAddress: obj,
  container: fields({ type: oneOf('DOCKER', 'MESOS'), docker: obj, portMappings: arrayOf(obj), volumes: arrayOf(obj) }),
  healthChecks: arrayOf(healthCheck),
  check: obj,
  readinessChecks: arrayOf(readinessCheck),
  dependencies: arrayOf(str),
  upgradeStrategy,
  labels,
  backoffSeconds: num(0),
  backoffFactor: num(1),
  maxLaunchDelaySeconds: num(0),
  killSelection: oneOf('YOUNGEST_FIRST', 'OLDEST_FIRST'),
  unreachableStrategy,
  residency,
  taskKillGracePeriodSeconds: int(0),
  executorResources: fields({ cpus: num(0.1), mem: num(32), disk: num(10) }),
  secrets: mapOf(fields({ source: str }, ['source'])),
  resourceLimits: obj,
  tty: bool,
};

/**
 * Check the JSON types of an app definition's fields (top level and the
 * nested shapes this slice uses). `requireId` is set for creation bodies.
 */
export function readAppJson(input: JsonObject, out: Violations, options: { requireId: boolean }): void {
  if (options.requireId && (input['id'] === undefined || input['id'] === null)) out.add('/id', E_MISSING);
  for (const [name, read] of Object.entries(APP_FIELD_READS)) {
    const value = input[name];
    if (value !== undefined && value !== null) read(value, `/${name}`, out);
  }
}
