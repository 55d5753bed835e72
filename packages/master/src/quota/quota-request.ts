/**
 * Parsing and validating operator quota and weight requests (pure). Accepted
 * quota bodies (JSON):
 *  - Mesos 1.9+ UPDATE_QUOTA: `{"type":"UPDATE_QUOTA","update_quota":{"force":false,"quota_configs":[
 *      {"role":"dev","guarantees":{"cpus":{"value":2}},"limits":{"cpus":{"value":4}}}]}}`
 *  - one config: `{"role":"dev","guarantees":{...},"limits":{...},"force":false}`; amounts may be
 *    `{"value": n}` or a plain number;
 *  - legacy SET_QUOTA (/quota POST before 1.9): `{"role":"dev","guarantee":[{"name":"cpus","type":"SCALAR",
 *    "scalar":{"value":2}}],"force":true}` (Resource list; `limit` likewise).
 * Errors: AGORA_ERR_INVALID_JSON / AGORA_ERR_BAD_REQUEST (400) for bad shapes and values,
 * AGORA_ERR_UNPROCESSABLE (422) for a guarantee above its limit.
 */
import { AgoraError } from '@agora/common';
import type { QuantityMap } from '../allocator/index.js';

export interface QuotaRequest {
  role: string;
  guarantees: Record<string, number>;
  limits: Record<string, number>;
}

export interface QuotaUpdate {
  configs: QuotaRequest[];
  /** Skip the check that guarantees fit in the cluster. */
  force: boolean;
  /** Whether the body was a Mesos 1.9+ UPDATE_QUOTA call (which sets or replaces, whatever the method). */
  isUpdateCall: boolean;
}

export interface WeightRequest {
  role: string;
  weight: number;
}

const ROLE_RE = /^[A-Za-z0-9_.\-/]+$/;
const NAME_RE = /^[A-Za-z0-9_.\-/]+$/;

export function badRequest(message: string, data: Record<string, unknown> = {}): AgoraError {
  return new AgoraError('AGORA_ERR_BAD_REQUEST', message, { data });
}

/** A role that quota or weights may be set for: not '*', a valid path of non-empty segments, not '.'/'..'. */
export function checkQuotaRole(role: unknown, where = 'role'): string {
  if (typeof role !== 'string' || role === '') throw badRequest(`${where} must be a non-empty string`);
  if (role === '*') throw badRequest(`${where}: quota and weights cannot be set for the default role '*'`);
  const segments = role.split('/');
  if (!ROLE_RE.test(role) || segments.some((s) => s === '' || s === '.' || s === '..' || s.startsWith('-'))) {
    throw badRequest(
      `${where} '${role}' is not a valid role (letters, digits, '_', '.', '-', '/' between non-empty parts)`,
      {
        role,
      },
    );
  }
  return role;
}

