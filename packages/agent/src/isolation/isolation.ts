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
 * fallback. On cgroup v2 each controller's part is separate: containers
 * always get their cgroup (process tracking, cgroup.kill), and a limit whose
 * controller the hierarchy lacks (cpu, memory) is a stated posix fallback.
 * An unknown isolator, or one the host cannot provide, is an error.
 */
import { spawnSync } from 'node:child_process';
import { AgoraError } from '@agora/common';
import type { CgroupsVersionChoice, V2LimitController } from './cgroup-values.js';
import { type CgroupsHost, detectCgroups, v2Controllers } from './cgroups.js';

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
  /** Which cgroup hierarchy (`--cgroups_version`): detected, or forced to v1 or v2. @default 'auto' */
  cgroupsVersion?: CgroupsVersionChoice;
}

let cachedPidNs: { ok: boolean; why: string | undefined } | undefined;

function probePidNamespace(unshare: string): { ok: boolean; why: string | undefined } {
  if (process.platform !== 'linux') return { ok: false, why: 'not Linux' };
  // The pid namespace comes with a private mount namespace (the container's volume mounts live there).
  const args = ['--pid', '--mount', '--propagation', 'private', '--fork', '--kill-child', '/bin/true'];
  const r = spawnSync(unshare, args, { stdio: 'pipe', timeout: 5000 });
  if (r.error) return { ok: false, why: `${unshare}: ${r.error.message}` };
  if (r.status !== 0) return { ok: false, why: `${unshare} --pid --mount failed: ${r.stderr.toString().trim()}` };
  return { ok: true, why: undefined };
}

/** Detect cgroups (`chooseCgroups`: v2 with cpu+memory, else v1, else v2; or forced) and the pid namespace, as the agent does at start. */
export function detectHostIsolation(options: DetectOptions = {}): HostIsolation {
  const cg = detectCgroups(options.cgroupsRoot ?? 'agora', options.cgroupsVersion ?? 'auto');
  cachedPidNs ??= probePidNamespace(options.unshare ?? 'unshare');
  return {
    cgroups: cg.host,
    cgroupsUnavailable: cg.why,
    pidNamespace: cachedPidNs.ok,
    pidNamespaceUnavailable: cachedPidNs.why,
  };
}

const CONTROLLER_LIMITS: Record<V2LimitController, string> = {
  cpu: 'cpu shares and the CFS quota are not enforced',
  memory: 'no memory limit and no OOM detection',
};

/** Whether the host's cgroups are v2 without `controller` (its limits then fall back to posix). */
function v2Lacks(host: HostIsolation, controller: V2LimitController): boolean {
  return host.cgroups?.version === 2 && !v2Controllers(host.cgroups).includes(controller);
}

function missingController(host: HostIsolation, controller: V2LimitController): string {
  const available = host.cgroups?.available ?? [];
  const listed = available.length === 0 ? 'is empty' : `lists: ${available.join(' ')}`;
  return `cgroup v2 has no ${controller} controller (its cgroup.controllers ${listed})`;
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
    if (host.cgroups !== undefined) {
      // v2 gives each controller's limits only where the hierarchy has that controller.
      for (const [controller, isolator, posix] of [
        ['cpu', 'cgroups/cpu', 'posix/cpu'],
        ['memory', 'cgroups/mem', 'posix/mem'],
      ] as const) {
        if (!v2Lacks(host, controller)) names.push(isolator);
        else {
          names.push(posix);
          fallbacks.push(`${missingController(host, controller)}: ${CONTROLLER_LIMITS[controller]}`);
        }
      }
    } else {
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
    for (const [controller, isolator] of [
      ['cpu', 'cgroups/cpu'],
      ['memory', 'cgroups/mem'],
    ] as const) {
      if (names.includes(isolator) && v2Lacks(host, controller)) {
        throw badIsolation(
          flag,
          `${isolator} needs the ${controller} controller: ${missingController(host, controller)}`,
        );
      }
    }
    if (names.includes('namespaces/pid') && !host.pidNamespace) {
      throw badIsolation(flag, `the pid namespace is not available: ${host.pidNamespaceUnavailable ?? 'unknown'}`);
    }
  }
  const cpu = names.includes('cgroups/cpu');
  const mem = names.includes('cgroups/mem');
  // Without a flag, a v2 host's containers get their cgroup (tracking, cgroup.kill, cpu usage) even when
  // neither limit controller is there.
  const noFlag = flag === undefined || flag.trim() === '';
  const cgroups = cpu || mem || noFlag ? host.cgroups : undefined;
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
