/**
 * Persistent volumes (Mesos CREATE / DESTROY, `/create-volumes`,
 * `/destroy-volumes`) as pure planning functions: given an agent's
 * reservations and volumes, what is available, and the request, they return
 * the agent's next state or throw — before anything changes — with a typed
 * error:
 *
 * - AGORA_ERR_INVALID_VOLUME: no `disk.persistence` / `disk.volume`, a bad id
 *   or container path, not a scalar `disk`, or not on reserved disk;
 * - AGORA_ERR_VOLUME_EXISTS: the persistence id is already used by the role on
 *   the agent (or twice in the request);
 * - AGORA_ERR_INVALID_OPERATION: the reserved disk is not available (not in
 *   the offer, or in use);
 * - AGORA_ERR_UNKNOWN_VOLUME: DESTROY of a volume the agent does not have;
 * - AGORA_ERR_VOLUME_IN_USE: DESTROY of a volume a live task uses.
 *
 * A volume on dynamically reserved disk lives inside that reservation (so
 * UNRESERVE of its disk is refused until it is destroyed); a volume on
 * statically reserved disk (agent `--resources='disk(role):…'`) is kept apart.
 */
import { AgoraError, Resources, toAgoraError } from '@agora/common';
import type { Resource } from '@agora/proto';
import type { DynamicReservation } from './types.js';

/** An agent's reservations and volumes, as the ledger keeps them. */
export interface VolumeState {
  /** Dynamic reservations; a volume on dynamically reserved disk is inside its reservation. */
  parts: readonly DynamicReservation[];
  /** Volumes on statically reserved disk. */
  staticVolumes: Resources;
  /** The agent's total resources. */
  total: Resources;
}

export interface VolumePlan {
  state: VolumeState;
  /** What is left available after the operation. */
  available: Resources;
}

function fail(code: 'AGORA_ERR_INVALID_VOLUME' | 'AGORA_ERR_VOLUME_EXISTS', message: string): AgoraError {
  return new AgoraError(code, message);
}

/**
 * Parse the volumes of a CREATE / DESTROY: each a scalar `disk` with `disk.persistence` and `disk.volume`,
 * reserved (role from `reservations[]`, last entry, or the legacy `role`). Throws AGORA_ERR_INVALID_VOLUME.
 */
export function parseVolumes(list: readonly Resource[], what: 'create' | 'destroy'): Resources {
  if (list.length === 0) throw fail('AGORA_ERR_INVALID_VOLUME', `${what}: no volumes given`);
  let out = Resources.empty();
  list.forEach((r, i) => {
    const where = `${what}: volume #${i}`;
    if (r === null || typeof r !== 'object') throw fail('AGORA_ERR_INVALID_VOLUME', `${where} is not a Resource`);
    if (r.name !== 'disk') {
      throw fail('AGORA_ERR_INVALID_VOLUME', `${where}: only 'disk' resources can be volumes, not '${r.name}'`);
    }
    if (!r.disk?.persistence || !r.disk.volume) {
      throw fail('AGORA_ERR_INVALID_VOLUME', `${where}: a volume needs disk.persistence (id) and disk.volume`);
    }
    const last = r.reservations && r.reservations.length > 0 ? r.reservations[r.reservations.length - 1] : undefined;
    const role = last?.role || (r.role && r.role !== '*' ? r.role : undefined);
    if (!role || role === '*') {
      throw fail('AGORA_ERR_INVALID_VOLUME', `${where}: a persistent volume must be on reserved disk (give its role)`);
    }
    let one: Resources;
    try {
      // The reservation's principal and labels (`reservations[]`) name the reserved disk the volume is on.
      one = Resources.fromProto([{ ...r, role }]);
    } catch (err) {
      throw fail('AGORA_ERR_INVALID_VOLUME', toAgoraError(err).message);
    }
    if (one.volumes().isEmpty()) throw fail('AGORA_ERR_INVALID_VOLUME', `${where}: its size must be positive`);
    for (const v of one.volumeList()) {
      if (out.volumeList().some((x) => x.role === v.role && x.volume.id === v.volume.id)) {
        throw fail('AGORA_ERR_VOLUME_EXISTS', `${what}: volume '${v.volume.id}' (role ${v.role}) is given twice`);
      }
    }
    out = out.add(one);
  });
  return out;
}

