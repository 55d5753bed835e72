/**
 * The pure part of the cgroups isolator (no I/O): Mesos' limit rules and
 * their cgroup v1/v2 values, the parsing of cgroup files, and the choice of
 * hierarchy from the host's mount table.
 *
 * Limits (Mesos' rules): cpu shares = max(2, 1024 × cpus); v2 has no shares,
 * so cpu.weight = 1 + (shares − 2) × 9999 / 262142 (the kernel's and runc's
 * mapping from the [2, 262144] shares range onto [1, 10000]). With CFS:
 * period 100 ms, quota = max(1 ms, cpus × 100 ms) (cpu.cfs_quota_us or
 * cpu.max). Memory: max(32 MB, mem).
 */

export const CPU_SHARES_PER_CPU = 1024;
export const MIN_CPU_SHARES = 2;
export const CFS_PERIOD_US = 100_000;
export const MIN_CFS_QUOTA_US = 1000;
/** Mesos' MIN_MEMORY: a container never gets less. */
export const MIN_MEMORY_BYTES = 32 * 1024 * 1024;
/** v1 hierarchies the agent needs. */
export const V1_CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'freezer'] as const;
/** The cgroup v2 controllers that carry the agent's limits. */
export const V2_LIMIT_CONTROLLERS = ['cpu', 'memory'] as const;
export type V2LimitController = (typeof V2_LIMIT_CONTROLLERS)[number];

/** Which cgroup hierarchy the agent uses: `auto` (detected), or forced (`--cgroups_version`). */
export type CgroupsVersionChoice = 'auto' | 'v1' | 'v2';
export const CGROUPS_VERSION_CHOICES: readonly CgroupsVersionChoice[] = ['auto', 'v1', 'v2'];

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

/** cgroup v2 `cpu.max` for a CFS cap at `cpus`: `"<quota> <period>"`. */
export function cpuMaxValue(cpus: number): string {
  return `${cfsQuotaUs(cpus)} ${CFS_PERIOD_US}`;
}

/** Parse cgroup v2 `cpu.max` (`"max 100000"` or `"50000 100000"`): the quota is undefined when unlimited. */
export function parseCpuMax(text: string | undefined): { quotaUs: number | undefined; periodUs: number | undefined } {
  const [quota, period] = (text ?? '').trim().split(/\s+/);
  const p = Number(period);
  return {
    quotaUs: quota === undefined || quota === '' || quota === 'max' ? undefined : Number(quota),
    periodUs: period === undefined || !Number.isFinite(p) ? undefined : p,
  };
}

/** Parse a flat keyed cgroup file (`key value` per line: memory.events, cpu.stat, memory.oom_control, cgroup.events). */
export function parseFlatKeyed(text: string | undefined): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k === undefined || k === '' || v === undefined) continue;
    const n = Number(v);
    if (Number.isFinite(n)) map.set(k, n);
  }
  return map;
}

/** OOM kills counted in memory.events (v2) or memory.oom_control (v1): the `oom_kill` line, 0 without one. */
export function oomKillsIn(text: string | undefined): number {
  return parseFlatKeyed(text).get('oom_kill') ?? 0;
}

/** Whether a v2 cgroup (or a descendant) still holds a live process, from its `cgroup.events`; undefined if unknown. */
export function populatedIn(eventsText: string | undefined): boolean | undefined {
  const populated = parseFlatKeyed(eventsText).get('populated');
  return populated === undefined ? undefined : populated !== 0;
}

/** A cgroup v2 controller list (`cgroup.controllers`, `cgroup.subtree_control`). */
export function parseControllers(text: string | undefined): string[] {
  return (text ?? '')
    .trim()
    .split(/\s+/)
    .filter((c) => c !== '');
}

export interface V2LimitWrite {
  controller: V2LimitController;
  file: string;
  value: string;
  /** Written only when the file exists (memory.swap.max is absent without swap accounting). */
  ifPresent?: boolean;
}

export interface V2Limits {
  cpus?: number | undefined;
  memBytes?: number | undefined;
  /** Hard cap at `cpus` (CFS quota). */
  cfs: boolean;
}

/**
 * The cgroup v2 files a container's limits are written to, for the
 * controllers the container's cgroup has. Limits whose controller is missing
 * are returned in `unenforced` (the posix fallback takes them).
 */
