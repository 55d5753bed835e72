/**
 * What an agent offers: its resources (from `--resources`, with anything not
 * given detected on the host, as Mesos does) and its attributes
 * (`--attributes`). Detection follows Mesos (`src/slave/containerizer/containerizer.cpp`):
 * cpus = all cores; mem = total − 1 GB when total ≥ 2 GB, else half; disk (of
 * the work dir's file system) = total − 5 GB when total ≥ 10 GB, else half;
 * ports = [31000-32000]. Fallbacks when detection fails: 1 cpu, 1 GB, 10 GB.
 */
import { existsSync, statfsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { AgoraError, parseAttributes, parseResources, rangesResource, Resources, scalarResource } from '@agora/common';
import type { agora } from '@agora/proto';

const MB = 1024 * 1024;
const GB_IN_MB = 1024;

/** Mesos' default agent port range. */
export const DEFAULT_PORTS: [number, number] = [31000, 32000];

/** What detection found on the host, in MB for memory and disk. */
export interface HostFacts {
  cpus: number;
  memTotalMb: number | undefined;
  diskTotalMb: number | undefined;
}

/** Read the host: core count, total memory, and the total size of the file system holding `workDir`. */
export function detectHostFacts(workDir: string): HostFacts {
  let dir = resolve(workDir);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  let diskTotalMb: number | undefined;
  try {
    const fs = statfsSync(dir);
    diskTotalMb = Math.floor((Number(fs.blocks) * Number(fs.bsize)) / MB);
  } catch {
    diskTotalMb = undefined;
  }
  const memBytes = totalmem();
  return { cpus: cpus().length, memTotalMb: memBytes > 0 ? Math.floor(memBytes / MB) : undefined, diskTotalMb };
}

/** The resources Mesos would advertise for a host with these facts (all unreserved). */
export function defaultResources(facts: HostFacts): Resources {
  const cpuCount = facts.cpus > 0 ? facts.cpus : 1;
  const mem =
    facts.memTotalMb === undefined
      ? GB_IN_MB
      : facts.memTotalMb >= 2 * GB_IN_MB
        ? facts.memTotalMb - GB_IN_MB
        : Math.floor(facts.memTotalMb / 2);
  const disk =
    facts.diskTotalMb === undefined
      ? 10 * GB_IN_MB
      : facts.diskTotalMb >= 10 * GB_IN_MB
        ? facts.diskTotalMb - 5 * GB_IN_MB
        : Math.floor(facts.diskTotalMb / 2);
  return scalarResource('cpus', cpuCount)
    .add(scalarResource('mem', mem))
    .add(scalarResource('disk', disk))
    .add(rangesResource('ports', [DEFAULT_PORTS]));
}

const DETECTED = ['cpus', 'mem', 'disk', 'ports'] as const;

/**
 * The agent's total resources: `text` parsed (Mesos syntax or JSON), plus the
 * detected amount of each of cpus, mem, disk and ports that `text` does not
 * mention. Bad text: AGORA_ERR_BAD_RESOURCES naming the flag and the problem.
 */
export function resolveAgentResources(text: string | undefined, facts: HostFacts): Resources {
  const detected = defaultResources(facts);
  if (text === undefined || text.trim() === '') return detected;
  let given: Resources;
  try {
    given = parseResources(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new AgoraError('AGORA_ERR_BAD_RESOURCES', `--resources '${text}' is invalid: ${reason}`, {
      cause: err,
      data: { flag: 'resources', value: text },
    });
  }
  const present = new Set(given.names());
  let total = given;
  for (const name of DETECTED) {
    if (present.has(name)) continue;
    total = total.add(Resources.fromProto(detected.toProto().filter((r) => r.name === name)));
  }
  return total;
}

/** The agent's attributes from `--attributes` (empty when absent); AGORA_ERR_BAD_ATTRIBUTES when bad. */
export function resolveAgentAttributes(text: string | undefined): agora.v1.Attribute.$Properties[] {
  if (text === undefined || text.trim() === '') return [];
  try {
    return parseAttributes(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new AgoraError('AGORA_ERR_BAD_ATTRIBUTES', `--attributes '${text}' is invalid: ${reason}`, {
      cause: err,
      data: { flag: 'attributes', value: text },
    });
  }
}
