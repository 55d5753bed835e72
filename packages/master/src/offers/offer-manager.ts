/**
 * OfferManager: the outstanding offers (made, not yet accepted, declined,
 * rescinded or timed out) and the refuse filters frameworks set by declining.
 *
 * An offer's resources count as allocated (to its framework, on its agent)
 * until it leaves; removing an offer is what "recovering" its resources means
 * here, since the allocation snapshot is rebuilt from the offers left.
 */
import { type Clock, type Disposable, Emitter, type IdGenerator, type Logger, Resources } from '@agora/common';
import type { agora, Offer, Resource } from '@agora/proto';
import type { AgentRecord } from '../agents/agent-manager.js';
import type { RefuseFilter } from '../allocator/index.js';

/** Filters.refuse_seconds default (Mesos): 5 s. */
export const DEFAULT_REFUSE_SECONDS = 5;
/** Filters.refuse_seconds cap (Mesos): 365 days. */
export const MAX_REFUSE_SECONDS = 365 * 24 * 3600;

/** refuse_seconds as ms: absent or negative → default 5 s; capped at 365 days; 0 → no filter. */
export function refuseMs(refuseSeconds: number | null | undefined): number {
  let seconds = refuseSeconds ?? DEFAULT_REFUSE_SECONDS;
  if (!Number.isFinite(seconds) && seconds > 0) seconds = MAX_REFUSE_SECONDS;
  if (Number.isNaN(seconds) || seconds < 0) seconds = DEFAULT_REFUSE_SECONDS;
  return Math.min(seconds, MAX_REFUSE_SECONDS) * 1000;
}

export interface OfferRecord {
  readonly id: string;
  readonly frameworkId: string;
  readonly agentId: string;
  /** Every resource in the offer (over all roles). */
  readonly resources: Resources;
  /** The role the offer is allocated to, when all of it is allocated to one role (as every offer the allocation cycle makes). */
  readonly role: string | undefined;
  /** The offer as sent (resources carry allocation_info.role). */
  readonly offer: Offer;
  readonly createdAt: number;
}

export type TakeOffersResult =
  | { ok: true; offers: OfferRecord[]; agentId: string; resources: Resources; role: string | undefined }
  | { ok: false; message: string; removed: OfferRecord[] };

export interface OfferManagerOptions {
  clock: Clock;
  logger: Logger;
  ids: IdGenerator;
  /** Rescind offers older than this; undefined = never. */
  offerTimeoutMs: number | undefined;
}

export class OfferManager implements Disposable {
  private readonly offers = new Map<string, OfferRecord>();
  private readonly timers = new Map<string, Disposable>();
  private filterList: RefuseFilter[] = [];
  private readonly timedOut = new Emitter<OfferRecord>();

  /** An offer was held longer than offerTimeoutMs and has been removed; the framework must be told (RESCIND). */
  readonly onDidTimeOutOffer = this.timedOut.event;

  constructor(private readonly options: OfferManagerOptions) {}

  get(id: string): OfferRecord | undefined {
    return this.offers.get(id);
  }

  all(): OfferRecord[] {
    return [...this.offers.values()];
  }

  byFramework(frameworkId: string): OfferRecord[] {
    return this.all().filter((o) => o.frameworkId === frameworkId);
  }

  byAgent(agentId: string): OfferRecord[] {
    return this.all().filter((o) => o.agentId === agentId);
  }

  offeredOnAgent(agentId: string): Resources {
    return sum(this.byAgent(agentId));
  }

  offeredToFramework(frameworkId: string, agentId?: string): Resources {
    return sum(this.byFramework(frameworkId).filter((o) => agentId === undefined || o.agentId === agentId));
  }

  /**
   * Make one offer of `parts` (resources per allocation role) from `agent` to a framework.
   * `reservationsOf`, when given, names the reservations of a reserved resource as sent
   * (`Resource.reservations`, e.g. DYNAMIC with its principal); the resource keeps `role` either way.
   * The offer carries the agent's fault domain (`domain`) when it reported one, and `unavailability`
   * when given (the agent's machine is scheduled for maintenance).
   */
  create(
    frameworkId: string,
    agent: AgentRecord,
    parts: ReadonlyArray<{ role: string; resources: Resources }>,
    reservationsOf?: (resource: Resource) => Resource['reservations'] | undefined,
    unavailability?: agora.v1.Unavailability.$Properties,
  ) {
    const id = this.options.ids.offerId();
    const resources = parts.reduce((acc, p) => acc.add(p.resources), Resources.empty());
    const offer: Offer = {
      id: { value: id },
      framework_id: { value: frameworkId },
      agent_id: { value: agent.id },
      hostname: agent.hostname,
      url: {
        scheme: 'http',
        address: { hostname: agent.hostname, port: agent.port, ...(agent.ip === undefined ? {} : { ip: agent.ip }) },
        path: '/',
      },
      resources: parts.flatMap((p) =>
        p.resources.toProto().map((r) => {
          const reservations = r.role !== '*' ? reservationsOf?.(r) : undefined;
          return { ...r, ...(reservations === undefined ? {} : { reservations }), allocation_info: { role: p.role } };
        }),
      ),
      attributes: agent.attributes,
      executor_ids: [],
      ...(unavailability === undefined ? {} : { unavailability }),
      ...(agent.domain === undefined ? {} : { domain: agent.domain }),
    };
    const roles = new Set(parts.map((p) => p.role));
    const record: OfferRecord = {
      id,
      frameworkId,
      agentId: agent.id,
      resources,
      role: roles.size === 1 ? [...roles][0] : undefined,
      offer,
      createdAt: this.options.clock.now(),
    };
    this.offers.set(id, record);
    if (this.options.offerTimeoutMs !== undefined) {
      this.timers.set(
        id,
        this.options.clock.setTimeout(() => {
          const removed = this.remove(id);
          if (removed === undefined) return;
          this.options.logger.info({ offerId: id, frameworkId }, 'offer timed out');
          this.timedOut.fire(removed);
        }, this.options.offerTimeoutMs),
      );
    }
    return record;
  }

