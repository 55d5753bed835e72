/**
 * Usage from /proc for the posix fallback: the processes of a container are
 * those in its process group (the launcher's pid). Also a process's start
 * time, which tells a recovered pid from a reused one.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Kernel clock ticks per second (USER_HZ; 100 on every Linux ABI Node runs on). */
const USER_HZ = 100;
const PAGE_SIZE = 4096;

interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
  pgrp: number;
  utime: number;
  stime: number;
  threads: number;
  startTime: number;
  rssPages: number;
}

export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may contain spaces: split after the last ')'.
  const close = text.lastIndexOf(')');
  const f = text.slice(close + 2).split(' ');
  // f[0] is field 3 (state); field n is f[n - 3].
  return {
    pid,
    state: f[0] ?? '?',
    ppid: Number(f[1]),
    pgrp: Number(f[2]),
    utime: Number(f[11]),
    stime: Number(f[12]),
    threads: Number(f[17]),
    startTime: Number(f[19]),
    rssPages: Number(f[21]),
  };
}

/** The process's start time (clock ticks since boot), or undefined when it does not exist. */
export function processStartTime(pid: number): number | undefined {
  return readProcStat(pid)?.startTime;
}

/** Whether `pid` is still the process that started at `startTime` and has not exited (zombies count as exited). */
export function isProcessAlive(pid: number, startTime: number | undefined): boolean {
  const stat = readProcStat(pid);
  if (stat === undefined || stat.state === 'Z' || stat.state === 'X') return false;
  return startTime === undefined || stat.startTime === startTime;
}

export interface ProcUsage {
  cpusUserTimeSecs: number;
  cpusSystemTimeSecs: number;
  memRssBytes: number;
  processes: number;
  threads: number;
}

/** Sum the usage of every live process in process group `pgid`. */
export function processGroupUsage(pgid: number): ProcUsage {
  const usage: ProcUsage = { cpusUserTimeSecs: 0, cpusSystemTimeSecs: 0, memRssBytes: 0, processes: 0, threads: 0 };
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return usage;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProcStat(Number(name));
    if (stat === undefined || stat.pgrp !== pgid || stat.state === 'Z') continue;
    usage.cpusUserTimeSecs += stat.utime / USER_HZ;
    usage.cpusSystemTimeSecs += stat.stime / USER_HZ;
    usage.memRssBytes += stat.rssPages * PAGE_SIZE;
    usage.processes += 1;
    usage.threads += stat.threads;
  }
  return usage;
}

/** The pid namespace a process is in (`pid:[4026532201]`), or undefined when it is gone. */
export function pidNamespaceOf(pid: number | 'self'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

/**
 * The first process below `root` (breadth-first, live processes only) that is
 * in another pid namespace than the agent: the init of a container's pid
 * namespace (supervisor → unshare → init). Undefined when there is none.
 */
export function namespaceInitBelow(root: number): number | undefined {
  const own = pidNamespaceOf('self');
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const children = new Map<number, number[]>();
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProcStat(Number(name));
    if (stat === undefined || stat.state === 'Z' || stat.state === 'X') continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(stat.pid);
    children.set(stat.ppid, list);
  }
  const queue = [...(children.get(root) ?? [])];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    const ns = pidNamespaceOf(pid);
    if (ns !== undefined && ns !== own) return pid;
    queue.push(...(children.get(pid) ?? []));
  }
  return undefined;
}

/** The host's boot id; a different one means the host rebooted. */
export function readBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}
