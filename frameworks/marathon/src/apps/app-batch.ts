/**
 * The definitions a batch of app operations leads to, computed before
 * anything is written: each operation sees the ones before it (so service
 * ports and the shared app/group namespace are checked across the batch),
 * and the first invalid one fails the whole batch.
 */
import { AgoraError } from '@agora/common';
import type { AppDefinition, JsonObject, JsonValue } from '../model/app-definition.js';
import { isUpgrade, nextVersion } from '../model/app-json.js';
import { isObject } from '../model/app-reads.js';
import { type AppParseResult, mergeAppUpdate, type ParseAppOptions, parseAppDefinition } from '../model/app-parser.js';
import { canonicalPathId, canonicalSegments } from '../model/path-id.js';
import { residentUpdateErrors } from '../model/reservation.js';
import { assignServicePorts, type ServicePortRange } from './service-ports.js';

/** One operation of a batch (`change()` of the app manager). */
export type AppOp =
  /** Create or update; `partial` merges into the current definition (PUT's `partialUpdate`, PATCH). */
  | { op: 'put'; id: string; body: unknown; partial?: boolean; mustExist?: boolean; mustNotExist?: boolean }
  /** A new version with the same configuration (every task replaced). */
  | { op: 'restart'; id: string }
  | { op: 'delete'; id: string };

export interface AppOpOutcome {
  id: string;
  /** The definition after the batch (undefined: deleted). */
  app: AppDefinition | undefined;
  created: boolean;
  unknownFields: string[];
}

export interface BatchPlan {
  /** app id → definition before the batch (undefined: did not exist); touched apps only. */
  before: Map<string, AppDefinition | undefined>;
  /** app id → definition after the batch (undefined: deleted); touched apps only. */
  after: Map<string, AppDefinition | undefined>;
  /** Apps to restart although their definition may be unchanged. */
  restarts: Set<string>;
  outcomes: AppOpOutcome[];
}

export interface BatchContext {
  current: ReadonlyMap<string, AppDefinition>;
  now: number;
  /** Options every definition is parsed with (default role, enabled features). */
  parse: ParseAppOptions;
  servicePorts: ServicePortRange;
}

export function appNotFound(appId: string): AgoraError {
  return new AgoraError('AGORA_ERR_APP_NOT_FOUND', `App '${appId}' does not exist`);
}

export function appInvalid(result: Extract<AppParseResult, { ok: false }>): AgoraError {
  const message = result.kind === 'json' ? 'Invalid JSON' : 'Object is not valid';
  return new AgoraError('AGORA_ERR_APP_INVALID', message, {
    data: { kind: result.kind, violations: result.violations, unknownFields: result.unknownFields },
  });
}

export function planBatch(ops: readonly AppOp[], ctx: BatchContext): BatchPlan {
  const before = new Map<string, AppDefinition | undefined>();
  const after = new Map<string, AppDefinition | undefined>();
  const restarts = new Set<string>();
  const outcomes: AppOpOutcome[] = [];
  const view = (id: string): AppDefinition | undefined => (after.has(id) ? after.get(id) : ctx.current.get(id));
  const all = (): AppDefinition[] => {
    const out = new Map(ctx.current);
    for (const [id, app] of after) {
      if (app === undefined) out.delete(id);
      else out.set(id, app);
    }
    return [...out.values()];
  };
  const set = (id: string, app: AppDefinition | undefined): void => {
    if (!before.has(id)) before.set(id, ctx.current.get(id));
    after.set(id, app);
  };

  for (const o of ops) {
    const id = canonicalPathId(o.id);
    const current = view(id);
    if (o.op === 'delete') {
      if (current === undefined) throw appNotFound(id);
      set(id, undefined);
      outcomes.push({ id, app: undefined, created: false, unknownFields: [] });
      continue;
    }
    if (o.op === 'restart') {
      if (current === undefined) throw appNotFound(id);
      const version = nextVersion(ctx.now, current.version);
      set(id, { ...current, version, versionInfo: { lastScalingAt: version, lastConfigChangeAt: version } });
      restarts.add(id);
      outcomes.push({ id, app: after.get(id), created: false, unknownFields: [] });
      continue;
    }
    if (current === undefined) {
      if (o.mustExist === true) throw appNotFound(id);
      const parsed = parseAppDefinition(o.body, { ...ctx.parse, id });
      if (!parsed.ok) throw appInvalid(parsed);
      checkNamespace(parsed.spec.id, all());
      const spec = assignServicePorts(parsed.spec, all(), ctx.servicePorts);
      const version = nextVersion(ctx.now);
      const app: AppDefinition = {
        ...spec,
        version,
        versionInfo: { lastScalingAt: version, lastConfigChangeAt: version },
      };
      set(id, app);
      outcomes.push({ id, app, created: true, unknownFields: parsed.unknownFields });
      continue;
    }
    if (o.mustNotExist === true) {
      throw new AgoraError('AGORA_ERR_APP_EXISTS', `An app with id [${id}] already exists.`);
    }
    const body = o.body as JsonValue;
    const input: JsonValue = o.partial !== false && isObject(body) ? mergeAppUpdate(current, body as JsonObject) : body;
    const parsed = parseAppDefinition(input, { ...ctx.parse, id });
    if (!parsed.ok) throw appInvalid(parsed);
    const residentErrors = residentUpdateErrors(current, parsed.spec);
    if (residentErrors.length > 0) {
      throw appInvalid({
        ok: false,
        kind: 'semantic',
        violations: [{ path: '/', errors: residentErrors }],
        unknownFields: [],
      });
    }
    const spec = assignServicePorts(parsed.spec, all(), ctx.servicePorts);
    const restart = isUpgrade(current, spec);
    const version = nextVersion(ctx.now, current.version);
    const versionInfo = restart
      ? { lastScalingAt: version, lastConfigChangeAt: version }
      : {
          lastScalingAt: spec.instances !== current.instances ? version : current.versionInfo.lastScalingAt,
          lastConfigChangeAt: current.versionInfo.lastConfigChangeAt,
        };
    const app: AppDefinition = { ...spec, version, versionInfo };
    set(id, app);
    outcomes.push({ id, app, created: false, unknownFields: isObject(body) ? parsed.unknownFields : [] });
  }
  return { before, after, restarts, outcomes };
}

/** Apps and groups share one namespace: an app may not sit under another app, nor have an app under it. */
function checkNamespace(appId: string, apps: readonly AppDefinition[]): void {
  const ids = new Set(apps.map((a) => a.id));
  const segments = canonicalSegments(appId);
  for (let i = 1; i < segments.length; i++) {
    const parent = `/${segments.slice(0, i).join('/')}`;
    if (ids.has(parent)) {
      throw new AgoraError(
        'AGORA_ERR_APP_EXISTS',
        `An app with id [${parent}] already exists, so [${appId}] cannot be created under it.`,
      );
    }
  }
  for (const other of ids) {
    if (other.startsWith(`${appId}/`)) {
      throw new AgoraError('AGORA_ERR_APP_EXISTS', `A group with id [${appId}] already exists.`);
    }
  }
}
