/**
 * The agent's checkpointed resources (Mesos' `checkpointed_resources`): its
 * dynamic reservations and persistent volumes as a list of Resource protos,
 * which the master sends in `MasterToAgent.checkpoint_resources` after every
 * RESERVE / UNRESERVE / CREATE / DESTROY and the agent sends back when it
 * registers. Each resource carries its reservation (`reservations: [{DYNAMIC,
 * role, principal, labels}]`, or `[{STATIC, role}]` for a volume on statically
 * reserved disk) and, for a volume, its `disk` info. Pure.
 */
import { Resources, toAgoraError } from '@agora/common';
import { agora, type Resource } from '@agora/proto';
import type { DynamicReservation } from './types.js';

const { STATIC, DYNAMIC } = agora.v1.Resource.ReservationInfo.Type;

type Label = DynamicReservation['labels'][number];

/** The checkpoint of an agent's reservations and static volumes. */
export function toCheckpointed(parts: readonly DynamicReservation[], staticVolumes: Resources): Resource[] {
  const out: Resource[] = [];
  for (const p of parts) {
    const reservation: agora.v1.Resource.IReservationInfo = {
      type: DYNAMIC,
      role: p.role,
      ...(p.principal === undefined ? {} : { principal: p.principal }),
      ...(p.labels.length === 0 ? {} : { labels: { labels: p.labels.map((l) => ({ ...l })) } }),
    };
    for (const r of p.resources.toProto()) out.push({ ...r, reservations: [reservation] });
  }
  for (const r of staticVolumes.toProto()) out.push({ ...r, reservations: [{ type: STATIC, role: r.role ?? '*' }] });
  return out;
}

export interface RecoveredReservations {
  parts: DynamicReservation[];
  staticVolumes: Resources;
  /** Entries that could not be understood (with why); they are ignored. */
  ignored: string[];
}

function labelsKey(labels: readonly Label[]): string {
  return JSON.stringify(labels.map((l) => [l.key, l.value ?? null]));
}

/** Rebuild reservations and volumes from an agent's checkpointed resources. Bad entries are ignored (listed). */
export function fromCheckpointed(list: readonly Resource[]): RecoveredReservations {
  const parts: DynamicReservation[] = [];
  let staticVolumes = Resources.empty();
  const ignored: string[] = [];
  list.forEach((r, i) => {
    try {
      const last = r.reservations && r.reservations.length > 0 ? r.reservations[r.reservations.length - 1] : undefined;
      const role = last?.role || r.role || '*';
      if (role === '*') throw new Error('not reserved');
      // A DYNAMIC reservation's principal and labels stay part of the resources' identity.
      const resources = Resources.fromProto([{ ...r, role }]);
      if (last?.type === DYNAMIC) {
        const principal = last.principal ?? undefined;
        const labels: Label[] = (last.labels?.labels ?? []).map((l) => ({ key: l.key, value: l.value ?? null }));
        const same = parts.find(
          (p) => p.role === role && p.principal === principal && labelsKey(p.labels) === labelsKey(labels),
        );
        if (same !== undefined) same.resources = same.resources.add(resources);
        else parts.push({ role, principal, labels, resources });
        return;
      }
      if (resources.volumes().isEmpty()) throw new Error('a static reservation without a volume is not checkpointed');
      staticVolumes = staticVolumes.add(resources);
    } catch (err) {
      ignored.push(`#${i} '${r?.name}': ${toAgoraError(err).message}`);
    }
  });
  return { parts, staticVolumes, ignored };
}