  /** Remove an offer (used, declined or rescinded); its resources become free again. */
  remove(id: string): OfferRecord | undefined {
    const record = this.offers.get(id);
    if (record === undefined) return undefined;
    this.offers.delete(id);
    this.timers.get(id)?.dispose();
    this.timers.delete(id);
    return record;
  }

  /**
   * The offers named by an ACCEPT, checked: each known, outstanding and made to this framework, all on one
   * agent, none named twice. The framework's named offers that exist are removed either way (an offer can be
   * used once); when the check fails nothing may launch and their resources are simply free again.
   */
  take(frameworkId: string, offerIds: readonly string[]): TakeOffersResult {
    const problems: string[] = [];
    if (offerIds.length === 0) problems.push('no offer ids given');
    const seen = new Set<string>();
    const found: OfferRecord[] = [];
    for (const id of offerIds) {
      if (seen.has(id)) {
        problems.push(`offer ${id} is named more than once`);
        continue;
      }
      seen.add(id);
      const record = this.offers.get(id);
      if (record === undefined) problems.push(`offer ${id} is unknown, already used or rescinded`);
      else if (record.frameworkId !== frameworkId) problems.push(`offer ${id} was made to another framework`);
      else found.push(record);
    }
    const agents = new Set(found.map((o) => o.agentId));
    if (agents.size > 1) problems.push(`offers span several agents (${[...agents].join(', ')})`);
    for (const o of found) this.remove(o.id);
    if (problems.length > 0) return { ok: false, message: problems.join('; '), removed: found };
    const first = found[0]!;
    const roles = new Set(found.map((o) => o.role));
    const role = roles.size === 1 ? first.role : undefined;
    return { ok: true, offers: found, agentId: first.agentId, resources: sum(found), role };
  }

  /**
   * Refuse the agent to the framework for refuse_seconds (see refuseMs): for `role` only when given (Mesos
   * filters are per framework, role and agent), else for every role of the framework.
   */
  addFilter(frameworkId: string, agentId: string, refuseSeconds: number | null | undefined, role?: string): void {
    const ms = refuseMs(refuseSeconds);
    if (ms <= 0) return;
    const expiresAt = this.options.clock.now() + ms;
    const existing = this.filterList.find(
      (f) => f.frameworkId === frameworkId && f.agentId === agentId && f.role === role,
    );
    if (existing !== undefined && existing.expiresAt >= expiresAt) return;
    this.filterList = this.filterList.filter((f) => f !== existing);
    this.filterList.push(
      role === undefined ? { frameworkId, agentId, expiresAt } : { frameworkId, agentId, role, expiresAt },
    );
  }

  filters(): readonly RefuseFilter[] {
    return this.filterList;
  }

  /** Drop filters the allocator found expired. */
  removeFilters(expired: readonly RefuseFilter[]): void {
    if (expired.length === 0) return;
    const key = (f: RefuseFilter) => `${f.frameworkId}\u0000${f.agentId}\u0000${f.role ?? ''}\u0000${f.expiresAt}`;
    const gone = new Set(expired.map(key));
    this.filterList = this.filterList.filter((f) => !gone.has(key(f)));
  }

  /** REVIVE (or teardown): drop every filter of the framework. */
  clearFilters(frameworkId: string): void {
    this.filterList = this.filterList.filter((f) => f.frameworkId !== frameworkId);
  }

  dispose(): void {
    for (const t of this.timers.values()) t.dispose();
    this.timers.clear();
    this.offers.clear();
    this.timedOut.dispose();
  }
}

function sum(offers: readonly OfferRecord[]): Resources {
  return offers.reduce((acc, o) => acc.add(o.resources), Resources.empty());
}
