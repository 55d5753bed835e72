/**
 * Builds the operator endpoints' dependencies from the master's parts.
 */
import { AgoraError, Resources, toAgoraError } from '@agora/common';
import { agora } from '@agora/proto';
import { allocationByRole } from '../../../allocation/allocation-cycle.js';
import { isWithin, Quantities } from '../../../allocator/index.js';
import { buildRolesJson, clusterTotalOf, type QuotaService } from '../../../quota/index.js';
import { parseReservation, type ReservationRequest, withDefaultPrincipal } from '../../../reservations/ledger.js';
import { parseVolumes } from '../../../reservations/volumes.js';
import type { MasterParts } from '../../../routing/parts.js';
import { isEndedState } from '../../../tasks/task-tracker.js';
import type { OperatorDeps, ReservationDeps } from './common.js';

export function createOperatorDeps(
  parts: MasterParts,
  quota: QuotaService,
  reservations?: ReservationDeps,
): OperatorDeps {
  const split = () => {
    const offered = new Map<string, Map<string, Resources>>();
    for (const o of parts.offers.all()) {
      let byRole = offered.get(o.frameworkId);
      if (byRole === undefined) {
        byRole = new Map();
        offered.set(o.frameworkId, byRole);
      }
      const groups = new Map<string, typeof o.offer.resources>();
      for (const r of o.offer.resources ?? []) {
        const role = r.allocation_info?.role ?? '*';
        groups.set(role, [...(groups.get(role) ?? []), r]);
      }
      for (const [role, list] of groups) {
        byRole.set(role, (byRole.get(role) ?? Resources.empty()).add(Resources.fromProto(list ?? [])));
      }
    }
    const all = allocationByRole(parts.frameworks, parts.offers, parts.tasks);
    // Tasks only: everything minus what is offered.
    const allocated = new Map<string, Map<string, Resources>>();
    for (const [fw, byRole] of all) {
      const out = new Map<string, Resources>();
      for (const [role, r] of byRole) {
        const rest = r.subtractSaturating(offered.get(fw)?.get(role) ?? Resources.empty());
        if (!rest.isEmpty()) out.set(role, rest);
      }
      allocated.set(fw, out);
    }
    return { all, offered, allocated };
  };
  const consumption = (role: string): Record<string, number> => {
    const q = new Quantities();
    for (const [, byRole] of allocationByRole(parts.frameworks, parts.offers, parts.tasks)) {
      for (const [r, res] of byRole) if (isWithin(r, role)) q.addResources(res.unreserved(), 1);
    }
    for (const a of parts.agents.all()) {
      for (const r of a.total.roles()) if (r !== '*' && isWithin(r, role)) q.addResources(a.total.reservedFor(r), 1);
    }
    return q.toJSON();
  };
  return {
    quota,
    rolesChanged: (roles) => {
      for (const o of parts.offers.all()) {
        if (o.role === undefined || !roles.some((r) => isWithin(o.role!, r))) continue;
        parts.offers.remove(o.id);
        parts.frameworks.send(o.frameworkId, {
          type: agora.v1.scheduler.Event.Type.RESCIND,
          rescind: { offer_id: { value: o.id } },
        });
      }
      parts.allocation.request();
    },
    clusterTotal: () => clusterTotalOf(parts),
    consumption,
    roles: () => {
      const { allocated, offered } = split();
      return buildRolesJson({
        frameworks: parts.frameworks.all().map((f) => ({ id: f.id, roles: f.roles })),
        allocated,
        offered,
        agentTotals: parts.agents.all().map((a) => a.total),
        weights: quota.weights(),
        quotas: quota.list(),
        consumption,
      });
    },
    ...(reservations === undefined ? {} : { reservations }),
  };
}

function toResourceProtos(json: unknown, field = 'resources'): agora.v1.Resource[] {
  if (!Array.isArray(json) || json.length === 0) {
    throw new AgoraError('AGORA_ERR_BAD_REQUEST', `'${field}' must be a non-empty JSON list of Resource objects`);
  }
  return json.map((r, i) => {
    if (typeof r !== 'object' || r === null || Array.isArray(r)) {
      throw new AgoraError('AGORA_ERR_BAD_REQUEST', `resources[${i}] must be a Resource object`);
    }
    const o = { ...(r as Record<string, unknown>) };
    // Legacy form: role + reservation {principal, labels} → reservations [{DYNAMIC, role, principal, labels}].
    const legacy = o.reservation as Record<string, unknown> | undefined;
    if (o.reservations === undefined && typeof o.role === 'string' && o.role !== '*') {
      o.reservations = [{ type: 'DYNAMIC', role: o.role, ...(legacy ?? {}) }];
    }
    delete o.reservation;
    try {
      return agora.v1.Resource.fromObject(o);
    } catch (err) {
      throw new AgoraError(
        'AGORA_ERR_BAD_REQUEST',
        `resources[${i}] is not a valid Resource: ${(err as Error).message}`,
      );
    }
  });
}