export function parseJson(text: string): unknown {
  if (text.trim() === '') throw new AgoraError('AGORA_ERR_INVALID_JSON', 'the request body is empty: JSON expected');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new AgoraError('AGORA_ERR_INVALID_JSON', `the request body is not valid JSON: ${(err as Error).message}`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function amount(v: unknown, where: string): number {
  const n = isObject(v) ? v.value : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) {
    throw badRequest(`${where} must be a finite, non-negative number (or {"value": n})`);
  }
  return Math.round(n * 1000) / 1000;
}

/** A quantities map (`{"cpus":{"value":1}}` / `{"cpus":1}`) or a Resource list of SCALARs. */
export function parseQuantities(v: unknown, where: string): Record<string, number> {
  const out: Record<string, number> = {};
  if (v === undefined || v === null) return out;
  if (Array.isArray(v)) {
    v.forEach((r, i) => {
      if (!isObject(r) || typeof r.name !== 'string') throw badRequest(`${where}[${i}] must be a resource with a name`);
      if (r.type !== undefined && r.type !== 'SCALAR' && r.type !== 0) {
        throw badRequest(`${where}[${i}] '${r.name}': quota takes SCALAR resources only`);
      }
      if (r.role !== undefined && r.role !== '*') {
        throw badRequest(`${where}[${i}] '${r.name}': quota resources must be unreserved (no role)`);
      }
      if (r.reservations !== undefined && !(Array.isArray(r.reservations) && r.reservations.length === 0)) {
        throw badRequest(`${where}[${i}] '${r.name}': quota resources must not carry reservations`);
      }
      checkResourceName(r.name, where);
      out[r.name] = (out[r.name] ?? 0) + amount(r.scalar, `${where}[${i}] '${r.name}' scalar`);
    });
    return out;
  }
  if (!isObject(v)) throw badRequest(`${where} must be an object of {name: {"value": n}} or a list of resources`);
  for (const [name, value] of Object.entries(v)) {
    checkResourceName(name, where);
    out[name] = amount(value, `${where}.${name}`);
  }
  return out;
}

function checkResourceName(name: string, where: string): void {
  if (!NAME_RE.test(name)) throw badRequest(`${where}: '${name}' is not a valid resource name`);
}

function parseConfig(v: unknown, where: string): QuotaRequest {
  if (!isObject(v)) throw badRequest(`${where} must be a JSON object with a role`);
  const role = checkQuotaRole(v.role, `${where}.role`);
  const guarantees = parseQuantities(v.guarantees ?? v.guarantee, `${where}.guarantees`);
  const limits = parseQuantities(v.limits ?? v.limit, `${where}.limits`);
  for (const [name, g] of Object.entries(guarantees)) {
    const l = limits[name];
    if (l !== undefined && g > l) {
      throw new AgoraError(
        'AGORA_ERR_UNPROCESSABLE',
        `role '${role}': the guarantee of ${name} (${g}) is above its limit (${l})`,
        { data: { role, name } },
      );
    }
  }
  return { role, guarantees, limits };
}

function parseForce(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw badRequest('force must be true or false');
  return v;
}

/** Parse a quota-setting body (see the module comment). */
export function parseQuotaUpdate(body: unknown): QuotaUpdate {
  if (Array.isArray(body)) {
    if (body.length === 0) throw badRequest('no quota configs given');
    return { configs: body.map((c, i) => parseConfig(c, `[${i}]`)), force: false, isUpdateCall: false };
  }
  if (!isObject(body)) throw badRequest('the body must be a JSON object');
  if (body.type !== undefined || body.update_quota !== undefined) {
    if (body.type !== undefined && body.type !== 'UPDATE_QUOTA') {
      throw badRequest(`unsupported call type '${String(body.type)}': use UPDATE_QUOTA`);
    }
    const u = body.update_quota;
    if (!isObject(u)) throw badRequest('update_quota must be an object with quota_configs');
    if (!Array.isArray(u.quota_configs) || u.quota_configs.length === 0) {
      throw badRequest('update_quota.quota_configs must be a non-empty list');
    }
    const configs = u.quota_configs.map((c, i) => parseConfig(c, `quota_configs[${i}]`));
    const roles = new Set<string>();
    for (const c of configs) {
      if (roles.has(c.role)) throw badRequest(`role '${c.role}' appears twice in quota_configs`);
      roles.add(c.role);
    }
    return { configs, force: parseForce(u.force), isUpdateCall: true };
  }
  return { configs: [parseConfig(body, 'body')], force: parseForce(body.force), isUpdateCall: false };
}

/** Parse a weights body: `[{"role":"web","weight":2}]` (Mesos /weights PUT), or `{"weights":[...]}`. */
export function parseWeights(body: unknown): WeightRequest[] {
  const list = isObject(body) && Array.isArray(body.weights) ? body.weights : body;
  if (!Array.isArray(list)) throw badRequest('the body must be a list of {"role": ..., "weight": ...}');
  const seen = new Set<string>();
  return list.map((w, i) => {
    if (!isObject(w)) throw badRequest(`[${i}] must be an object with role and weight`);
    const role = checkQuotaRole(w.role, `[${i}].role`);
    if (seen.has(role)) throw badRequest(`role '${role}' appears twice`);
    seen.add(role);
    const weight = w.weight;
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) {
      throw badRequest(`[${i}].weight of role '${role}' must be a positive number`);
    }
    return { role, weight };
  });
}

/** `{name: {value}}` form of quantities (Mesos QuotaConfig JSON). */
export function toValueMap(q: QuantityMap): Record<string, { value: number }> {
  const out: Record<string, { value: number }> = {};
  for (const name of Object.keys(q).sort()) out[name] = { value: q[name]! };
  return out;
}
