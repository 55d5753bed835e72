/**
 * Dynamic reservations (Mesos RESERVE / UNRESERVE, `/reserve`, `/unreserve`).
 *
 * A dynamic reservation turns unreserved resources of an agent into resources
 * reserved for a role, with the principal that made it and labels. The
 * principal and labels are part of the resources' identity in the algebra
 * (`Resources` keeps differently labelled reservations apart, as Mesos does),
 * so offers list each distinct reservation, and an UNRESERVE, CREATE or LAUNCH
 * names exactly one. The ledger
 * applies it to the agent's total (so the allocator offers the resources only
 * to the role and its descendants) and keeps the metadata, so that only
 * dynamically reserved resources can be unreserved, and so that the
 * reservations are applied again when the agent re-registers with its
 * configured (static) resources.
 *
 * It also keeps the agent's persistent volumes (CREATE / DESTROY, see
 * volumes.ts): a volume on dynamically reserved disk is part of its
 * reservation; one on statically reserved disk is kept apart.
 *
 * Validation happens before any change: a request that does not fit changes
 * nothing and throws AGORA_ERR_INVALID_OPERATION (or AGORA_ERR_BAD_RESOURCES /
 * AGORA_ERR_UNKNOWN_AGENT / a volume code) with the reason.
 *
 * Durability, as in Mesos: reservations and volumes live on the agents. After
 * every change the master sends the agent its whole set
 * (`MasterToAgent.checkpoint_resources`, see checkpointed.ts), which the agent
 * checkpoints and sends back in Register / Reregister; a master that does not
 * know the agent (after a failover) rebuilds them from it.
 */
import { AgoraError, type Logger, makeReservation, Resources } from '@agora/common';
import { agora, type Resource } from '@agora/proto';
import type { AgentManager, AgentRecord } from '../agents/agent-manager.js';
import type { DynamicReservation } from './types.js';
import { fromCheckpointed, toCheckpointed } from './checkpointed.js';
import { planCreate, planDestroy, type VolumePlan, type VolumeState, volumesOf } from './volumes.js';

export type { DynamicReservation } from './types.js';

/** A request parsed from Resource protos: reserved resources grouped by role, with principal and labels. */
export interface ReservationRequest {
  parts: DynamicReservation[];
  /** Everything requested, reserved form. */
  reserved: Resources;
  /** The same quantities, unreserved. */
  unreserved: Resources;
}

const { STATIC, DYNAMIC } = agora.v1.Resource.ReservationInfo.Type;

function invalid(message: string, data: Record<string, unknown> = {}): AgoraError {
  return new AgoraError('AGORA_ERR_INVALID_OPERATION', message, { data });
}

/**
 * Parse Resource protos naming a dynamic reservation each (`reservations[]`
 * whose last entry is DYNAMIC with a role, or the legacy `role` field); refuse
 * unreserved resources or a reservation for '*'.
 */
export function parseReservation(list: readonly Resource[], what: 'reserve' | 'unreserve'): ReservationRequest {
  if (list.length === 0) throw invalid(`${what}: no resources given`);
  const parts: DynamicReservation[] = [];
  list.forEach((r, i) => {
    const last = r.reservations && r.reservations.length > 0 ? r.reservations[r.reservations.length - 1] : undefined;
    const role = last?.role ?? (r.role && r.role !== '*' ? r.role : undefined);
    if (role === undefined || role === null || role === '' || role === '*') {
      throw invalid(`${what}: resource #${i} '${r.name}' names no reservation role (set reservations[] with a role)`);
    }
    if (last !== undefined && last.type !== undefined && last.type !== null && last.type !== DYNAMIC) {
      throw invalid(`${what}: resource #${i} '${r.name}': only DYNAMIC reservations can be made or removed`);
    }
    // The principal and labels of `reservations[]` (last entry) become part of the resources' identity.
    const resources = Resources.fromProto([{ ...r, role }]);
    if (!resources.volumes().isEmpty()) {
      throw what === 'reserve'
        ? new AgoraError('AGORA_ERR_INVALID_VOLUME', `reserve: resource #${i} carries a persistent volume`)
        : new AgoraError(
            'AGORA_ERR_VOLUME_RESERVED',
            `unreserve: resource #${i} carries persistent volume '${resources.volumeList()[0]?.volume.id}': destroy it first`,
          );
    }
    parts.push({
      role,
      principal: last?.principal ?? undefined,
      labels: (last?.labels?.labels ?? []).map((l) => ({ key: l.key, value: l.value ?? null })),
      resources,
    });
  });
  return requestOf(parts);
}