export function v2LimitWrites(
  limits: V2Limits,
  controllers: readonly string[],
): { writes: V2LimitWrite[]; unenforced: V2LimitController[] } {
  const wanted: V2LimitWrite[] = [];
  if (limits.cpus !== undefined) {
    wanted.push({ controller: 'cpu', file: 'cpu.weight', value: String(sharesToWeight(cpuShares(limits.cpus))) });
    if (limits.cfs) wanted.push({ controller: 'cpu', file: 'cpu.max', value: cpuMaxValue(limits.cpus) });
  }
  if (limits.memBytes !== undefined) {
    wanted.push({ controller: 'memory', file: 'memory.max', value: String(limits.memBytes) });
    wanted.push({ controller: 'memory', file: 'memory.swap.max', value: '0', ifPresent: true });
  }
  const writes = wanted.filter((w) => controllers.includes(w.controller));
  const unenforced = [...new Set(wanted.filter((w) => !controllers.includes(w.controller)).map((w) => w.controller))];
  return { writes, unenforced };
}

/** The cgroup hierarchies mounted on a host. */
export interface CgroupMounts {
  /** The cgroup2 mount: `/sys/fs/cgroup` on a v2 host, `/sys/fs/cgroup/unified` on a hybrid one. */
  unified: string | undefined;
  /** v1 controller (and `name=` option) → mount point. */
  v1: Map<string, string>;
}

/** Parse `/proc/self/mounts` for cgroup hierarchies (the first mount of each wins). */
export function parseCgroupMounts(mountsText: string): CgroupMounts {
  let unified: string | undefined;
  const v1 = new Map<string, string>();
  for (const line of mountsText.split('\n')) {
    const [, dir, type, opts] = line.split(' ');
    if (dir === undefined || opts === undefined) continue;
    if (type === 'cgroup2') unified ??= dir;
    else if (type === 'cgroup') for (const o of opts.split(',')) if (!v1.has(o)) v1.set(o, dir);
  }
  return { unified, v1 };
}

/** What the agent found, and uses. */
export type CgroupsChoice =
  | { version: 1; mounts: Record<string, string> }
  | {
      version: 2;
      mount: string;
      /** Of cpu and memory, the controllers the v2 hierarchy offers (its root's cgroup.controllers). */
      controllers: V2LimitController[];
      /** The hierarchy's whole cgroup.controllers, for messages. */
      available: string[];
    };

/**
 * Choose the hierarchy. `auto`: v2 when its mount offers cpu and memory;
 * else v1 when the cpu, cpuacct, memory and freezer hierarchies are all
 * mounted; else v2 with what it offers (missing limits fall back to posix).
 * `v1` / `v2` force that hierarchy (v2's core: a cgroup per container,
 * cgroup.procs, cgroup.events, cgroup.kill, needs no controller).
 */
export function chooseCgroups(
  mounts: CgroupMounts,
  /** The v2 root's cgroup.controllers, when there is a v2 mount. */
  unifiedControllers: readonly string[],
  want: CgroupsVersionChoice,
): { choice: CgroupsChoice; why?: undefined } | { choice?: undefined; why: string } {
  const v2 = (mount: string): CgroupsChoice => ({
    version: 2,
    mount,
    controllers: V2_LIMIT_CONTROLLERS.filter((c) => unifiedControllers.includes(c)),
    available: [...unifiedControllers],
  });
  const missingV1 = V1_CONTROLLERS.filter((c) => !mounts.v1.has(c));
  const v1 = (): CgroupsChoice => ({
    version: 1,
    mounts: Object.fromEntries(V1_CONTROLLERS.map((c) => [c, mounts.v1.get(c) as string])),
  });
  const noV2 = 'no cgroup2 hierarchy is mounted (none in /proc/self/mounts)';
  const noV1 = `cgroup v1 controller ${missingV1.join(', ')} is not mounted`;
  if (want === 'v2') return mounts.unified === undefined ? { why: noV2 } : { choice: v2(mounts.unified) };
  if (want === 'v1') return missingV1.length > 0 ? { why: noV1 } : { choice: v1() };
  if (mounts.unified !== undefined && V2_LIMIT_CONTROLLERS.every((c) => unifiedControllers.includes(c))) {
    return { choice: v2(mounts.unified) };
  }
  if (missingV1.length === 0) return { choice: v1() };
  if (mounts.unified !== undefined) return { choice: v2(mounts.unified) };
  return { why: `${noV2}, and ${noV1}` };
}
