/**
 * cgroups for containers, v2 (unified) or v1 (one hierarchy per controller),
 * detected at start. Each container gets its own cgroup below an `agora`
 * parent: on v2 `/sys/fs/cgroup/agora/<container>`; on v1, per controller
 * (cpu, cpuacct, memory, freezer), below the agent's own cgroup of that
 * controller (`<mount>/<agent's cgroup>/agora/<container>`), so a container
 * never escapes limits the agent itself runs under.
 *
 * Limits (Mesos' rules): cpu shares = max(2, 1024 × cpus); v2 has no shares,
 * so cpu.weight = 1 + (shares − 2) × 9999 / 262142 (the kernel's and runc's
 * mapping from the [2, 262144] shares range onto [1, 10000]). With CFS:
 * period 100 ms, quota = max(1 ms, cpus × 100 ms) (cpu.cfs_quota_us or
 * cpu.max). Memory: max(32 MB, mem) in memory.limit_in_bytes (plus
 * memory.memsw.limit_in_bytes, no swap beyond it) or memory.max (and
 * memory.swap.max 0). An OOM kill shows in memory.oom_control (v1) or
 * memory.events (v2) as `oom_kill N`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CPU_SHARES_PER_CPU = 1024;
export const MIN_CPU_SHARES = 2;
export const CFS_PERIOD_US = 100_000;
export const MIN_CFS_QUOTA_US = 1000;
/** Mesos' MIN_MEMORY: a container never gets less. */
export const MIN_MEMORY_BYTES = 32 * 1024 * 1024;
/** v1 hierarchies the agent needs. */
export const V1_CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'freezer'] as const;
const CGROUP_ROOT = '/sys/fs/cgroup';

export interface CgroupsHost {
  version: 1 | 2;
  /** The `agora` parent: v2 `{ unified: dir }`, v1 one dir per controller. */
  bases: Record<string, string>;
}

/** One container's cgroups (checkpointed, so a restarted agent finds them again). */
export interface ContainerCgroups {
  version: 1 | 2;
  /** v2 `{ unified: dir }`; v1 controller → dir. */
  paths: Record<string, string>;
}

export interface CgroupLimits {
  cpus?: number | undefined;
  memBytes?: number | undefined;
  /** Hard cap at `cpus` (CFS quota). */
  cfs: boolean;
}

export interface CgroupStats {
  cpusUserTimeSecs: number;
  cpusSystemTimeSecs: number;
  memRssBytes: number;
  memTotalBytes: number;
  memLimitBytes: number | undefined;
  processes: number;
  threads: number;
  cfsQuotaUs: number | undefined;
  cfsPeriodUs: number | undefined;
  oomKills: number;
}

export function cpuShares(cpus: number): number {
  return Math.max(MIN_CPU_SHARES, Math.floor(cpus * CPU_SHARES_PER_CPU));
}

/** cgroup v2 cpu.weight for a v1 shares value. */
export function sharesToWeight(shares: number): number {
  const s = Math.min(262_144, Math.max(MIN_CPU_SHARES, shares));
  return 1 + Math.floor(((s - 2) * 9999) / 262_142);
}

export function cfsQuotaUs(cpus: number): number {
  return Math.max(MIN_CFS_QUOTA_US, Math.floor(cpus * CFS_PERIOD_US));
}

export function memoryLimitBytes(memMb: number): number {
  return Math.max(MIN_MEMORY_BYTES, Math.floor(memMb * 1024 * 1024));
}

function read(file: string): string {
  return readFileSync(file, 'utf8');
}

function tryRead(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function keyed(text: string | undefined, key: string): number | undefined {
  if (text === undefined) return undefined;
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k === key && v !== undefined) return Number(v);
  }
  return undefined;
}

/** The agent's own cgroup per v1 controller, from /proc/self/cgroup. */
function ownV1Paths(): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of read('/proc/self/cgroup').split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m || m[1] === undefined || m[2] === undefined) continue;
    for (const c of m[1].split(',')) if (c !== '') map.set(c, m[2]);
  }
  return map;
}

/** v1 controller → mount point, from /proc/self/mounts. */
function v1Mounts(): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of read('/proc/self/mounts').split('\n')) {
    const [, dir, type, opts] = line.split(' ');
    if (type !== 'cgroup' || dir === undefined || opts === undefined) continue;
    for (const o of opts.split(',')) if (!map.has(o)) map.set(o, dir);
  }
  return map;
}

