/**
 * Agent attributes in Mesos text syntax: `rack:r1;zone:a;level:5;ports:[1-2];s:{a,b}`.
 * A value is a scalar when it is a number, ranges in `[...]`, a set in `{...}`,
 * and text otherwise.
 */
import type { Attribute } from '@agora/proto';
import { ValueType } from '@agora/proto';
import { AgoraError } from '../errors.js';
import { parseRangesText, parseScalarText, parseSetText } from './text.js';
import { findOverlap, formatRanges, formatSet, mergeRanges } from './values.js';

function bad(message: string, details: Record<string, unknown> = {}): AgoraError {
  return new AgoraError('AGORA_ERR_BAD_ATTRIBUTES', message, { data: details });
}

const NAME_RE = /^[A-Za-z0-9_.\-/]+$/;

function parseAttribute(part: string): Attribute {
  const colon = part.indexOf(':');
  if (colon < 0) throw bad(`bad attribute '${part}': expected 'name:value'`, { part });
  const name = part.slice(0, colon).trim();
  const value = part.slice(colon + 1).trim();
  if (name === '') throw bad(`attribute '${part}' has an empty name`, { part });
  if (!NAME_RE.test(name)) {
    throw bad(`attribute name '${name}' may only contain letters, digits, '_', '.', '-' and '/'`, { part });
  }
  if (value === '') throw bad(`attribute '${name}' has an empty value`, { part });
  if (value.startsWith('[')) {
    if (!value.endsWith(']')) throw bad(`attribute '${part}': ranges must end with ']'`, { part });
    let ranges: Array<readonly [number, number]>;
    try {
      ranges = parseRangesText(value, `attribute '${part}'`);
    } catch (err) {
      throw bad((err as Error).message, { part });
    }
    for (const [b, e] of ranges) if (b > e) throw bad(`attribute '${part}' has a range ${b}-${e} with begin after end`);
    if (findOverlap(ranges)) throw bad(`attribute '${part}' has overlapping ranges`, { part });
    return {
      name,
      type: ValueType.RANGES,
      ranges: { range: mergeRanges(ranges).map(([begin, end]) => ({ begin, end })) },
    };
  }
  if (value.startsWith('{')) {
    if (!value.endsWith('}')) throw bad(`attribute '${part}': a set must end with '}'`, { part });
    const items = parseSetText(value);
    if (items.some((x) => x === '')) throw bad(`attribute '${part}' has an empty set item`, { part });
    return { name, type: ValueType.SET, set: { item: items } };
  }
  const scalar = parseScalarText(value);
  if (scalar !== undefined) return { name, type: ValueType.SCALAR, scalar: { value: scalar } };
  if (/[{}[\]]/.test(value)) throw bad(`attribute '${part}' has a bad value '${value}'`, { part });
  return { name, type: ValueType.TEXT, text: { value } };
}

/** Parse attributes text; AGORA_ERR_BAD_ATTRIBUTES on bad input or a repeated name. */
export function parseAttributes(text: string): Attribute[] {
  const out: Attribute[] = [];
  const seen = new Set<string>();
  for (const raw of text.split(';')) {
    const part = raw.trim();
    if (part === '') continue;
    const attr = parseAttribute(part);
    if (seen.has(attr.name)) throw bad(`attribute '${attr.name}' is given twice`, { name: attr.name });
    seen.add(attr.name);
    out.push(attr);
  }
  return out;
}

function attributeValue(a: Attribute): string | number {
  switch (a.type) {
    case ValueType.SCALAR:
      return a.scalar?.value ?? 0;
    case ValueType.RANGES:
      return formatRanges((a.ranges?.range ?? []).map((r) => [Number(r.begin), Number(r.end)] as const));
    case ValueType.SET:
      return formatSet(a.set?.item ?? []);
    default:
      return a.text?.value ?? '';
  }
}

/** The text form, e.g. 'rack:r1;level:5'. */
export function formatAttributes(list: readonly Attribute[]): string {
  return list.map((a) => `${a.name}:${attributeValue(a)}`).join(';');
}

/** The Mesos `/state` form: text as strings, scalars as numbers, ranges '[1-2]', sets '{a,b}'. */
export function attributesToJson(list: readonly Attribute[]): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const a of list) out[a.name] = attributeValue(a);
  return out;
}
