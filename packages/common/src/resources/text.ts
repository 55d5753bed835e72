/**
 * The Mesos text syntax of resources:
 * `cpus:24;mem:24576;ports:[21000-24000,30000-34000];bugs(role):{a,b,c}`,
 * or a JSON array of Resource objects (as Mesos accepts for `--resources`).
 */
import type { Resource } from '@agora/proto';
import { ValueType } from '@agora/proto';
import {
  ANY_ROLE,
  badResources,
  checkName,
  checkRanges,
  checkRole,
  checkSet,
  type ResourceEntry,
  Resources,
} from './resources.js';
import { type Range, toMillis } from './values.js';

const HEAD_RE = /^([^():]+?)\s*(?:\(\s*([^()]*?)\s*\))?$/;
const SCALAR_RE = /^[+]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Parse '[a-b,c-d]' (or '[a]') into ranges; `where` names the part in errors. */
export function parseRangesText(text: string, where: string): Range[] {
  const inner = text.slice(1, -1).trim();
  if (inner === '') return [];
  return inner.split(',').map((part): Range => {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw badResources(`${where}: bad range '${part.trim()}', expected 'begin-end' with non-negative integers`);
    const b = Number(m[1]);
    return [b, m[2] === undefined ? b : Number(m[2])];
  });
}

/** Parse '{a,b}' into set items; `where` names the part in errors. */
export function parseSetText(text: string): string[] {
  const inner = text.slice(1, -1).trim();
  if (inner === '') return [];
  return inner.split(',').map((s) => s.trim());
}

/** Parse a scalar number text; undefined when it is not one. */
export function parseScalarText(text: string): number | undefined {
  if (!SCALAR_RE.test(text)) return undefined;
  const v = Number(text);
  return Number.isFinite(v) ? v : undefined;
}

const VOLUME_RE = /^([^():[\]]+?)\s*(?:\(\s*([^()]*?)\s*\))?\s*\[([^\]]*)\]\s*:(.*)$/;

/** `disk(role)[id:container_path(:rw|:ro)]:size`, the text form of a persistent volume. */
function parseVolumeEntry(part: string, m: RegExpExecArray, defaultRole: string): ResourceEntry {
  const name = m[1]!.trim();
  const role = m[2] ?? defaultRole;
  const where = `resource '${part}'`;
  const fields = m[3]!.split(':').map((x) => x.trim());
  const [id, containerPath, modeText] = fields;
  if (fields.length < 2 || fields.length > 3 || id === undefined || containerPath === undefined) {
    throw badResources(`${where}: a volume is written '[id:container_path]' or '[id:container_path:ro]'`, { part });
  }
  const mode = modeText === undefined || modeText.toLowerCase() === 'rw' ? 1 : modeText.toLowerCase() === 'ro' ? 2 : 0;
  if (mode === 0) throw badResources(`${where}: volume mode must be 'rw' or 'ro'`, { part });
  const value = parseScalarText(m[4]!.trim());
  if (value === undefined) throw badResources(`${where} has a bad value: a volume's size is a number`, { part });
  const entries = Resources.fromProto([
    {
      name,
      type: ValueType.SCALAR,
      scalar: { value },
      role,
      disk: { persistence: { id }, volume: { container_path: containerPath, mode } },
    },
  ]).entries();
  return entries[0]!;
}

function parseEntry(part: string, defaultRole: string): ResourceEntry {
  const volume = VOLUME_RE.exec(part);
  if (volume) return parseVolumeEntry(part, volume, defaultRole);
  const colon = part.indexOf(':');
  if (colon < 0) throw badResources(`bad resource '${part}': expected 'name:value' or 'name(role):value'`, { part });
  const head = part.slice(0, colon).trim();
  const value = part.slice(colon + 1).trim();
  if (head === '') throw badResources(`resource '${part}' has an empty name`, { part });
  const m = HEAD_RE.exec(head);
  if (!m) throw badResources(`bad resource name '${head}' in '${part}': expected 'name' or 'name(role)'`, { part });
  const name = m[1]!.trim();
  const role = m[2] ?? defaultRole;
  const where = `resource '${part}'`;
  try {
    checkName(name);
    checkRole(role, name);
  } catch (err) {
    throw badResources(`${(err as Error).message} (in '${part}')`, { part });
  }
  if (value === '') throw badResources(`${where} has no value`, { part });
  if (value.startsWith('[')) {
    if (!value.endsWith(']')) throw badResources(`${where}: ranges must end with ']'`, { part });
    return { kind: 'ranges', name, role, ranges: checkRanges(parseRangesText(value, where), where) };
  }
  if (value.startsWith('{')) {
    if (!value.endsWith('}')) throw badResources(`${where}: a set must end with '}'`, { part });
    return { kind: 'set', name, role, items: checkSet(parseSetText(value), where) };
  }
  if (value.startsWith('-')) throw badResources(`${where} has a negative value`, { part });
  const v = parseScalarText(value);
  if (v === undefined) {
    throw badResources(`${where} has a bad value '${value}': expected a number, '[a-b,...]' or '{a,b,...}'`, { part });
  }
  return { kind: 'scalar', name, role, millis: toMillis(v) };
}

/**
 * Parse Mesos resource text (`cpus:4;mem:1024;ports:[31000-32000];cpus(web):2;bugs:{a,b}`)
 * or a JSON array of Resource objects. Entries without a role get `defaultRole`
 * ('*'). Repeated scalars add up; overlapping ranges or repeated set items,
 * negative values and empty names are errors (AGORA_ERR_BAD_RESOURCES).
 */
export function parseResources(text: string, defaultRole: string = ANY_ROLE): Resources {
  checkRole(defaultRole);
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) return parseResourcesJson(trimmed, defaultRole);
  const parts = trimmed
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  return Resources.fromEntries(parts.map((p) => parseEntry(p, defaultRole)));
}

const TYPE_NAMES: Record<string, ValueType> = {
  SCALAR: ValueType.SCALAR,
  RANGES: ValueType.RANGES,
  SET: ValueType.SET,
};

/**
 * Parse the JSON form: `[{"name":"cpus","type":"SCALAR","scalar":{"value":2},"role":"*"}, ...]`
 * (`type` as a name or number; `role` optional, else `defaultRole`).
 */
export function parseResourcesJson(text: string, defaultRole: string = ANY_ROLE): Resources {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw badResources(`resources JSON does not parse: ${(err as Error).message}`);
  }
  if (!Array.isArray(json)) throw badResources('resources JSON must be an array of Resource objects');
  const list = json.map((raw: unknown, i): Resource => {
    if (raw === null || typeof raw !== 'object') throw badResources(`resource #${i} in JSON is not an object`);
    const o = raw as Record<string, unknown>;
    const type = typeof o['type'] === 'string' ? TYPE_NAMES[o['type'] as string] : o['type'];
    if (type === undefined) throw badResources(`resource #${i} in JSON has unknown type '${String(o['type'])}'`);
    return {
      ...(o as unknown as Resource),
      type: type as ValueType,
      role: (o['role'] as string | undefined) ?? defaultRole,
    };
  });
  return Resources.fromProto(list);
}

/** The Mesos text form (same as `r.toString()`). */
export function formatResources(r: Resources): string {
  return r.toString();
}
