/**
 * Which isolators this agent uses (`--isolation`), and what the host offers.
 *
 * Isolators (Mesos' names): `cgroups/cpu` (cpu shares, and a CFS quota with
 * `--cgroups_enable_cfs`), `cgroups/mem` (memory limit, OOM → memory
 * limitation), `namespaces/pid` (the task tree in its own pid namespace, via
 * util-linux `unshare`), `disk/du` (sandbox usage measured periodically) and
 * `posix/cpu`, `posix/mem` (no isolation: a process group, usage from /proc).
 * Without a flag the agent uses what the host supports; when cgroups or the
 * pid namespace are not available it says so and runs with the posix
 * fallback. An unknown isolator, or one the host cannot provide, is an error.
 */
import { spawnSync } from 'node:child_process';
import { AgoraError } from '@agora/common';
import { type CgroupsHost, detectCgroups } from './cgroups.js';

export const KNOWN_ISOLATORS = [
  'cgroups/cpu',
  'cgroups/mem',
  'namespaces/pid',
  'disk/du',
  'posix/cpu',
  'posix/mem',
  'posix/disk',
] as const;
export type IsolatorName = (typeof KNOWN_ISOLATORS)[number];

/** What the host can do (detected once at agent start). */
export interface HostIsolation {
  cgroups: CgroupsHost | undefined;
  /** Why cgroups cannot be used, when they cannot. */
  cgroupsUnavailable: string | undefined;
  pidNamespace: boolean;
  pidNamespaceUnavailable: string | undefined;
}

/** The isolation the agent runs containers with. */
export interface IsolationPlan {
  isolators: IsolatorName[];
  /** cgroups in use (cpu and/or mem), or undefined for the posix fallback. */
  cgroups: CgroupsHost | undefined;
  cpu: boolean;
  mem: boolean;
  pidNamespace: boolean;
  disk: boolean;
  /** `cgroups-v1`, `cgroups-v2` or `posix`: the `isolation` field of `/state`. */
  mode: 'cgroups-v1' | 'cgroups-v2' | 'posix';
  /** What is missing on this host and replaced by the posix fallback (said in the log and /state). */
  fallbacks: string[];
}

export interface DetectOptions {
  /** The cgroup below which containers go (Mesos' `--cgroups_root`). @default 'agora' */
  cgroupsRoot?: string;
  /** The unshare binary. @default 'unshare' */
  unshare?: string;
}

let cachedPidNs: { ok: boolean; why: string | undefined } | undefined;

function probePidNamespace(unshare: string): { ok: boolean; why: string | undefined } {
  if (process.platform !== 'linux') return { ok: false, why: 'not Linux' };
  const r = spawnSync(unshare, ['--pid', '--fork', '--kill-child', '/bin/true'], { stdio: 'pipe', timeout: 5000 });
  if (r.error) return { ok: false, why: `${unshare}: ${r.error.message}` };
  if (r.status !== 0) return { ok: false, why: `${unshare} --pid failed: ${r.stderr.toString().trim()}` };
  return { ok: true, why: undefined };
}

/** Detect cgroups (v2, else v1) and the pid namespace, the way the agent does at start. */
export function detectHostIsolation(options: DetectOptions = {}): HostIsolation {
  const cg = detectCgroups(options.cgroupsRoot ?? 'agora');
  cachedPidNs ??= probePidNamespace(options.unshare ?? 'unshare');
  return {
    cgroups: cg.host,
    cgroupsUnavailable: cg.why,
    pidNamespace: cachedPidNs.ok,
    pidNamespaceUnavailable: cachedPidNs.why,
  };
}

function badIsolation(value: string, why: string): AgoraError {
  return new AgoraError('AGORA_ERR_BAD_FLAG', `--isolation ${JSON.stringify(value)} is invalid: ${why}`, {
    data: { flag: 'isolation', value },
  });
}

/**
 * Resolve `--isolation` against the host. Without a flag: every isolator the
 * host supports, the posix ones for the rest. Throws AGORA_ERR_BAD_FLAG for
 * an unknown isolator or one this host cannot provide.
 */
export function planIsolation(flag: string | undefined, host: HostIsolation): IsolationPlan {
  const fallbacks: string[] = [];
  let names: IsolatorName[];
  if (flag === undefined || flag.trim() === '') {
    names = [];
    if (host.cgroups !== undefined) names.push('cgroups/cpu', 'cgroups/mem');
    else {
      names.push('posix/cpu', 'posix/mem');
      fallbacks.push(`cgroups unavailable (${host.cgroupsUnavailable ?? 'unknown'})`);
    }
    if (host.pidNamespace) names.push('namespaces/pid');
    else fallbacks.push(`pid namespace unavailable (${host.pidNamespaceUnavailable ?? 'unknown'})`);
    names.push('disk/du');
  } else {
    names = [];
    for (const raw of flag.split(',')) {
      const name = raw.trim();
      if (name === '') continue;
      if (!(KNOWN_ISOLATORS as readonly string[]).includes(name)) {
        throw badIsolation(flag, `unknown isolator ${JSON.stringify(name)}; known: ${KNOWN_ISOLATORS.join(', ')}`);
      }
      if (!names.includes(name as IsolatorName)) names.push(name as IsolatorName);
    }
    if (names.some((n) => n.startsWith('cgroups/')) && host.cgroups === undefined) {
      throw badIsolation(flag, `cgroups are not available on this host: ${host.cgroupsUnavailable ?? 'unknown'}`);
    }
    if (names.includes('namespaces/pid') && !host.pidNamespace) {
      throw badIsolation(flag, `the pid namespace is not available: ${host.pidNamespaceUnavailable ?? 'unknown'}`);
    }
  }
  const cpu = names.includes('cgroups/cpu');
  const mem = names.includes('cgroups/mem');
  const cgroups = cpu || mem ? host.cgroups : undefined;
  return {
    isolators: names,
    cgroups,
    cpu,
    mem,
    pidNamespace: names.includes('namespaces/pid'),
    disk: names.includes('disk/du') || names.includes('posix/disk'),
    mode: cgroups === undefined ? 'posix' : cgroups.version === 2 ? 'cgroups-v2' : 'cgroups-v1',
    fallbacks,
  };
}
