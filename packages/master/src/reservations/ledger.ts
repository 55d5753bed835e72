/**
 * Dynamic reservations (Mesos RESERVE / UNRESERVE, `/reserve`, `/unreserve`).
 *
 * A dynamic reservation turns unreserved resources of an agent into resources
 * reserved for a role, with the principal that made it and labels. The ledger
 * applies it to the agent's total (so the allocator offers the resources only
 * to the role and its descendants) and keeps the metadata, so that only
 * dynamically reserved resources can be unreserved, and so that the
 * reservations are applied again when the agent re-registers with its
 * configured (static) resources.
 *
 * Validation happens before any change: a request that does not fit changes
 * nothing and throws AGORA_ERR_INVALID_OPERATION (or AGORA_ERR_BAD_RESOURCES /
 * AGORA_ERR_UNKNOWN_AGENT) with the reason.
 *
 * Known limit: reservations live in the leading master's memory. They are kept
 * across agent re-registration but not across a master failover (Mesos
 * checkpoints them on the agent; Agora's agent does not yet).
 */
import { AgoraError, type Logger, Resources } from '@agora/common';
import { agora, type Resource } from '@agora/proto';
import type { AgentManager, AgentRecord } from '../agents/agent-manager.js';

export interface DynamicReservation {
  role: string;
  principal: string | undefined;
  labels: ReadonlyArray<{ key: string; value?: string | null }>;
  /** The reserved resources (every entry's role is `role`). */
  resources: Resources;
}

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
    if (last !== undefined && last.type !== undefined && last.type !== null && last.type !== 2 /* DYNAMIC */) {
      throw invalid(`${what}: resource #${i} '${r.name}': only DYNAMIC reservations can be made or removed`);
    }
    const resources = Resources.fromProto([{ ...r, role, reservations: [] }]);
    parts.push({
      role,
      principal: last?.principal ?? undefined,
      labels: (last?.labels?.labels ?? []).map((l) => ({ key: l.key, value: l.value ?? null })),
      resources,
    });
  });
  const reserved = parts.reduce((acc, p) => acc.add(p.resources), Resources.empty());
  return { parts, reserved, unreserved: reserved.withRole('*') };
}

export class ReservationLedger {
  private readonly byAgent = new Map<string, DynamicReservation[]>();

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
    if (!this.reservedOn(agentId).contains(request.reserved)) {
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
  }

  /**
   * How a reserved resource of `agent` is described in an offer (`Resource.reservations`): STATIC when the
   * agent's configuration reserves it, DYNAMIC (with the principal and labels, when all its reservations share
   * them) when reserved dynamically; undefined when one offered entry mixes both (it keeps only `role`).
   */
  describe(agent: AgentRecord, resource: Resource): Resource['reservations'] | undefined {
    const role = resource.role ?? '*';
    if (role === '*') return undefined;
    const parts = this.of(agent.id).filter((p) => p.role === role && p.resources.names().includes(resource.name));
    const dynamic = parts.reduce((acc, p) => acc.add(p.resources), Resources.empty()).reservedFor(role);
    const staticPart = agent.total.reservedFor(role).subtractSaturating(dynamic);
    const hasStatic = staticPart.names().includes(resource.name);
    if (parts.length === 0) return hasStatic ? [{ type: STATIC, role }] : undefined;
    if (hasStatic) return undefined;
    const first = parts[0]!;
    const key = (p: DynamicReservation) => JSON.stringify([p.principal ?? null, p.labels]);
    const same = parts.every((p) => key(p) === key(first));
    return [
      {
        type: DYNAMIC,
        role,
        ...(same && first.principal !== undefined ? { principal: first.principal } : {}),
        ...(same && first.labels.length > 0 ? { labels: { labels: first.labels.map((l) => ({ ...l })) } } : {}),
      },
    ];
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
   * An agent (re-)registered with its configured resources: apply its dynamic reservations again; drop those
   * that no longer fit (the agent's resources changed).
   */
  reapply(agent: AgentRecord): void {
    const list = this.byAgent.get(agent.id);
    if (list === undefined) return;
    const kept: DynamicReservation[] = [];
    let total = agent.total;
    for (const r of list) {
      const unreserved = r.resources.withRole('*');
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
    agent.total = total;
    if (kept.length === 0) this.byAgent.delete(agent.id);
    else this.byAgent.set(agent.id, kept);
  }
}
