/**
 * The agent's checkpointed resources and persistent volumes (Mesos'
 * `meta/resources/resources_info` and `<work_dir>/volumes`):
 *
 * ```
 * <work_dir>/meta/resources/resources.pb           the last CheckpointResources from the master (protobuf)
 * <work_dir>/volumes/roles/<role>/<persistence_id> one directory per persistent volume
 * ```
 *
 * The master sends the agent's whole set of dynamic reservations and volumes
 * after each change; `apply` writes it atomically first, then creates the
 * directories of new volumes and removes those of destroyed ones (so a crash
 * in between leaves at worst an extra directory, never a volume without its
 * checkpoint). `recover` reads it back at start; the agent sends it in
 * Register / Reregister so a new master can rebuild its reservations.
 *
 * A task whose resources include a volume gets it in its sandbox at
 * `container_path` (`resolve` → `LaunchSpec.volumes`): the isolating
 * containerizer bind-mounts it in the container's own mount namespace
 * (read-only for `RO`), the posix fallback links it (`RO` not enforced); see
 * `containerizer/volume-mounts.ts`. The data outlives the task; sandbox GC
 * never reaches the volume.
 * A role's '/' becomes ' ' in the directory name, as in Mesos.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AgoraError, type Logger, silentLogger } from '@agora/common';
import { agora, type Resource } from '@agora/proto';
import { atomicWrite } from '../checkpoint/checkpoint.js';
import { containerPathParts, linkVolumes, type VolumeMount } from '../containerizer/volume-mounts.js';

const CheckpointResources = agora.v1.agent.MasterToAgent.CheckpointResources;

/** The checkpoint file of the agent's resources. */
export function resourcesCheckpointFile(workDir: string): string {
  return join(workDir, 'meta', 'resources', 'resources.pb');
}

function safeSegment(kind: string, value: string): string {
  if (value === '' || value === '.' || value === '..' || value.includes('/') || value.includes('\0')) {
    throw new AgoraError('AGORA_ERR_INVALID_VOLUME', `${kind} ${JSON.stringify(value)} cannot name a directory`);
  }
  return value;
}

/** `<work_dir>/volumes/roles/<role>/<id>` (a hierarchical role's '/' is written ' '). */
export function volumeDir(workDir: string, role: string, persistenceId: string): string {
  return join(
    workDir,
    'volumes',
    'roles',
    safeSegment('role', role.replaceAll('/', ' ')),
    safeSegment('persistence id', persistenceId),
  );
}

/** A persistent volume named by a resource. */
export interface VolumeRef {
  role: string;
  id: string;
  containerPath: string;
  mode: 'RW' | 'RO';
}

function roleOf(r: Resource): string {
  const last = r.reservations && r.reservations.length > 0 ? r.reservations[r.reservations.length - 1] : undefined;
  return last?.role || r.role || '*';
}

/** The persistent volumes among `resources`. */
export function volumesIn(resources: readonly Resource[]): VolumeRef[] {
  const out: VolumeRef[] = [];
  for (const r of resources) {
    const id = r.disk?.persistence?.id;
    if (r.name !== 'disk' || !id) continue;
    out.push({
      role: roleOf(r),
      id,
      containerPath: r.disk?.volume?.container_path ?? '',
      mode: r.disk?.volume?.mode === agora.v1.Volume.Mode.RO ? 'RO' : 'RW',
    });
  }
  return out;
}

const key = (v: { role: string; id: string }) => `${v.role}\u0000${v.id}`;

export class PersistentVolumes {
  private resources: Resource[] = [];
  private readonly logger: Logger;

  constructor(
    private readonly workDir: string,
    logger?: Logger,
  ) {
    this.logger = logger ?? silentLogger();
  }

  /** The checkpointed resources (sent in Register / Reregister). */
  checkpointed(): Resource[] {
    return this.resources.slice();
  }

  /** The checkpointed volumes. */
  volumes(): VolumeRef[] {
    return volumesIn(this.resources);
  }

  /** Read the checkpoint (none: empty) and make sure every checkpointed volume has its directory. */
  recover(): void {
    const file = resourcesCheckpointFile(this.workDir);
    if (!existsSync(file)) return;
    try {
      const decoded = CheckpointResources.decode(readFileSync(file));
      this.resources = decoded.resources.map((r) => agora.v1.Resource.toObject(r) as Resource);
    } catch (err) {
      throw new AgoraError('AGORA_ERR_CHECKPOINT', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
    for (const v of this.volumes()) mkdirSync(volumeDir(this.workDir, v.role, v.id), { recursive: true });
    this.logger.info({ resources: this.resources.length, volumes: this.volumes().length }, 'checkpointed resources');
  }

  /**
   * The master's CheckpointResources: write it atomically, then create new volumes' directories and remove
   * destroyed ones'. Throws (nothing changed) when the list names a volume that cannot be a directory.
   */
  apply(resources: readonly Resource[]): void {
    const next = volumesIn(resources);
    for (const v of next) volumeDir(this.workDir, v.role, v.id); // validates before anything is written
    const before = new Map(this.volumes().map((v) => [key(v), v]));
    const bytes = CheckpointResources.encode(CheckpointResources.create({ resources: [...resources] })).finish();
    atomicWrite(resourcesCheckpointFile(this.workDir), bytes);
    this.resources = resources.map((r) => agora.v1.Resource.toObject(r as agora.v1.Resource) as Resource);
    const after = new Set(next.map(key));
    for (const v of next) {
      const dir = volumeDir(this.workDir, v.role, v.id);
      if (!before.has(key(v))) this.logger.info({ role: v.role, id: v.id, dir }, 'persistent volume created');
      mkdirSync(dir, { recursive: true });
    }
    for (const [k, v] of before) {
      if (after.has(k)) continue;
      const dir = volumeDir(this.workDir, v.role, v.id);
      rmSync(dir, { recursive: true, force: true });
      this.logger.info({ role: v.role, id: v.id, dir }, 'persistent volume destroyed');
    }
  }

  /**
   * The task's (or executor's) volumes, for the containerizer to mount (`LaunchSpec.volumes`): each at
   * `<sandbox>/<container_path>`, read-only for `RO`. Throws AGORA_ERR_INVALID_VOLUME for a volume this
   * agent has not checkpointed or a bad container path.
   */
  resolve(resources: readonly Resource[]): VolumeMount[] {
    const known = new Set(this.volumes().map(key));
    return volumesIn(resources).map((v) => {
      if (!known.has(key(v))) {
        throw new AgoraError(
          'AGORA_ERR_INVALID_VOLUME',
          `persistent volume '${v.id}' (role ${v.role}) is not checkpointed on this agent`,
        );
      }
      containerPathParts(v.containerPath, v.id);
      return {
        hostPath: volumeDir(this.workDir, v.role, v.id),
        containerPath: v.containerPath,
        readOnly: v.mode === 'RO',
      };
    });
  }

  /**
   * Make the task's volumes appear in its sandbox as symlinks (the posix way: `RO` not enforced). Throws
   * AGORA_ERR_INVALID_VOLUME for a volume this agent has not checkpointed or a path that is taken.
   */
  linkIntoSandbox(sandbox: string, taskResources: readonly Resource[]): void {
    const mounts = this.resolve(taskResources);
    for (const m of mounts) mkdirSync(m.hostPath, { recursive: true });
    linkVolumes(sandbox, mounts);
  }
}