/** `/reserve` and `/unreserve` over the master's parts (offers holding the resources are rescinded). */
export function operatorReservations(parts: MasterParts): ReservationDeps {
  const { reservations: ledger, offers, tasks, frameworks, allocation } = parts;
  const usedByTasks = (agentId: string): Resources => {
    let used = Resources.empty();
    for (const t of tasks.all()) if (t.agentId === agentId && !isEndedState(t.state)) used = used.add(t.resources);
    return used;
  };
  const parse = (json: unknown, kind: 'reserve' | 'unreserve'): ReservationRequest => {
    try {
      return parseReservation(toResourceProtos(json), kind);
    } catch (err) {
      const e = toAgoraError(err);
      throw e.code === 'AGORA_ERR_INVALID_OPERATION' ? new AgoraError('AGORA_ERR_BAD_REQUEST', e.message) : e;
    }
  };
  const rescindOn = (agentId: string): void => {
    for (const o of offers.byAgent(agentId)) {
      offers.remove(o.id);
      frameworks.send(o.frameworkId, {
        type: agora.v1.scheduler.Event.Type.RESCIND,
        rescind: { offer_id: { value: o.id } },
      });
    }
  };
  const conflict = (e: unknown) => {
    const err = toAgoraError(e);
    return err.code === 'AGORA_ERR_INVALID_OPERATION' ? new AgoraError('AGORA_ERR_CONFLICT', err.message) : err;
  };
  return {
    reserve: async (agentId, json, principal) => {
      const agent = ledger.agent(agentId);
      const request = withDefaultPrincipal(parse(json, 'reserve'), principal);
      const free = agent.total.subtractSaturating(usedByTasks(agentId));
      try {
        ledger.checkReserve(request, free);
      } catch (e) {
        throw conflict(e);
      }
      if (!free.subtractSaturating(offers.offeredOnAgent(agentId)).contains(request.unreserved)) rescindOn(agentId);
      ledger.applyReserve(agent, request);
      allocation.request();
    },
    unreserve: async (agentId, json) => {
      const agent = ledger.agent(agentId);
      const request = parse(json, 'unreserve');
      const free = agent.total.subtractSaturating(usedByTasks(agentId));
      try {
        ledger.checkUnreserve(agentId, request, free);
      } catch (e) {
        throw conflict(e);
      }
      if (!free.subtractSaturating(offers.offeredOnAgent(agentId)).contains(request.reserved)) rescindOn(agentId);
      ledger.applyUnreserve(agent, request);
      allocation.request();
    },
    createVolumes: async (agentId, json) => {
      const agent = ledger.agent(agentId);
      const volumes = parseVolumes(toResourceProtos(json, 'volumes'), 'create');
      const free = agent.total.subtractSaturating(usedByTasks(agentId));
      let plan: ReturnType<typeof ledger.checkCreate>;
      try {
        plan = ledger.checkCreate(agent, volumes, free);
      } catch (e) {
        throw conflict(e);
      }
      if (!free.subtractSaturating(offers.offeredOnAgent(agentId)).contains(volumes.withoutVolumeInfo())) {
        rescindOn(agentId);
      }
      ledger.commit(agent, plan, 'created', volumes);
      allocation.request();
    },
    destroyVolumes: async (agentId, json) => {
      const agent = ledger.agent(agentId);
      const volumes = parseVolumes(toResourceProtos(json, 'volumes'), 'destroy');
      const used = usedByTasks(agentId);
      const free = agent.total.subtractSaturating(used);
      let plan: ReturnType<typeof ledger.checkDestroy>;
      try {
        plan = ledger.checkDestroy(agent, volumes, free, used);
      } catch (e) {
        throw conflict(e);
      }
      if (!free.subtractSaturating(offers.offeredOnAgent(agentId)).contains(volumes)) rescindOn(agentId);
      ledger.commit(agent, plan, 'destroyed', volumes);
      allocation.request();
    },
  };
}
