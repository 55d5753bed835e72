/**
 * Validation of the scheduling- and check-related fields of a canonical app,
 * Marathon's messages and paths (`AppValidation.scala`,
 * `SchedulingValidation.scala`, `HealthCheck.scala`, `ReadinessCheck.scala`):
 * constraints, health checks, readiness checks, executor, gpus, networks per
 * container type, resource limits, persistent volumes. PURE.
 */
import { constraintErrors } from '../constraints/constraints.js';
import type { AppSpec, JsonObject, JsonValue } from './app-definition.js';
import { isObject } from './app-reads.js';
import type { Violations } from './violations.js';

export const MESOS_HEALTH_PROTOCOLS = ['MESOS_HTTP', 'MESOS_HTTPS', 'MESOS_TCP'] as const;
export const MSG_HEALTH_PORT_INDEX =
  'Health check port indices must address an element of the ports array or container port mappings.';
export const MSG_HEALTH_PORT_OR_INDEX = 'HealthCheck must specify either a port or a portIndex';
export const MSG_ONE_MESOS_HEALTH_CHECK = 'AppDefinition can contain at most one Mesos health check';
export const EXECUTOR_PATTERN_TEXT = '^(//cmd)|(/?[^/]+(/[^/]+)*)|$';
const EXECUTOR_RE = /^(?:\/\/cmd|\/?[^/]+(?:\/[^/]+)*|)$/;

/** The names of the app's ports: portDefinitions (host networking) or container portMappings. */
export function portNames(spec: AppSpec): Array<string | undefined> {
  const mappings = spec.container?.['portMappings'];
  if (Array.isArray(mappings) && spec.networks.some((n) => n.mode !== 'host')) {
    return mappings.map((m) => (isObject(m) && typeof m['name'] === 'string' ? m['name'] : undefined));
  }
  return spec.portDefinitions.map((p) => p.name);
}

function validateHealthChecks(spec: AppSpec, out: Violations): void {
  const ports = portNames(spec).length;
  let mesosChecks = 0;
  spec.healthChecks.forEach((hc, i) => {
    const path = `/healthChecks(${i})`;
    const protocol = typeof hc['protocol'] === 'string' ? hc['protocol'] : 'HTTP';
    if ((MESOS_HEALTH_PROTOCOLS as readonly string[]).includes(protocol)) mesosChecks++;
    if (protocol === 'COMMAND') {
      const command = hc['command'];
      if (!isObject(command) || typeof command['value'] !== 'string' || command['value'].length === 0) {
        out.add(`${path}/command`, 'not defined');
      }
      return;
    }
    const hasPort = typeof hc['port'] === 'number';
    const hasIndex = typeof hc['portIndex'] === 'number';
    if (hasPort && hasIndex) out.add(path, MSG_HEALTH_PORT_OR_INDEX);
    if (hasIndex && ((hc['portIndex'] as number) < 0 || (hc['portIndex'] as number) >= ports)) {
      out.add(path, MSG_HEALTH_PORT_INDEX);
    }
    if (!hasPort && !hasIndex && ports === 0) out.add(path, MSG_HEALTH_PORT_INDEX);
    const timeout = hc['timeoutSeconds'];
    const interval = hc['intervalSeconds'];
    if (
      typeof timeout === 'number' &&
      typeof interval === 'number' &&
      timeout >= interval &&
      protocol.startsWith('MESOS')
    ) {
      out.add(`${path}/timeoutSeconds`, `got ${timeout}, expected less than ${interval}`);
    }
  });
  if (mesosChecks > 1) out.add('/healthChecks', MSG_ONE_MESOS_HEALTH_CHECK);
}

function validateReadinessChecks(spec: AppSpec, out: Violations): void {
  if (spec.readinessChecks.length > 1) out.add('/readinessChecks', 'must be less than or equal to 1');
  const names = portNames(spec);
  spec.readinessChecks.forEach((rc, i) => {
    const path = `/readinessChecks(${i})`;
    const portName = rc['portName'];
    if (typeof portName === 'string' && !names.includes(portName)) {
      out.add(path, `No port definition reference for portName ${portName}`);
    }
    const timeout = rc['timeoutSeconds'];
    const interval = rc['intervalSeconds'];
    if (typeof timeout === 'number' && typeof interval === 'number' && timeout >= interval) {
      out.add(path, 'timeoutSeconds must be lower than intervalSeconds');
    }
    const codes = rc['httpStatusCodesForReady'];
    if (Array.isArray(codes) && codes.length === 0) out.add(`${path}/httpStatusCodesForReady`, 'must not be empty');
  });
}

function limitOf(v: JsonValue | undefined): number | 'unlimited' | undefined {
  if (v === 'unlimited') return 'unlimited';
  return typeof v === 'number' ? v : undefined;
}

function validateResourceLimits(spec: AppSpec, out: Violations): void {
  const limits = spec.resourceLimits;
  if (limits === undefined) return;
  for (const field of ['cpus', 'mem'] as const) {
    const raw = limits[field];
    if (raw === undefined || raw === null) continue;
    const limit = limitOf(raw);
    if (limit === undefined) out.add(`/resourceLimits/${field}`, 'must be a number or "unlimited"');
    else if (limit !== 'unlimited' && limit < spec[field]) {
      out.add(
        `/resourceLimits/${field}`,
        `resource limit must be greater than or equal to requested resource (${spec[field]})`,
      );
    }
  }
}

