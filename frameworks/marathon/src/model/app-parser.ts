/**
 * From a request body to a canonical app, or Marathon's violations: the
 * whole pipeline in one place. Unknown top-level fields are dropped, as
 * Marathon does, and returned so the API can name them. PURE.
 *
 * ```
 * raw JSON ─► object? ─► drop unknown fields ─► JSON reads (types, ranges)  → 422 "Invalid JSON"
 *                                            └► deprecated-API checks ─► normalize ─► canonical checks → 422 "Object is not valid"
 * ```
 */
import {
  type AppDefinition,
  type AppSpec,
  type JsonObject,
  type JsonValue,
  KNOWN_APP_FIELDS,
} from './app-definition.js';
import { appToJson } from './app-json.js';
import { E_OBJECT, isObject, readAppJson } from './app-reads.js';
import { type NormalizeOptions, normalizeApp } from './normalize.js';
import { type RoleResolver, roleViolation } from './role-settings.js';
import { type ValidateOptions, validateAppInput, validateAppSpec } from './validate.js';
import { canonicalPathId } from './path-id.js';
import { type Violation, Violations } from './violations.js';

export interface ParseAppOptions extends NormalizeOptions, ValidateOptions {
  /** The id to use instead of the body's (PUT: the path wins). */
  id?: string;
  /**
   * Marathon 1.9+ roles: the default role and the valid roles of the app
   * (`role-settings.ts`); when given it replaces `defaultRole` and a role
   * outside the valid ones is a violation at `/role`.
   */
  roles?: RoleResolver;
  /** The `enforceRole` the app's top-level group gets in the same change (passed to `roles`). */
  enforceRole?: boolean;
}

/** `json`: the body has the wrong shape (Marathon's "Invalid JSON"); `semantic`: "Object is not valid". */
export type AppParseFailureKind = 'json' | 'semantic';

export type AppParseResult =
  | { ok: true; spec: AppSpec; unknownFields: string[] }
  | { ok: false; kind: AppParseFailureKind; violations: Violation[]; unknownFields: string[] };

/** Parse, normalize and validate an app definition body. */
export function parseAppDefinition(raw: unknown, options: ParseAppOptions = {}): AppParseResult {
  if (!isObject(raw as JsonValue)) {
    return { ok: false, kind: 'json', violations: [{ path: '/', errors: [E_OBJECT] }], unknownFields: [] };
  }
  const body = raw as JsonObject;
  const unknownFields = Object.keys(body).filter((k) => !KNOWN_APP_FIELDS.has(k));
  const input: JsonObject = {};
  for (const [k, v] of Object.entries(body)) if (KNOWN_APP_FIELDS.has(k)) input[k] = v;
  if (options.id !== undefined) input['id'] = options.id;

  const reads = new Violations();
  readAppJson(input, reads, { requireId: true });
  if (!reads.isEmpty) return { ok: false, kind: 'json', violations: reads.toArray(), unknownFields };

  const out = new Violations();
  validateAppInput(input, out);
  const roles =
    options.roles !== undefined && typeof input['id'] === 'string'
      ? options.roles(canonicalPathId(input['id']), options.enforceRole)
      : undefined;
  const spec = normalizeApp(input, roles === undefined ? options : { ...options, defaultRole: roles.defaultRole });
  validateAppSpec(spec, input, out, options);
  const badRole = roles === undefined ? undefined : roleViolation(spec.role, roles);
  if (badRole !== undefined) out.add('/role', badRole);
  if (!out.isEmpty) return { ok: false, kind: 'semantic', violations: out.toArray(), unknownFields };
  return { ok: true, spec, unknownFields };
}

/** Fields that replace each other: giving the first in an update drops the second from the current app. */
const REPLACES: ReadonlyArray<[string, string]> = [
  ['ports', 'portDefinitions'],
  ['uris', 'fetch'],
  ['ipAddress', 'networks'],
  ['cmd', 'args'],
  ['args', 'cmd'],
];

/**
 * The body a partial update (`PUT /v2/apps/{id}`, `partialUpdate=true`)
 * stands for: the current app as JSON with the update's fields laid over it.
 * Fields absent (or null) in the update keep their current values; a
 * deprecated field in the update replaces its canonical counterpart
 * (`ports` → `portDefinitions`, `uris` → `fetch`, `ipAddress` → `networks`),
 * and `cmd`/`args` replace each other.
 */
export function mergeAppUpdate(current: AppDefinition, update: JsonObject): JsonObject {
  const { version: _v, versionInfo: _vi, ...base } = appToJson(current);
  for (const [field, replaced] of REPLACES) {
    if (
      update[field] !== undefined &&
      update[field] !== null &&
      (update[replaced] === undefined || update[replaced] === null)
    ) {
      delete base[replaced];
    }
  }
  const container = update['container'];
  if (isObject(container) && isObject(container['docker']) && container['docker']['network'] !== undefined) {
    if (update['networks'] === undefined || update['networks'] === null) delete base['networks'];
  }
  if (update['networks'] !== undefined && update['networks'] !== null && update['portDefinitions'] === undefined) {
    delete base['portDefinitions'];
  }
  const merged: JsonObject = { ...base };
  for (const [k, v] of Object.entries(update)) if (v !== null) merged[k] = v;
  return merged;
}