/** Find usable cgroups: v2 when the unified hierarchy has cpu and memory, else v1. Creates the `agora` parent. */
export function detectCgroups(root: string): { host?: CgroupsHost; why?: string } {
  if (process.platform !== 'linux') return { why: 'not Linux' };
  if (process.getuid?.() !== 0) return { why: 'the agent is not running as root' };
  try {
    const controllers = tryRead(join(CGROUP_ROOT, 'cgroup.controllers'));
    if (controllers !== undefined) {
      const have = controllers.trim().split(/\s+/);
      if (!have.includes('cpu') || !have.includes('memory')) {
        return { why: `cgroup v2 without the cpu and memory controllers (has: ${controllers.trim()})` };
      }
      const base = join(CGROUP_ROOT, root);
      writeFileSync(join(CGROUP_ROOT, 'cgroup.subtree_control'), '+cpu +memory');
      mkdirSync(base, { recursive: true });
      writeFileSync(join(base, 'cgroup.subtree_control'), '+cpu +memory');
      return { host: { version: 2, bases: { unified: base } } };
    }
    const mounts = v1Mounts();
    const own = ownV1Paths();
    const bases: Record<string, string> = {};
    for (const c of V1_CONTROLLERS) {
      const mount = mounts.get(c);
      if (mount === undefined) return { why: `cgroup v1 controller ${c} is not mounted` };
      const base = join(mount, own.get(c) ?? '/', root);
      mkdirSync(base, { recursive: true });
      bases[c] = base;
    }
    return { host: { version: 1, bases } };
  } catch (err) {
    return { why: `cannot set up the ${root} cgroup: ${(err as Error).message}` };
  }
}

/** Create a container's cgroups and set its limits. */
export function createContainerCgroups(host: CgroupsHost, containerId: string, limits: CgroupLimits): ContainerCgroups {
  const paths: Record<string, string> = {};
  for (const [c, base] of Object.entries(host.bases)) {
    paths[c] = join(base, containerId);
    mkdirSync(paths[c], { recursive: true });
  }
  const cg: ContainerCgroups = { version: host.version, paths };
  if (host.version === 2) {
    const dir = paths['unified'] as string;
    if (limits.cpus !== undefined) {
      writeFileSync(join(dir, 'cpu.weight'), String(sharesToWeight(cpuShares(limits.cpus))));
      if (limits.cfs) writeFileSync(join(dir, 'cpu.max'), `${cfsQuotaUs(limits.cpus)} ${CFS_PERIOD_US}`);
    }
    if (limits.memBytes !== undefined) {
      writeFileSync(join(dir, 'memory.max'), String(limits.memBytes));
      if (existsSync(join(dir, 'memory.swap.max'))) writeFileSync(join(dir, 'memory.swap.max'), '0');
    }
  } else {
    const cpu = paths['cpu'] as string;
    const mem = paths['memory'] as string;
    if (limits.cpus !== undefined) {
      writeFileSync(join(cpu, 'cpu.shares'), String(cpuShares(limits.cpus)));
      if (limits.cfs) {
        writeFileSync(join(cpu, 'cpu.cfs_period_us'), String(CFS_PERIOD_US));
        writeFileSync(join(cpu, 'cpu.cfs_quota_us'), String(cfsQuotaUs(limits.cpus)));
      }
    }
    if (limits.memBytes !== undefined) {
      writeFileSync(join(mem, 'memory.limit_in_bytes'), String(limits.memBytes));
      if (existsSync(join(mem, 'memory.memsw.limit_in_bytes'))) {
        writeFileSync(join(mem, 'memory.memsw.limit_in_bytes'), String(limits.memBytes));
      }
    }
  }
  return cg;
}

/** The `cgroup.procs` files a process writes its pid into to join the container (the listing one first). */
export function procsFiles(cg: ContainerCgroups): string[] {
  const first = listingDir(cg);
  return [first, ...Object.values(cg.paths).filter((p) => p !== first)].map((p) => join(p, 'cgroup.procs'));
}

/** The dir that lists every process of the container (freezer on v1). */
function listingDir(cg: ContainerCgroups): string {
  return (cg.version === 2 ? cg.paths['unified'] : cg.paths['freezer']) as string;
}

/** Every process in the container. */
export function containerPids(cg: ContainerCgroups): number[] {
  const text = tryRead(join(listingDir(cg), 'cgroup.procs'));
  if (text === undefined) return [];
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(Number);
}

export function signalPids(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone already
    }
  }
}

function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Kill every process of the container, forks in flight included: v2 writes
 * cgroup.kill; v1 freezes the freezer cgroup, SIGKILLs every pid, thaws.
 * Repeats until the cgroup is empty (bounded).
 */
export async function killContainerCgroups(cg: ContainerCgroups): Promise<boolean> {
  const dir = listingDir(cg);
  for (let attempt = 0; attempt < 50; attempt++) {
    const pids = containerPids(cg);
    if (pids.length === 0) return true;
    if (cg.version === 2 && existsSync(join(dir, 'cgroup.kill'))) {
      try {
        writeFileSync(join(dir, 'cgroup.kill'), '1');
      } catch {
        signalPids(pids, 'SIGKILL');
      }
    } else if (cg.version === 1) {
      try {
        writeFileSync(join(dir, 'freezer.state'), 'FROZEN');
        for (let i = 0; i < 20 && tryRead(join(dir, 'freezer.state'))?.trim() !== 'FROZEN'; i++) await sleepMs(5);
      } catch {
        // not freezable: kill anyway
      }
      signalPids(containerPids(cg), 'SIGKILL');
      try {
        writeFileSync(join(dir, 'freezer.state'), 'THAWED');
      } catch {
        // gone
      }
    } else {
      signalPids(pids, 'SIGKILL');
    }
    await sleepMs(attempt < 10 ? 10 : 50);
  }
  return containerPids(cg).length === 0;
}