function requestOf(parts: DynamicReservation[]): ReservationRequest {
  const reserved = parts.reduce((acc, p) => acc.add(p.resources), Resources.empty());
  return { parts, reserved, unreserved: reserved.withRole('*') };
}

/** The request with `principal` on each part that names none (the operator's, for `/reserve`). */
export function withDefaultPrincipal(request: ReservationRequest, principal: string | undefined): ReservationRequest {
  if (principal === undefined || principal === '') return request;
  return requestOf(
    request.parts.map((p) => {
      if (p.principal !== undefined && p.principal !== null && p.principal !== '') return p;
      return { ...p, principal, resources: p.resources.withReservation(makeReservation(principal, p.labels)) };
    }),
  );
}

export class ReservationLedger {
  private readonly byAgent = new Map<string, DynamicReservation[]>();
  /** Volumes on statically reserved disk, by agent. */
  private readonly staticVolumes = new Map<string, Resources>();
  /** Checkpointed resources an agent sent in its (re-)registration, until `reapply` takes them. */
  private readonly reported = new Map<string, readonly Resource[]>();
  /** Agents this master has applied reservations to (it knows their reservations and volumes). */
  private readonly known = new Set<string>();
  /** Agents whose checkpoint this master must send again once they are (re-)registered. */
  private readonly resend = new Set<string>();

  constructor(
    private readonly agents: AgentManager,
    private readonly logger: Logger,
  ) {}

  /** The agent's dynamic reservations. */
  of(agentId: string): readonly DynamicReservation[] {
    return this.byAgent.get(agentId) ?? [];
  }

  /** The agent's dynamically reserved resources, summed. */
  reservedOn(agentId: string): Resources {
    return this.of(agentId).reduce((acc, r) => acc.add(r.resources), Resources.empty());
  }

  /**
   * Check a reservation against what is `available` (unreserved resources that may be reserved: an offer's,
   * or an agent's free ones); returns the new `available` (with the reserved form). Changes nothing.
   */
  checkReserve(request: ReservationRequest, available: Resources): Resources {
    if (!available.contains(request.unreserved)) {
      throw invalid(
        `reserve: '${request.unreserved}' is not available unreserved (available: '${available.unreserved()}')`,
      );
    }
    return available.subtract(request.unreserved).add(request.reserved);
  }

  /** Check an unreservation: the resources must be dynamically reserved on the agent and in `available`. */
  checkUnreserve(agentId: string, request: ReservationRequest, available: Resources): Resources {
    const reserved = this.reservedOn(agentId);
    if (!reserved.contains(request.reserved) && reserved.withoutVolumeInfo().contains(request.reserved)) {
      throw new AgoraError(
        'AGORA_ERR_VOLUME_RESERVED',
        `unreserve: '${request.reserved}' on agent ${agentId} carries a persistent volume: destroy it first`,
        { data: { agentId } },
      );
    }
    if (!reserved.contains(request.reserved)) {
      throw invalid(`unreserve: '${request.reserved}' is not dynamically reserved on agent ${agentId}`);
    }
    if (!available.contains(request.reserved)) {
      throw invalid(`unreserve: '${request.reserved}' is not available (in use, or not in the offer)`);
    }
    return available.subtract(request.reserved).add(request.unreserved);
  }

  /** Apply a checked reservation to the agent's total and record it. */
  applyReserve(agent: AgentRecord, request: ReservationRequest): void {
    agent.total = agent.total.subtract(request.unreserved).add(request.reserved);
    const list = this.byAgent.get(agent.id) ?? [];
    list.push(...request.parts);
    this.byAgent.set(agent.id, list);
    this.logger.info(
      { agentId: agent.id, reserved: request.reserved.toString(), principals: request.parts.map((p) => p.principal) },
      'resources reserved',
    );
    this.sendCheckpoint(agent);
  }

