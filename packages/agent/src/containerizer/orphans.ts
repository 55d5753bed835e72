/**
 * Orphan containers (Mesos' recovery of unknown containers): at recovery the
 * isolating containerizer looks for containers of this agent that no readable
 * checkpoint names (the checkpoint is corrupt or gone, or the agent died
 * between launching a container and checkpointing it) and destroys them.
 * A container is this agent's when
 *
 * - it has a runtime dir `<runtimeDir>/<container>` (every launch makes one),
 * - a live supervisor's command line names `<runtimeDir>/<container>/exit_status`, or
 * - a cgroup `<cgroups root>/<container>` holds a process that is this agent's (its command line names the
 *   runtime dir, or its MESOS_SANDBOX lies under the agent's sandboxes).
 *
 * The last rule matters because agents on one host share the cgroups root:
 * another agent's containers are never touched. Destroying: SIGKILL to the
 * supervisor's process group (which takes a pid namespace with it), kill and
 * remove the cgroups, remove the runtime dir.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '@agora/common';
import {
  type CgroupsHost,
  containerCgroupsOf,
  containerPids,
  destroyContainerCgroups,
  listContainerCgroups,
} from '../isolation/cgroups.js';

export interface OrphanSweep {
  runtimeDir: string;
  /** The agent's sandboxes root (`<work_dir>/agents/`): a process whose MESOS_SANDBOX is below is the agent's. */
  sandboxRoot: string | undefined;
  cgroups: CgroupsHost | undefined;
  /** Containers named by a readable checkpoint: never touched. */
  known: ReadonlySet<string>;
  logger: Logger;
}

function readProc(pid: number | string, file: 'cmdline' | 'environ'): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Live supervisors of this agent's containers: container id → pids. */
function supervisors(runtimeDir: string): Map<string, number[]> {
  const found = new Map<string, number[]>();
  const re = new RegExp(`${escapeRegExp(runtimeDir)}/([^/'\\s]+)/exit_status`);
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return found;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const cmdline = readProc(name, 'cmdline');
    if (cmdline === undefined || !cmdline.includes('agora-supervisor')) continue;
    const id = re.exec(cmdline)?.[1];
    if (id === undefined) continue;
    found.set(id, [...(found.get(id) ?? []), Number(name)]);
  }
  return found;
}

function ownedBy(sweep: OrphanSweep, pids: readonly number[]): boolean {
  const root = sweep.sandboxRoot;
  return pids.some(
    (pid) =>
      (readProc(pid, 'cmdline') ?? '').includes(`${sweep.runtimeDir}/`) ||
      (root !== undefined &&
        (readProc(pid, 'environ') ?? '').split('\0').some((v) => v.startsWith(`MESOS_SANDBOX=${root}`))),
  );
}

function kill(pid: number): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** Destroy every container of this agent that `known` does not name; the ids of those that were still alive. */
export async function destroyOrphanContainers(sweep: OrphanSweep): Promise<string[]> {
  const { runtimeDir, known, logger } = sweep;
  const candidates = new Set<string>();
  try {
    for (const name of readdirSync(runtimeDir)) if (!known.has(name)) candidates.add(name);
  } catch {
    // no runtime dir yet
  }
  const live = supervisors(runtimeDir);
  for (const id of live.keys()) if (!known.has(id)) candidates.add(id);
  if (sweep.cgroups !== undefined) {
    for (const id of listContainerCgroups(sweep.cgroups)) {
      if (known.has(id) || candidates.has(id)) continue;
      if (ownedBy(sweep, containerPids(containerCgroupsOf(sweep.cgroups, id)))) candidates.add(id);
    }
  }
  const destroyed: string[] = [];
  for (const id of candidates) {
    const pids = live.get(id) ?? [];
    for (const pid of pids) kill(pid);
    const cg = sweep.cgroups === undefined ? undefined : containerCgroupsOf(sweep.cgroups, id);
    const inCgroups = cg === undefined ? [] : containerPids(cg);
    const hadCgroups = cg !== undefined && Object.values(cg.paths).some((p) => existsSync(p));
    if (cg !== undefined && hadCgroups) {
      await destroyContainerCgroups(cg).catch((err: unknown) =>
        logger.error({ err, containerId: id }, 'cannot remove the cgroups of an orphan container'),
      );
    }
    rmSync(join(runtimeDir, id), { recursive: true, force: true });
    if (pids.length > 0 || inCgroups.length > 0 || hadCgroups) {
      logger.warn(
        { containerId: id, supervisors: pids, processes: inCgroups.length, cgroups: cg?.paths },
        'destroyed an orphan container (no readable checkpoint names it)',
      );
      destroyed.push(id);
    }
  }
  return destroyed;
}