function validateVolumes(container: JsonObject, out: Violations): void {
  const volumes = container['volumes'];
  if (!Array.isArray(volumes)) return;
  volumes.forEach((v, i) => {
    if (!isObject(v)) return;
    const path = `/container/volumes(${i})`;
    const containerPath = v['containerPath'];
    if (typeof containerPath !== 'string' || containerPath.length === 0)
      out.add(`${path}/containerPath`, 'must not be empty');
    const persistent = v['persistent'];
    if (isObject(persistent)) {
      if (
        typeof containerPath === 'string' &&
        (containerPath.includes('/') || containerPath === '.' || containerPath === '..')
      ) {
        out.add(`${path}/containerPath`, 'value must not contain "/"');
      }
      if (typeof persistent['size'] !== 'number' || persistent['size'] <= 0) {
        out.add(`${path}/persistent/size`, 'must be greater than 0');
      }
      const type = persistent['type'];
      if (type !== undefined && type !== 'root' && type !== 'path' && type !== 'mount') {
        out.add(`${path}/persistent/type`, 'error.unknown.enum.literal');
      }
      if (v['mode'] !== undefined && v['mode'] !== 'RW') out.add(`${path}/mode`, 'must be RW');
    }
    const mode = v['mode'];
    if (mode !== undefined && mode !== 'RO' && mode !== 'RW') out.add(`${path}/mode`, 'error.unknown.enum.literal');
  });
}

function validatePortMappings(spec: AppSpec, out: Violations): void {
  const mappings = spec.container?.['portMappings'];
  if (!Array.isArray(mappings)) return;
  const containerNetworks = spec.networks.filter((n) => n.mode === 'container').length;
  const names = new Set<string>();
  mappings.forEach((m, i) => {
    if (!isObject(m)) return;
    const path = `/container/portMappings(${i})`;
    for (const field of ['containerPort', 'hostPort', 'servicePort'] as const) {
      const v = m[field];
      if (v !== undefined && v !== null && (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535)) {
        out.add(`${path}/${field}`, 'error.expected.int');
      }
    }
    const name = m['name'];
    if (typeof name === 'string') {
      if (names.has(name)) out.add('/container/portMappings', 'Port names must be unique.');
      names.add(name);
    }
    const networkNames = m['networkNames'];
    const count = Array.isArray(networkNames) ? networkNames.length : 0;
    if (containerNetworks > 1 && typeof m['hostPort'] === 'number' && count !== 1) {
      out.add(
        `${path}/networkNames`,
        'must have exactly 1 element when hostPort is specified and there are multiple container networks',
      );
    }
  });
}

function validateRoles(spec: AppSpec, resident: boolean, out: Violations): void {
  const roles = spec.acceptedResourceRoles;
  if (roles === undefined) return;
  if (resident && !(roles.length === 1 && roles[0] === '*')) {
    out.add('/acceptedResourceRoles', 'A resident app must have `acceptedResourceRoles = ["*"]`.');
  }
}

function validateLabels(spec: AppSpec, out: Violations): void {
  const l = spec.labels;
  if (l['DCOS_MIGRATION_API_VERSION'] !== undefined) {
    if (l['DCOS_MIGRATION_API_VERSION'] !== 'v1') out.add('/labels', 'DCOS_MIGRATION_API_VERSION must be "v1"');
    if (l['DCOS_PACKAGE_FRAMEWORK_NAME'] === undefined || l['DCOS_MIGRATION_API_PATH'] === undefined) {
      out.add(
        '/labels',
        'DCOS_PACKAGE_FRAMEWORK_NAME and DCOS_MIGRATION_API_PATH must be defined when using DCOS_MIGRATION_API_VERSION',
      );
    }
  }
}

/** The checks of this module on a canonical app. */
export function validateSchedulingAndChecks(spec: AppSpec, out: Violations): void {
  spec.constraints.forEach((c, i) => {
    for (const e of constraintErrors(c)) out.add(`/constraints(${i})`, e);
  });
  validateHealthChecks(spec, out);
  validateReadinessChecks(spec, out);
  if (!EXECUTOR_RE.test(spec.executor)) {
    out.add('/executor', `must fully match regular expression '${EXECUTOR_PATTERN_TEXT}'`);
  }
  const type = spec.container?.['type'];
  if (spec.gpus > 0 && type === 'DOCKER') out.add('/gpus', 'GPU resources only work with the Mesos containerizer');
  if (type === 'DOCKER' && spec.networks.filter((n) => n.mode === 'container').length > 1) {
    out.add('/networks', 'may only specify a single container network when using the Docker containerizer');
  }
  spec.networks.forEach((n, i) => {
    if (n.mode === 'container' && (n.name === undefined || n.name.length === 0)) {
      out.add(`/networks(${i})/name`, 'is required when mode is container (no default network name is configured)');
    }
  });
  validateResourceLimits(spec, out);
  if (spec.container !== undefined) validateVolumes(spec.container, out);
  const resident =
    spec.container !== undefined && Array.isArray(spec.container['volumes'])
      ? spec.container['volumes'].some((v) => isObject(v) && isObject(v['persistent']))
      : false;
  validatePortMappings(spec, out);
  validateRoles(spec, resident, out);
  validateLabels(spec, out);
  if (resident && spec.unreachableStrategy !== 'disabled') {
    out.add('/unreachableStrategy', 'unreachableStrategy must be disabled for resident apps');
  }
}
