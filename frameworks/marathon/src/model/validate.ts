/**
 * Semantic validation of app definitions, with Marathon's messages and paths
 * (`api/v2/validation/AppValidation.scala`, `state/PathId.scala`,
 * `EnvVarValidation.scala`). Two passes, as in Marathon: checks of the
 * deprecated API on the input as sent, then checks of the canonical app.
 * This slice validates ids, cmd/args/container, env, ports and port
 * definitions, labels, the cheap container rules and the single-instance
 * label; health checks, constraints and volumes are validated in a later
 * issue. PURE.
 */
import type { AppSpec, JsonObject, JsonValue } from './app-definition.js';
import { isObject } from './app-reads.js';
import { pathIdErrors } from './path-id.js';
import { secretPathError } from './secret-volumes.js';
import { validateSchedulingAndChecks } from './validate-checks.js';
import { childPath, type Violations } from './violations.js';

/** Port names (`portDefinitions[].name`), as Marathon checks them. */
export const PORT_NAME_PATTERN_TEXT = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const PORT_NAME_RE = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;

export const MSG_CMD_ARGS_CONTAINER = "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.";
export const MSG_PORTS_AND_DEFINITIONS = 'cannot specify both ports and port definitions';
export const MSG_NOT_ROOT = 'must not be root';

function nonEmptyArray(v: JsonValue | undefined): boolean {
  return Array.isArray(v) && v.length > 0;
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Checks of deprecated fields, made on the definition as sent (`validateOldAppAPI`). */
export function validateAppInput(input: JsonObject, out: Violations): void {
  const ports = Array.isArray(input['ports']) ? input['ports'].filter((p): p is number => typeof p === 'number') : [];
  const definitions = Array.isArray(input['portDefinitions']) ? input['portDefinitions'] : undefined;
  const container = isObject(input['container']) ? input['container'] : undefined;
  const docker = container !== undefined && isObject(container['docker']) ? container['docker'] : undefined;
  const type = container !== undefined && typeof container['type'] === 'string' ? container['type'] : 'DOCKER';
  const ipAddress = isObject(input['ipAddress']) ? input['ipAddress'] : undefined;

  if (docker !== undefined) {
    if (docker['credential'] !== undefined && docker['credential'] !== null) {
      out.add('/container/docker/credential', 'must be empty');
    }
    if (type === 'MESOS') {
      for (const field of ['network', 'parameters', 'portMappings']) {
        const v = docker[field];
        if (v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0)) {
          out.add(`/container/docker/${field}`, 'must be empty');
        }
      }
    }
  }
  const discovery = ipAddress?.['discovery'];
  if (discovery !== undefined && discovery !== null && container !== undefined && type === 'DOCKER') {
    out.add('/ipAddress', 'ipAddress/discovery is not allowed for Docker containers');
  }
  if (nonEmptyArray(input['uris']) && nonEmptyArray(input['fetch'])) {
    out.add('/uris', 'may not be set in conjunction with fetch');
  }
  if (
    docker !== undefined &&
    docker['network'] !== undefined &&
    docker['network'] !== null &&
    nonEmptyArray(input['networks'])
  ) {
    out.add('/', 'must not specify both container.docker.network and networks');
  }
  if (ipAddress !== undefined && nonEmptyArray(input['networks'])) {
    out.add('/', 'must not specify both networks and ipAddress');
  }
  const nonRandom = ports.filter((p) => p !== 0);
  if (new Set(nonRandom).size !== nonRandom.length) out.add('/', 'ports must be unique');
  if (ipAddress !== undefined && (ports.length > 0 || nonEmptyArray(definitions))) {
    out.add('/', 'cannot specify both an IP address and port');
  }
  if (Array.isArray(input['ports']) && definitions !== undefined) {
    const defined = definitions.map((d) => (isObject(d) && typeof d['port'] === 'number' ? d['port'] : 0));
    if (!sameNumbers(defined, ports)) out.add('/', MSG_PORTS_AND_DEFINITIONS);
  }
}

/** Whether the container names an image (so it may run without `cmd`/`args`). */
function containerHasImage(container: JsonObject | undefined): boolean {
  if (container === undefined) return false;
  const type = container['type'];
  const docker = container['docker'];
  const appc = container['appc'];
  if (type === 'DOCKER') return isObject(docker);
  return isObject(docker) !== isObject(appc);
}

function validateContainer(container: JsonObject, out: Violations): void {
  const docker = container['docker'];
  if (container['type'] === 'DOCKER' && !isObject(docker)) out.add('/container/docker', 'not defined');
  if (isObject(docker) && (typeof docker['image'] !== 'string' || docker['image'].length === 0)) {
    out.add('/container/docker/image', 'must not be empty');
  }
  if (container['type'] === 'DOCKER' && isObject(docker) && isObject(docker['pullConfig'])) {
    out.add('/container/docker/pullConfig', 'pullConfig is not supported with Docker containerizer');
  }
}