/** All volumes of the agent (in its reservations and on static disk). */
export function volumesOf(state: VolumeState): Resources {
  return state.parts.reduce((acc, p) => acc.add(p.resources.volumes()), state.staticVolumes);
}

/** Check a CREATE against `available` and the agent's volumes; the plan changes nothing until committed. */
export function planCreate(
  agentId: string,
  state: VolumeState,
  volumes: Resources,
  available: Resources,
  principal?: { framework: string | undefined },
): VolumePlan {
  const existing = volumesOf(state).volumeList();
  let parts = state.parts.map((p) => ({ ...p }));
  let staticVolumes = state.staticVolumes;
  let total = state.total;
  let left = available;
  for (const v of volumes.volumeList()) {
    const name = `'${v.volume.id}' (role ${v.role})`;
    if (existing.some((x) => x.role === v.role && x.volume.id === v.volume.id)) {
      throw fail('AGORA_ERR_VOLUME_EXISTS', `create: volume ${name} already exists on agent ${agentId}`);
    }
    if (principal !== undefined && v.volume.principal !== undefined && v.volume.principal !== principal.framework) {
      throw fail(
        'AGORA_ERR_INVALID_VOLUME',
        `create: volume ${name} names principal '${v.volume.principal}', not the framework's ('${principal.framework ?? ''}')`,
      );
    }
    const plain = v.resources.withoutVolumeInfo();
    if (!left.contains(plain)) {
      throw new AgoraError(
        'AGORA_ERR_INVALID_OPERATION',
        `create: volume ${name} needs '${plain}', which is not available (available: '${left.reservedFor(v.role)}')`,
      );
    }
    const i = parts.findIndex((p) => p.role === v.role && p.resources.contains(plain));
    if (i >= 0) {
      const p = parts[i]!;
      parts[i] = { ...p, resources: p.resources.subtract(plain).add(v.resources) };
    } else {
      const dynamic = parts.reduce((acc, p) => acc.add(p.resources), Resources.empty());
      const staticDisk = total.reservedFor(v.role).withoutVolumes().subtractSaturating(dynamic);
      if (!staticDisk.contains(plain)) {
        throw fail(
          'AGORA_ERR_INVALID_VOLUME',
          `create: volume ${name} must be made on disk of one reservation ('${plain}' spans several)`,
        );
      }
      staticVolumes = staticVolumes.add(v.resources);
    }
    total = total.subtract(plain).add(v.resources);
    left = left.subtract(plain).add(v.resources);
    existing.push(v);
  }
  parts = parts.filter((p) => !p.resources.isEmpty());
  return { state: { parts, staticVolumes, total }, available: left };
}

/** Check a DESTROY: the volumes must exist, be used by no live task (`inUse`) and be `available`. */
export function planDestroy(
  agentId: string,
  state: VolumeState,
  volumes: Resources,
  available: Resources,
  inUse: Resources,
): VolumePlan {
  const parts = state.parts.map((p) => ({ ...p }));
  let staticVolumes = state.staticVolumes;
  let total = state.total;
  let left = available;
  const all = volumesOf(state);
  for (const v of volumes.volumeList()) {
    const name = `'${v.volume.id}' (role ${v.role})`;
    if (!all.contains(v.resources)) {
      throw new AgoraError('AGORA_ERR_UNKNOWN_VOLUME', `destroy: agent ${agentId} has no volume ${name} like that`, {
        data: { agentId, id: v.volume.id, role: v.role },
      });
    }
    if (inUse.volumeList().some((x) => x.role === v.role && x.volume.id === v.volume.id)) {
      throw new AgoraError('AGORA_ERR_VOLUME_IN_USE', `destroy: volume ${name} is in use by a task on ${agentId}`, {
        data: { agentId, id: v.volume.id, role: v.role },
      });
    }
    if (!left.contains(v.resources)) {
      throw new AgoraError('AGORA_ERR_INVALID_OPERATION', `destroy: volume ${name} is not available (not offered)`);
    }
    const plain = v.resources.withoutVolumeInfo();
    const i = parts.findIndex((p) => p.resources.contains(v.resources));
    if (i >= 0) {
      const p = parts[i]!;
      parts[i] = { ...p, resources: p.resources.subtract(v.resources).add(plain) };
    } else {
      staticVolumes = staticVolumes.subtract(v.resources);
    }
    total = total.subtract(v.resources).add(plain);
    left = left.subtract(v.resources).add(plain);
  }
  return { state: { parts, staticVolumes, total }, available: left };
}
