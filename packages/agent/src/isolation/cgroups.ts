/**
 * cgroups for containers, v2 (unified) or v1 (one hierarchy per controller),
 * detected at start (or forced with `--cgroups_version`). Each container gets
 * its own cgroup below a parent named by `--cgroups_root`: on v2
 * `<cgroup2 mount>/agora/<container>` (the mount is `/sys/fs/cgroup` on a v2
 * host, `/sys/fs/cgroup/unified` on a hybrid one); on v1, per controller
 * (cpu, cpuacct, memory, freezer), below the agent's own cgroup of that
 * controller (`<mount>/<agent's cgroup>/agora/<container>`), so a container
 * never escapes limits the agent itself runs under.
 *
 * v2 has a core that needs no controller — the container's cgroup, its
 * cgroup.procs, cgroup.events (`populated`), cgroup.kill, cpu.stat — and one
 * part per controller: cpu (cpu.weight, cpu.max) and memory (memory.max,
 * memory.swap.max, memory.events). Only the controllers the hierarchy offers
 * are enabled and written; the limits of a missing one are the posix
 * fallback (`planIsolation` says so). Values and parsing: `cgroup-values.ts`.
 * v1: memory.limit_in_bytes (plus memory.memsw.limit_in_bytes, no swap
 * beyond it), cpu.shares, cpu.cfs_*; an OOM kill shows in
 * memory.oom_control (v1) or memory.events (v2) as `oom_kill N`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readProcStat } from '../monitor/proc.js';
import {
  CFS_PERIOD_US,
  type CgroupsVersionChoice,
  cfsQuotaUs,
  chooseCgroups,
  cpuShares,
  oomKillsIn,
  parseCgroupMounts,
  parseFlatKeyed,
  parseControllers,
  parseCpuMax,
  populatedIn,
  type V2LimitController,
  v2LimitWrites,
} from './cgroup-values.js';

export {
  CFS_PERIOD_US,
  CPU_SHARES_PER_CPU,
  cfsQuotaUs,
  cpuShares,
  MIN_CFS_QUOTA_US,
  MIN_CPU_SHARES,
  MIN_MEMORY_BYTES,
  memoryLimitBytes,
  sharesToWeight,
  V1_CONTROLLERS,
} from './cgroup-values.js';

const PAGE_SIZE = 4096;

export interface CgroupsHost {
  version: 1 | 2;
  /** The `agora` parent: v2 `{ unified: dir }`, v1 one dir per controller. */
  bases: Record<string, string>;
  /**
   * v2: the controllers containers get, of cpu and memory (those the hierarchy offers); absent means both.
   * A limit whose controller is missing is not enforced (posix fallback).
   */
  controllers?: readonly V2LimitController[] | undefined;
  /** v2: the hierarchy's whole `cgroup.controllers` (for the fallback message). */
  available?: readonly string[] | undefined;
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

