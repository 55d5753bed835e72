/**
 * Marathon's label selector (`?label=`): comma-separated requirements, all
 * of which must hold — `key` (exists), `key==v`, `key!=v`, `key in (a,b)`,
 * `key notin (a,b)`; characters outside `[-A-Za-z0-9_.]` in keys and values
 * are escaped with a backslash. PURE.
 */
import { AgoraError } from '@agora/common';

export type LabelRequirement =
  | { key: string; op: 'exists' }
  | { key: string; op: '==' | '!='; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] };

/** Split on `sep` outside parentheses, honouring backslash escapes. */
function splitTop(text: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\' && i + 1 < text.length) {
      cur += ch + text[i + 1];
      i++;
      continue;
    }
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === sep && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((s) => s.trim()).filter((s) => s.length > 0);
}

const unescapeText = (s: string): string => s.trim().replace(/\\(.)/g, '$1');

function bad(text: string): AgoraError {
  return new AgoraError('AGORA_ERR_BAD_REQUEST', `Invalid label selector '${text}'`);
}

/** Parse a selector; AGORA_ERR_BAD_REQUEST (400) when it is malformed. */
export function parseLabelSelector(text: string): LabelRequirement[] {
  return splitTop(text, ',').map((part): LabelRequirement => {
    const set = /^((?:\\.|[^\s\\])+)\s+(in|notin)\s+\((.*)\)$/.exec(part);
    if (set !== null) {
      const values = splitTop(set[3]!, ',').map(unescapeText);
      return { key: unescapeText(set[1]!), op: set[2] as 'in' | 'notin', values };
    }
    const cmp = /^((?:\\.|[^=!\\])+)(==|!=)(.*)$/.exec(part);
    if (cmp !== null) return { key: unescapeText(cmp[1]!), op: cmp[2] as '==' | '!=', value: unescapeText(cmp[3]!) };
    if (/^(?:\\.|[-A-Za-z0-9_.])+$/.test(part)) return { key: unescapeText(part), op: 'exists' };
    throw bad(text);
  });
}

export function matchesLabels(
  requirements: readonly LabelRequirement[],
  labels: Readonly<Record<string, string>>,
): boolean {
  return requirements.every((r) => {
    const v = labels[r.key];
    switch (r.op) {
      case 'exists':
        return v !== undefined;
      case '==':
        return v === r.value;
      case '!=':
        return v !== r.value;
      case 'in':
        return v !== undefined && r.values.includes(v);
      case 'notin':
        return v === undefined || !r.values.includes(v);
      default:
        return false;
    }
  });
}
