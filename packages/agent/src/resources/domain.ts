/**
 * `--domain`: the agent's fault domain, as Mesos takes it — a JSON string,
 * or a file holding the JSON (`file:///path` or an absolute path):
 *
 * ```json
 * {"fault_domain": {"region": {"name": "r1"}, "zone": {"name": "z1"}}}
 * ```
 *
 * It becomes `AgentInfo.domain` in Register/Reregister and `domain` in the
 * agent's `/state`. Anything else is an AGORA_ERR_BAD_FLAG naming the problem.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgoraError } from '@agora/common';
import type { agora } from '@agora/proto';

export type DomainInfo = agora.v1.DomainInfo.$Properties;

function bad(value: string, why: string, cause?: unknown): AgoraError {
  return new AgoraError('AGORA_ERR_BAD_FLAG', `--domain ${JSON.stringify(value)} is invalid: ${why}`, {
    ...(cause === undefined ? {} : { cause }),
    data: { flag: 'domain', value },
  });
}

/** The JSON text of the flag: itself, or the file it names. */
function domainText(value: string): string {
  const trimmed = value.trim();
  if (trimmed.startsWith('{')) return trimmed;
  let path: string;
  if (trimmed.startsWith('file://')) {
    try {
      path = fileURLToPath(trimmed);
    } catch (err) {
      throw bad(value, 'not a valid file:// URL', err);
    }
  } else if (isAbsolute(trimmed)) {
    path = trimmed;
  } else {
    throw bad(value, 'expected a JSON object or the absolute path of a JSON file');
  }
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw bad(value, `cannot read ${path}: ${(err as Error).message}`, err);
  }
}

function nameAt(value: string, obj: unknown, key: 'region' | 'zone'): string {
  const part = (obj as Record<string, unknown>)[key];
  const name = typeof part === 'object' && part !== null ? (part as Record<string, unknown>).name : undefined;
  if (typeof name !== 'string' || name.trim() === '') {
    throw bad(value, `fault_domain.${key}.name must be a non-empty string`);
  }
  return name;
}

/** Parse `--domain` (JSON or a file path) into a DomainInfo; throws AGORA_ERR_BAD_FLAG. */
export function parseDomainFlag(value: string): DomainInfo {
  const text = domainText(value);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw bad(value, `not valid JSON: ${(err as Error).message}`, err);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw bad(value, 'expected a JSON object like {"fault_domain":{"region":{"name":"r1"},"zone":{"name":"z1"}}}');
  }
  const fd = (json as Record<string, unknown>).fault_domain;
  if (typeof fd !== 'object' || fd === null || Array.isArray(fd)) {
    throw bad(value, 'fault_domain (with region.name and zone.name) is required');
  }
  return { fault_domain: { region: { name: nameAt(value, fd, 'region') }, zone: { name: nameAt(value, fd, 'zone') } } };
}