/** The v2 limit controllers a host's containers get (all of cpu and memory when the host does not say). */
export function v2Controllers(host: CgroupsHost): readonly V2LimitController[] {
  return host.controllers ?? ['cpu', 'memory'];
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

/**
 * Enable the limit controllers for containers: in `cgroup.subtree_control` of
 * the hierarchy's root and of every level down to the `agora` parent (a
 * controller reaches a cgroup only when its parent enables it). Nothing to
 * write when the hierarchy offers none (the v2 core needs no controller).
 */
function enableV2Controllers(mount: string, root: string, controllers: readonly string[]): void {
  let dir = mount;
  const levels = [mount];
  for (const part of root.split('/').filter((p) => p !== '')) {
    dir = join(dir, part);
    mkdirSync(dir, { recursive: true });
    levels.push(dir);
  }
  if (controllers.length === 0) return;
  const enable = controllers.map((c) => `+${c}`).join(' ');
  for (const level of levels) writeFileSync(join(level, 'cgroup.subtree_control'), enable);
}

/**
 * Find usable cgroups (`chooseCgroups` decides: `auto` prefers a v2
 * hierarchy with cpu and memory, then v1, then v2 with what it offers;
 * `v1`/`v2` force one). Creates the `agora` parent.
 */
export function detectCgroups(root: string, want: CgroupsVersionChoice = 'auto'): { host?: CgroupsHost; why?: string } {
  if (process.platform !== 'linux') return { why: 'not Linux' };
  if (process.getuid?.() !== 0) return { why: 'the agent is not running as root' };
  try {
    const mounts = parseCgroupMounts(read('/proc/self/mounts'));
    const unifiedControllers =
      mounts.unified === undefined ? [] : parseControllers(tryRead(join(mounts.unified, 'cgroup.controllers')));
    const { choice, why } = chooseCgroups(mounts, unifiedControllers, want);
    if (choice === undefined) return { why };
    if (choice.version === 2) {
      enableV2Controllers(choice.mount, root, choice.controllers);
      const base = join(choice.mount, root);
      return {
        host: { version: 2, bases: { unified: base }, controllers: choice.controllers, available: choice.available },
      };
    }
    const own = ownV1Paths();
    const bases: Record<string, string> = {};
    for (const [c, mount] of Object.entries(choice.mounts)) {
      const base = join(mount, own.get(c) ?? '/', root);
      mkdirSync(base, { recursive: true });
      bases[c] = base;
    }
    return { host: { version: 1, bases } };
  } catch (err) {
    return { why: `cannot set up the ${root} cgroup: ${(err as Error).message}` };
  }
}

/** Where a container's cgroups are (or would be): `<base>/<containerId>` for each controller. */
export function containerCgroupsOf(host: CgroupsHost, containerId: string): ContainerCgroups {
  const paths: Record<string, string> = {};
  for (const [c, base] of Object.entries(host.bases)) paths[c] = join(base, containerId);
  return { version: host.version, paths };
}

/** Create a container's cgroups and set its limits. */
export function createContainerCgroups(host: CgroupsHost, containerId: string, limits: CgroupLimits): ContainerCgroups {
  const cg = containerCgroupsOf(host, containerId);
  const { paths } = cg;
  for (const dir of Object.values(paths)) mkdirSync(dir, { recursive: true });
  if (host.version === 2) {
    // Only the controllers the host enabled are written; the plan asks for no limit of a missing one.
    const dir = paths['unified'] as string;
    for (const w of v2LimitWrites(limits, v2Controllers(host)).writes) {
      if (w.ifPresent === true && !existsSync(join(dir, w.file))) continue;
      writeFileSync(join(dir, w.file), w.value);
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

/**
 * Whether the container holds no live process: on v2 from its cgroup.events
 * (`populated 0`; a killed process counts as gone even before its parent
 * reaps it), on v1 from the freezer cgroup's cgroup.procs. A cgroup that
 * does not exist is empty.
 */
export function isContainerEmpty(cg: ContainerCgroups): boolean {
  if (cg.version === 2) {
    const populated = populatedIn(tryRead(join(listingDir(cg), 'cgroup.events')));
    if (populated !== undefined) return !populated;
  }
  return containerPids(cg).length === 0;
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
    if (isContainerEmpty(cg)) return true;
    const pids = containerPids(cg);
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
  return isContainerEmpty(cg);
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
  if (cg.version === 2) return oomKillsIn(tryRead(join(cg.paths['unified'] as string, 'memory.events')));
  return oomKillsIn(tryRead(join(cg.paths['memory'] as string, 'memory.oom_control')));
}

function lines(text: string | undefined): number {
  return text === undefined ? 0 : text.split('\n').filter((l) => l.trim() !== '').length;
}

/** Resident memory of the container's processes from /proc (v2 without the memory controller). */
function procRssBytes(cg: ContainerCgroups): number {
  let bytes = 0;
  for (const pid of containerPids(cg)) bytes += (readProcStat(pid)?.rssPages ?? 0) * PAGE_SIZE;
  return bytes;
}

/**
 * v2 usage. cpu.stat, cgroup.procs and cgroup.threads are the core (there
 * without the cpu controller); the memory files exist only with the memory
 * controller: without it, memory is the RSS of the container's processes
 * from /proc (as the posix fallback measures it).
 */
function v2Stats(dir: string, cg: ContainerCgroups): CgroupStats {
  const cpuStat = parseFlatKeyed(tryRead(join(dir, 'cpu.stat')));
  const current = tryRead(join(dir, 'memory.current'));
  const max = tryRead(join(dir, 'memory.max'))?.trim();
  const cpuMax = parseCpuMax(tryRead(join(dir, 'cpu.max')));
  let memRssBytes: number;
  let memTotalBytes: number;
  if (current === undefined) {
    memRssBytes = procRssBytes(cg);
    memTotalBytes = memRssBytes;
  } else {
    memRssBytes = parseFlatKeyed(tryRead(join(dir, 'memory.stat'))).get('anon') ?? 0;
    memTotalBytes = Number(current);
  }
  return {
    cpusUserTimeSecs: (cpuStat.get('user_usec') ?? 0) / 1e6,
    cpusSystemTimeSecs: (cpuStat.get('system_usec') ?? 0) / 1e6,
    memRssBytes,
    memTotalBytes,
    memLimitBytes: max === undefined || max === 'max' ? undefined : Number(max),
    processes: lines(tryRead(join(dir, 'cgroup.procs'))),
    threads: lines(tryRead(join(dir, 'cgroup.threads'))),
    cfsQuotaUs: cpuMax.quotaUs,
    cfsPeriodUs: cpuMax.quotaUs === undefined ? undefined : cpuMax.periodUs,
    oomKills: oomKills(cg),
  };
}

/** Usage from the container's cgroups. */
export function cgroupStats(cg: ContainerCgroups): CgroupStats {
  const USER_HZ = 100;
  if (cg.version === 2) return v2Stats(cg.paths['unified'] as string, cg);
  const acct = parseFlatKeyed(tryRead(join(cg.paths['cpuacct'] as string, 'cpuacct.stat')));
  const mem = cg.paths['memory'] as string;
  const memStat = parseFlatKeyed(tryRead(join(mem, 'memory.stat')));
  const limit = Number(tryRead(join(mem, 'memory.limit_in_bytes')) ?? Number.NaN);
  const quota = Number(tryRead(join(cg.paths['cpu'] as string, 'cpu.cfs_quota_us')) ?? -1);
  const period = Number(tryRead(join(cg.paths['cpu'] as string, 'cpu.cfs_period_us')) ?? Number.NaN);
  const freezer = cg.paths['freezer'] as string;
  return {
    cpusUserTimeSecs: (acct.get('user') ?? 0) / USER_HZ,
    cpusSystemTimeSecs: (acct.get('system') ?? 0) / USER_HZ,
    memRssBytes: memStat.get('total_rss') ?? memStat.get('rss') ?? 0,
    memTotalBytes: Number(tryRead(join(mem, 'memory.usage_in_bytes')) ?? 0),
    memLimitBytes: Number.isFinite(limit) && limit < 2 ** 62 ? limit : undefined,
    processes: lines(tryRead(join(freezer, 'cgroup.procs'))),
    threads: lines(tryRead(join(freezer, 'tasks'))),
    cfsQuotaUs: quota > 0 ? quota : undefined,
    cfsPeriodUs: quota > 0 && Number.isFinite(period) ? period : undefined,
    oomKills: oomKills(cg),
  };
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