/** Kill what is left and remove the container's cgroups. */
export async function destroyContainerCgroups(cg: ContainerCgroups): Promise<void> {
  await killContainerCgroups(cg);
  for (const dir of Object.values(cg.paths)) {
    for (let i = 0; i < 20; i++) {
      try {
        if (existsSync(dir)) rmdirSync(dir);
        break;
      } catch {
        await sleepMs(20);
      }
    }
  }
}

export function oomKills(cg: ContainerCgroups): number {
  if (cg.version === 2) return keyed(tryRead(join(cg.paths['unified'] as string, 'memory.events')), 'oom_kill') ?? 0;
  return keyed(tryRead(join(cg.paths['memory'] as string, 'memory.oom_control')), 'oom_kill') ?? 0;
}

function lines(text: string | undefined): number {
  return text === undefined ? 0 : text.split('\n').filter((l) => l.trim() !== '').length;
}

/** Usage from the container's cgroups. */
export function cgroupStats(cg: ContainerCgroups): CgroupStats {
  const USER_HZ = 100;
  if (cg.version === 2) {
    const dir = cg.paths['unified'] as string;
    const cpuStat = tryRead(join(dir, 'cpu.stat'));
    const memStat = tryRead(join(dir, 'memory.stat'));
    const max = tryRead(join(dir, 'memory.max'))?.trim();
    const cpuMax = tryRead(join(dir, 'cpu.max'))?.trim().split(/\s+/);
    return {
      cpusUserTimeSecs: (keyed(cpuStat, 'user_usec') ?? 0) / 1e6,
      cpusSystemTimeSecs: (keyed(cpuStat, 'system_usec') ?? 0) / 1e6,
      memRssBytes: keyed(memStat, 'anon') ?? 0,
      memTotalBytes: Number(tryRead(join(dir, 'memory.current')) ?? 0),
      memLimitBytes: max === undefined || max === 'max' ? undefined : Number(max),
      processes: lines(tryRead(join(dir, 'cgroup.procs'))),
      threads: lines(tryRead(join(dir, 'cgroup.threads'))),
      cfsQuotaUs: cpuMax?.[0] === undefined || cpuMax[0] === 'max' ? undefined : Number(cpuMax[0]),
      cfsPeriodUs: cpuMax?.[1] === undefined ? undefined : Number(cpuMax[1]),
      oomKills: oomKills(cg),
    };
  }
  const acct = tryRead(join(cg.paths['cpuacct'] as string, 'cpuacct.stat'));
  const mem = cg.paths['memory'] as string;
  const memStat = tryRead(join(mem, 'memory.stat'));
  const limit = Number(tryRead(join(mem, 'memory.limit_in_bytes')) ?? Number.NaN);
  const quota = Number(tryRead(join(cg.paths['cpu'] as string, 'cpu.cfs_quota_us')) ?? -1);
  const period = Number(tryRead(join(cg.paths['cpu'] as string, 'cpu.cfs_period_us')) ?? Number.NaN);
  const freezer = cg.paths['freezer'] as string;
  return {
    cpusUserTimeSecs: (keyed(acct, 'user') ?? 0) / USER_HZ,
    cpusSystemTimeSecs: (keyed(acct, 'system') ?? 0) / USER_HZ,
    memRssBytes: keyed(memStat, 'total_rss') ?? keyed(memStat, 'rss') ?? 0,
    memTotalBytes: Number(tryRead(join(mem, 'memory.usage_in_bytes')) ?? 0),
    memLimitBytes: Number.isFinite(limit) && limit < 2 ** 62 ? limit : undefined,
    processes: lines(tryRead(join(freezer, 'cgroup.procs'))),
    threads: lines(tryRead(join(freezer, 'tasks'))),
    cfsQuotaUs: quota > 0 ? quota : undefined,
    cfsPeriodUs: quota > 0 && Number.isFinite(period) ? period : undefined,
    oomKills: oomKills(cg),
  };
}

/** Whether all of a checkpointed container's cgroups still exist. */
export function cgroupsExist(cg: ContainerCgroups): boolean {
  return Object.values(cg.paths).every((p) => existsSync(p));
}

/** Container ids with a cgroup below the `agora` parent (for orphan cleanup). */
export function listContainerCgroups(host: CgroupsHost): string[] {
  const base = Object.values(host.bases)[0];
  if (base === undefined) return [];
  try {
    return readdirSync(base, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return [];
  }
}