  /** Apply a checked unreservation. */
  applyUnreserve(agent: AgentRecord, request: ReservationRequest): void {
    agent.total = agent.total.subtract(request.reserved).add(request.unreserved);
    let rest = request.reserved;
    const kept: DynamicReservation[] = [];
    for (const r of this.of(agent.id)) {
      const take = r.resources.subtract(r.resources.subtractSaturating(rest));
      rest = rest.subtractSaturating(take);
      const left = r.resources.subtractSaturating(take);
      if (!left.isEmpty()) kept.push({ ...r, resources: left });
    }
    if (kept.length === 0) this.byAgent.delete(agent.id);
    else this.byAgent.set(agent.id, kept);
    this.logger.info({ agentId: agent.id, unreserved: request.unreserved.toString() }, 'resources unreserved');
    this.sendCheckpoint(agent);
  }

  /** The agent's persistent volumes (on dynamically and statically reserved disk). */
  volumesOn(agentId: string): Resources {
    return volumesOf(this.volumeState(agentId, Resources.empty()));
  }

  /** Check a CREATE of `volumes` (volume form) against `available`; changes nothing (commit the plan). */
  checkCreate(
    agent: AgentRecord,
    volumes: Resources,
    available: Resources,
    principal?: { framework: string | undefined },
  ): VolumePlan {
    return planCreate(agent.id, this.volumeState(agent.id, agent.total), volumes, available, principal);
  }

  /** Check a DESTROY; `inUse` is what live tasks on the agent use. Changes nothing (commit the plan). */
  checkDestroy(agent: AgentRecord, volumes: Resources, available: Resources, inUse: Resources): VolumePlan {
    return planDestroy(agent.id, this.volumeState(agent.id, agent.total), volumes, available, inUse);
  }

  /** Apply a checked CREATE / DESTROY plan and checkpoint the result on the agent. */
  commit(agent: AgentRecord, plan: VolumePlan, what: 'created' | 'destroyed', volumes: Resources): void {
    agent.total = plan.state.total;
    this.setState(agent.id, plan.state);
    this.logger.info({ agentId: agent.id, volumes: volumes.toString() }, `persistent volumes ${what}`);
    this.sendCheckpoint(agent);
  }

  /** The agent's checkpointed resources: its dynamic reservations and persistent volumes. */
  checkpointed(agentId: string): Resource[] {
    return toCheckpointed(this.of(agentId), this.staticVolumes.get(agentId) ?? Resources.empty());
  }

  /** Send the agent its whole set of reservations and volumes to checkpoint (false when it is not connected). */
  sendCheckpoint(agent: AgentRecord): boolean {
    return this.agents.send(agent.id, { checkpoint_resources: { resources: this.checkpointed(agent.id) } });
  }

  /** The agent is (re-)registered: send it this master's view of its checkpoint when `reapply` said so. */
  afterRegistration(agent: AgentRecord): void {
    if (this.resend.delete(agent.id)) this.sendCheckpoint(agent);
  }

  /** What the agent reported checkpointed in its (re-)registration; `reapply` uses it (call before registering). */
  expectCheckpointed(agentId: string, resources: readonly Resource[]): void {
    this.reported.set(agentId, resources);
  }

  private volumeState(agentId: string, total: Resources): VolumeState {
    return { parts: this.of(agentId), staticVolumes: this.staticVolumes.get(agentId) ?? Resources.empty(), total };
  }

  private setState(agentId: string, state: Pick<VolumeState, 'parts' | 'staticVolumes'>): void {
    if (state.parts.length === 0) this.byAgent.delete(agentId);
    else this.byAgent.set(agentId, [...state.parts]);
    if (state.staticVolumes.isEmpty()) this.staticVolumes.delete(agentId);
    else this.staticVolumes.set(agentId, state.staticVolumes);
  }