/** Marathon's message when a feature is used without `--enable_features` (the stray ')' is Marathon's). */
export function featureNotEnabled(feature: string): string {
  return `Feature ${feature} is not enabled. Enable with --enable_features ${feature})`;
}

function validateEnv(spec: AppSpec, out: Violations, features: readonly string[]): void {
  const secretsEnabled = features.includes('secrets');
  let secretRefs = 0;
  for (const [name, value] of Object.entries(spec.env)) {
    if (name.length === 0) out.add('/env', 'environment variable name must not be empty');
    else if (name.length >= 255) out.add(childPath('/env', name), 'environment variable name must be shorter than 255');
    if (typeof value === 'string') continue;
    secretRefs++;
    if (secretsEnabled && spec.secrets[value.secret] === undefined) {
      out.add(childPath('/env', name), `references an undefined secret named '${value.secret}'`);
    }
  }
  if (secretRefs > 0 && !secretsEnabled) {
    out.add('/env', 'use of secret-references in the environment requires the secrets feature to be enabled');
  }
}

/** A MESOS container's `docker.pullConfig` names a secret: needs the feature and an entry in `secrets`. */
function validatePullConfig(spec: AppSpec, input: JsonObject, out: Violations, features: readonly string[]): void {
  const container = isObject(input['container']) ? input['container'] : undefined;
  const docker = container !== undefined && isObject(container['docker']) ? container['docker'] : undefined;
  const pull = docker !== undefined && isObject(docker['pullConfig']) ? docker['pullConfig'] : undefined;
  if (pull === undefined || container?.['type'] !== 'MESOS') return;
  if (!features.includes('secrets')) {
    out.add('/container/docker/pullConfig', 'must be empty');
    out.add('/container/docker/pullConfig', featureNotEnabled('secrets'));
  } else if (typeof pull['secret'] !== 'string' || spec.secrets[pull['secret']] === undefined) {
    out.add('/container/docker/pullConfig', 'pullConfig.secret must refer to an existing secret');
  }
}

/**
 * Secret volumes `{containerPath, secret}`: need the feature and a secret of that name in `secrets`; the
 * path must be relative, inside the sandbox (we have no container image to mount into).
 */
function validateSecretVolumes(spec: AppSpec, out: Violations, features: readonly string[]): void {
  const volumes = spec.container?.['volumes'];
  if (!Array.isArray(volumes)) return;
  volumes.forEach((v, i) => {
    if (!isObject(v) || v['secret'] === undefined || v['secret'] === null) return;
    const path = `/container/volumes(${i})`;
    if (!features.includes('secrets')) out.add(`${path}/secret`, featureNotEnabled('secrets'));
    else if (typeof v['secret'] !== 'string' || spec.secrets[v['secret']] === undefined) {
      out.add(`${path}/secret`, 'volume.secret must refer to an existing secret');
    }
    if (typeof v['containerPath'] === 'string') {
      const bad = secretPathError(v['containerPath']);
      if (bad !== undefined && v['containerPath'] !== '') out.add(`${path}/containerPath`, bad);
    }
  });
}

function validateSecrets(spec: AppSpec, out: Violations, features: readonly string[]): void {
  const names = Object.keys(spec.secrets);
  if (names.length === 0) return;
  if (!features.includes('secrets')) {
    out.add('/secrets', featureNotEnabled('secrets'));
    return;
  }
  for (const name of names) {
    if (name === '') out.add('/secrets', 'secret names must not be empty');
    else if (spec.secrets[name]!.source === '') out.add(`${childPath('/secrets', name)}/source`, 'must not be empty');
  }
}

function validatePortDefinitions(spec: AppSpec, out: Violations): void {
  const names = new Set<string>();
  const ports = new Set<number>();
  let duplicateName = false;
  let duplicatePort = false;
  spec.portDefinitions.forEach((def, i) => {
    if (def.name !== undefined) {
      if (!PORT_NAME_RE.test(def.name)) {
        out.add(`/portDefinitions(${i})/name`, `must fully match regular expression '${PORT_NAME_PATTERN_TEXT}'`);
      }
      if (names.has(def.name)) duplicateName = true;
      names.add(def.name);
    }
    if (def.port !== 0) {
      if (ports.has(def.port)) duplicatePort = true;
      ports.add(def.port);
    }
  });
  if (duplicateName) out.add('/portDefinitions', 'Port names must be unique.');
  if (duplicatePort) out.add('/portDefinitions', 'Ports must be unique.');
}

