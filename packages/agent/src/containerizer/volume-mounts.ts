/**
 * How a container gets its volumes (persistent volumes) at
 * `<sandbox>/<containerPath>`, as Mesos' filesystem isolators do:
 *
 * - with a mount namespace (`filesystem/linux`): an empty directory is made
 *   at the mount point on the host, and the container's own, private mount
 *   namespace bind-mounts the volume there (`mount --bind`, then
 *   `mount -o remount,bind,ro` for `RO`). The mounts exist only in the
 *   container's namespace: they vanish with its last process, and the host
 *   (sandbox GC, `/files`, `du`) sees only the empty directory;
 * - without one (`filesystem/posix`): a symlink to the volume directory. `RO`
 *   is not enforced there (a symlink cannot make a directory read-only).
 */
import { existsSync, lstatSync, mkdirSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AgoraError } from '@agora/common';

/** A directory of the host to appear in a container's sandbox. */
export interface VolumeMount {
  /** The volume's directory on the host (absolute). */
  hostPath: string;
  /** Relative to the sandbox, without `..` or empty segments. */
  containerPath: string;
  readOnly: boolean;
}

/**
 * The segments of a container path (relative, without `..`, `.` or empty segments); throws
 * AGORA_ERR_INVALID_VOLUME otherwise (`of` names the volume in the message).
 */
export function containerPathParts(containerPath: string, of?: string): string[] {
  const parts = containerPath.split('/');
  if (containerPath === '' || containerPath.startsWith('/') || parts.some((p) => p === '..' || p === '' || p === '.')) {
    const suffix = of === undefined ? '' : ` of volume '${of}'`;
    throw new AgoraError('AGORA_ERR_INVALID_VOLUME', `bad container_path '${containerPath}'${suffix}`);
  }
  return parts;
}

/** The mount point of `volume` in `sandbox`; throws AGORA_ERR_INVALID_VOLUME for a bad container path. */
export function mountPoint(sandbox: string, volume: VolumeMount): string {
  return join(sandbox, ...containerPathParts(volume.containerPath));
}

function taken(target: string, volume: VolumeMount): AgoraError {
  return new AgoraError(
    'AGORA_ERR_INVALID_VOLUME',
    `the sandbox already has '${volume.containerPath}': a volume cannot be mounted there`,
    { data: { target } },
  );
}

/** True when something (even a dangling link) is at `path`. */
function present(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return existsSync(path);
  }
}

/** `filesystem/posix`: a symlink `<sandbox>/<containerPath>` → the volume directory for each volume. */
export function linkVolumes(sandbox: string, volumes: readonly VolumeMount[]): void {
  for (const v of volumes) {
    const link = mountPoint(sandbox, v);
    if (present(link)) throw taken(link, v);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(v.hostPath, link, 'dir');
  }
}

/** `filesystem/linux`: the empty directories to mount the volumes on (made on the host, in the sandbox). */
export function createMountPoints(sandbox: string, volumes: readonly VolumeMount[]): void {
  for (const v of volumes) {
    const target = mountPoint(sandbox, v);
    if (present(target)) throw taken(target, v);
    mkdirSync(v.hostPath, { recursive: true });
    mkdirSync(target, { recursive: true });
  }
}

/** Quote for /bin/sh: single quotes, with embedded quotes closed and escaped. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Shell lines that bind-mount each volume on its mount point (read-only for RO), to run inside the
 * container's mount namespace; a failure prints `agora: cannot mount ...` and exits 125.
 */
export function mountCommands(sandbox: string, volumes: readonly VolumeMount[]): string {
  return volumes
    .map((v) => {
      const target = shellQuote(mountPoint(sandbox, v));
      const fail = `{ echo ${shellQuote(`agora: cannot mount volume ${v.hostPath} at ${v.containerPath}`)} >&2; exit 125; }`;
      const ro = v.readOnly ? ` && mount -o remount,bind,ro ${target}` : '';
      return `mount --bind ${shellQuote(v.hostPath)} ${target}${ro} || ${fail}\n`;
    })
    .join('');
}