  /**
   * How a reserved resource of `agent` is described in an offer (`Resource.reservations`). One that carries a
   * dynamic reservation's principal or labels already names it (the algebra keeps it: `reservations[]`). One
   * without is STATIC when the agent's configuration reserves it, DYNAMIC when reserved dynamically without a
   * principal and labels, and undefined when one offered entry mixes both (it keeps only `role`).
   */
  describe(agent: AgentRecord, resource: Resource): Resource['reservations'] | undefined {
    const role = resource.role ?? '*';
    if (role === '*') return undefined;
    if (resource.reservations && resource.reservations.length > 0) return resource.reservations;
    const dynamic = this.of(agent.id)
      .filter((p) => p.role === role)
      .reduce((acc, p) => acc.add(p.resources), Resources.empty())
      .withoutReservationIdentity();
    if (resource.disk?.persistence) {
      // A volume without identity: DYNAMIC when it lies in a reservation, else on statically reserved disk.
      let one: Resources;
      try {
        one = Resources.fromProto([resource]);
      } catch {
        return [{ type: STATIC, role }];
      }
      return [{ type: dynamic.contains(one) ? DYNAMIC : STATIC, role }];
    }
    const plainDynamic = dynamic.withoutVolumeInfo();
    const hasDynamic = plainDynamic.names().includes(resource.name);
    const staticPart = agent.total.reservedFor(role).withoutVolumes().withoutReservationIdentity();
    const hasStatic = staticPart.subtractSaturating(plainDynamic).names().includes(resource.name);
    if (hasDynamic && hasStatic) return undefined;
    if (hasDynamic) return [{ type: DYNAMIC, role }];
    return hasStatic ? [{ type: STATIC, role }] : undefined;
  }

  /** Look up an agent or throw AGORA_ERR_UNKNOWN_AGENT. */
  agent(agentId: string): AgentRecord {
    const agent = this.agents.get(agentId);
    if (agent === undefined) {
      throw new AgoraError('AGORA_ERR_UNKNOWN_AGENT', `no agent with id ${agentId} is registered`, {
        data: { agentId },
      });
    }
    return agent;
  }

  /**
   * An agent (re-)registered with its configured resources: apply its reservations and volumes again. A master
   * that knows them (the agent reconnected) keeps its own view (and sends it to the agent after the
   * registration, see `sendCheckpoint`); a master that does not (after a failover) rebuilds them from what the
   * agent checkpointed (`expectCheckpointed`). Those that no longer fit the agent's resources are dropped.
   */
  reapply(agent: AgentRecord): void {
    const reported = this.reported.get(agent.id);
    this.reported.delete(agent.id);
    let parts: readonly DynamicReservation[] | undefined = this.byAgent.get(agent.id);
    let staticVolumes = this.staticVolumes.get(agent.id) ?? Resources.empty();
    const known = this.known.has(agent.id);
    this.known.add(agent.id);
    if (known && ((reported?.length ?? 0) > 0 || parts !== undefined || !staticVolumes.isEmpty())) {
      // This master's view wins: the agent may have missed a checkpoint while disconnected.
      this.resend.add(agent.id);
    }
    if (!known && reported !== undefined && reported.length > 0) {
      const recovered = fromCheckpointed(reported);
      if (recovered.ignored.length > 0) {
        this.logger.warn({ agentId: agent.id, ignored: recovered.ignored }, 'checkpointed resources ignored');
      }
      parts = recovered.parts;
      staticVolumes = recovered.staticVolumes;
      this.logger.info(
        { agentId: agent.id, resources: this.describeAll(parts, staticVolumes) },
        'reservations and volumes recovered from the agent',
      );
    }
    if (parts === undefined && staticVolumes.isEmpty()) return;
    const kept: DynamicReservation[] = [];
    let total = agent.total;
    for (const r of parts ?? []) {
      const unreserved = r.resources.withoutVolumeInfo().withRole('*');
      if (total.contains(unreserved)) {
        total = total.subtract(unreserved).add(r.resources);
        kept.push(r);
      } else if (!total.contains(r.resources)) {
        this.logger.warn(
          { agentId: agent.id, reservation: r.resources.toString() },
          'a dynamic reservation no longer fits the re-registered agent; dropped',
        );
      } else {
        kept.push(r); // The agent already reports it reserved.
      }
    }
    let keptStatic = Resources.empty();
    for (const v of staticVolumes.volumeList()) {
      const plain = v.resources.withoutVolumeInfo();
      if (total.contains(plain)) {
        total = total.subtract(plain).add(v.resources);
        keptStatic = keptStatic.add(v.resources);
      } else {
        this.logger.warn({ agentId: agent.id, volume: v.resources.toString() }, 'a volume no longer fits; dropped');
      }
    }
    agent.total = total;
    this.setState(agent.id, { parts: kept, staticVolumes: keptStatic });
  }

  private describeAll(parts: readonly DynamicReservation[], staticVolumes: Resources): string {
    return parts.reduce((acc, p) => acc.add(p.resources), staticVolumes).toString();
  }
}
