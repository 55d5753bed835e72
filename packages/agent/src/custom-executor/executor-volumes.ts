/**
 * The persistent volumes in a custom executor's container (its own and its
 * tasks'), by container path: Mesos mounts a task's volumes into its
 * executor's sandbox. Those known at launch go with the container; a later
 * task's are added to the running container (`Container.addVolumes`: a bind
 * mount in its mount namespace, or a symlink). Each path holds one volume.
 */
import { AgoraError } from '@agora/common';
import type { Container, VolumeMount } from '../containerizer/containerizer.js';
import { linkVolumes } from '../containerizer/volume-mounts.js';

export class ExecutorVolumes {
  private readonly byPath = new Map<string, VolumeMount>();

  constructor(known: readonly VolumeMount[] = []) {
    this.know(known);
  }

  /** The volumes in the container. */
  list(): VolumeMount[] {
    return [...this.byPath.values()];
  }

  /** Record volumes already in the container (at launch, or listed by a checkpoint after a restart). */
  know(volumes: readonly VolumeMount[] | undefined): void {
    for (const v of volumes ?? []) if (!this.byPath.has(v.containerPath)) this.byPath.set(v.containerPath, v);
  }

  /** The volumes of `wanted` not yet in the container; throws AGORA_ERR_INVALID_VOLUME when a path holds another. */
  missing(wanted: readonly VolumeMount[]): VolumeMount[] {
    const out = new Map<string, VolumeMount>();
    for (const v of wanted) {
      const there = this.byPath.get(v.containerPath) ?? out.get(v.containerPath);
      if (there === undefined) out.set(v.containerPath, v);
      else if (there.hostPath !== v.hostPath || there.readOnly !== v.readOnly) {
        throw new AgoraError(
          'AGORA_ERR_INVALID_VOLUME',
          `the executor's sandbox already has another volume at '${v.containerPath}'`,
        );
      }
    }
    return [...out.values()];
  }

  /** Put the missing ones of `wanted` into the running container; the volumes added. Throws when it cannot. */
  addTo(container: Container | undefined, sandbox: string, wanted: readonly VolumeMount[]): VolumeMount[] {
    const added = this.missing(wanted);
    if (added.length === 0) return added;
    if (container === undefined) throw new Error("the executor's container is not running");
    if (container.addVolumes !== undefined) container.addVolumes(added);
    else linkVolumes(sandbox, added);
    this.know(added);
    return added;
  }
}