/** Checks of the canonical app (`validateCanonicalAppAPI` and `AppDefinition.validAppDefinition`). */
export interface ValidateOptions {
  /** `--enable_features` (e.g. `secrets`). @default none */
  enabledFeatures?: readonly string[];
}

export function validateAppSpec(
  spec: AppSpec,
  input: JsonObject,
  out: Violations,
  options: ValidateOptions = {},
): void {
  const features = options.enabledFeatures ?? [];
  const idText = typeof input['id'] === 'string' ? input['id'] : spec.id;
  for (const e of pathIdErrors(idText)) out.add('/id', e);
  if (spec.id === '/') out.add('/', MSG_NOT_ROOT);
  spec.dependencies.forEach((d, i) => {
    for (const e of pathIdErrors(d)) out.add(`/dependencies(${i})`, e);
  });

  const hasCmd = spec.cmd !== undefined && spec.cmd.length > 0;
  const hasArgs = spec.args !== undefined && spec.args.length > 0;
  if (spec.cmd !== undefined && spec.cmd.length === 0) out.add('/cmd', 'must not be an empty string');
  if (!(hasCmd !== hasArgs || (!(hasCmd && hasArgs) && containerHasImage(spec.container)))) {
    out.add('/', MSG_CMD_ARGS_CONTAINER);
  }
  if (spec.container !== undefined) validateContainer(spec.container, out);

  validateEnv(spec, out, features);
  validateSecrets(spec, out, features);
  validatePullConfig(spec, input, out, features);
  validateSecretVolumes(spec, out, features);
  validatePortDefinitions(spec, out);

  const hostNetworking = spec.networks.every((n) => n.mode === 'host');
  const mappings = spec.container?.['portMappings'];
  if (spec.networks.some((n) => n.mode === 'host') && Array.isArray(mappings) && mappings.length > 0) {
    out.add('/', 'portMappings are not allowed with host-networking');
  }
  if (!hostNetworking && spec.portDefinitions.length > 0) {
    out.add('/', 'portDefinitions are only allowed with host-networking');
  }
  spec.networks.forEach((n, i) => {
    if (n.mode === 'host' && spec.networks.length > 1)
      out.add(`/networks(${i})`, 'host networking may not be combined with other networks');
  });

  if (spec.acceptedResourceRoles !== undefined) {
    if (spec.acceptedResourceRoles.length === 0) out.add('/acceptedResourceRoles', 'must not be empty');
    if (new Set(spec.acceptedResourceRoles).size !== spec.acceptedResourceRoles.length) {
      out.add('/acceptedResourceRoles', 'elements must be unique');
    }
    // Marathon 1.9+: only unreserved resources or those reserved for the app's own role can be used.
    if (spec.acceptedResourceRoles.some((r) => r !== '*' && r !== spec.role)) {
      const allowed = spec.role === '*' ? '*' : `* and ${spec.role}`;
      out.add('/acceptedResourceRoles', `acceptedResourceRoles can only contain ${allowed}`);
    }
  }
  if (spec.unreachableStrategy !== 'disabled') {
    const { inactiveAfterSeconds, expungeAfterSeconds } = spec.unreachableStrategy;
    if (expungeAfterSeconds < inactiveAfterSeconds) {
      out.add(
        '/unreachableStrategy/expungeAfterSeconds',
        `got ${expungeAfterSeconds}, expected ${inactiveAfterSeconds} or more`,
      );
    }
  }
  if (spec.labels['MARATHON_SINGLE_INSTANCE_APP'] === 'true') {
    if (spec.instances > 1) out.add('/', 'Single instance app may only have one instance');
    const { minimumHealthCapacity, maximumOverCapacity } = spec.upgradeStrategy;
    if (minimumHealthCapacity !== 0) {
      out.add('/upgradeStrategy/minimumHealthCapacity', `got ${minimumHealthCapacity}, expected 0.0`);
    }
    if (maximumOverCapacity !== 0) {
      out.add('/upgradeStrategy/maximumOverCapacity', `got ${maximumOverCapacity}, expected 0.0`);
    }
  }
  if (spec.residency !== undefined && spec.upgradeStrategy.maximumOverCapacity !== 0) {
    out.add('/upgradeStrategy/maximumOverCapacity', `got ${spec.upgradeStrategy.maximumOverCapacity}, expected 0.0`);
  }
  spec.fetch.forEach((f, i) => {
    if (f.uri.length === 0 || f.uri.length > 1024) out.add(`/fetch(${i})/uri`, 'must be a URI of 1 to 1024 characters');
  });
  validateSchedulingAndChecks(spec, out);
}
