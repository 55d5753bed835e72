/**
 * Registry operations (Mesos src/master/registry_operations.cpp): each is a
 * small pure function `(registry) => changed` that edits the registry it is
 * given (the registrar passes a copy) and says whether anything changed.
 * They do no I/O and read no clock: times are arguments.
 *
 * An operation that cannot apply (e.g. admitting an agent marked gone) throws
 * AgoraError and must leave the registry as it was; the registrar then fails
 * only that operation's waiter.
 */
import { AgoraError } from '@agora/common';
import { agora, type AgentInfo, type MasterInfo, type Resource } from '@agora/proto';

export type Registry = agora.v1.registry.Registry;
export type RegistryOperation = (registry: Registry) => boolean;

/** Keep unreachable/gone entries at most this long (Mesos registry_max_agent_age: 2 weeks). */
export const REGISTRY_MAX_AGENT_AGE_MS = 14 * 24 * 3600 * 1000;
/** Keep at most this many unreachable/gone entries (Mesos registry_max_agent_count). */
export const REGISTRY_MAX_AGENT_COUNT = 102_400;

export function emptyRegistry(): Registry {
  return agora.v1.registry.Registry.create();
}

/** A deep copy (through the wire form: the registry is what we store, so this is exact). */
export function copyRegistry(registry: Registry): Registry {
  return agora.v1.registry.Registry.decode(agora.v1.registry.Registry.encode(registry).finish());
}

export function encodeRegistry(registry: Registry): Uint8Array {
  return agora.v1.registry.Registry.encode(registry).finish();
}

/** Decode stored bytes; throws AGORA_ERR_REGISTRY when they are not a registry. */
export function decodeRegistry(bytes: Uint8Array): Registry {
  try {
    return agora.v1.registry.Registry.decode(bytes);
  } catch (err) {
    throw new AgoraError('AGORA_ERR_REGISTRY', `the stored registry cannot be decoded: ${String(err)}`, {
      cause: err,
    });
  }
}

export function isAdmitted(registry: Registry, agentId: string): boolean {
  return registry.agents.some((a) => a.info.id?.value === agentId);
}

export function isUnreachable(registry: Registry, agentId: string): boolean {
  return registry.unreachable.some((a) => a.id.value === agentId);
}

export function isGone(registry: Registry, agentId: string): boolean {
  return registry.gone.some((a) => a.id.value === agentId);
}

function agentIdOf(info: AgentInfo): string {
  const id = info.id?.value;
  if (!id) throw new AgoraError('AGORA_ERR_BAD_REQUEST', 'a registry agent needs agent_info.id');
  return id;
}

function gone(agentId: string): AgoraError {
  return new AgoraError('AGORA_ERR_AGENT_REFUSED', `agent ${agentId} has been marked gone and may not register again`, {
    data: { agentId },
  });
}

/** The master that leads now (written on every election: it also fences off the previous leader). */
export function setMaster(info: MasterInfo): RegistryOperation {
  return (registry) => {
    registry.master = agora.v1.MasterInfo.fromObject(info);
    return true;
  };
}

/** A new agent (Register): refuses an id that is already admitted or gone. */
export function admitAgent(info: AgentInfo, nowMs: number): RegistryOperation {
  return (registry) => {
    const id = agentIdOf(info);
    if (isGone(registry, id)) throw gone(id);
    if (isAdmitted(registry, id)) {
      throw new AgoraError('AGORA_ERR_BAD_REQUEST', `agent ${id} is already admitted`, { data: { agentId: id } });
    }
    registry.agents.push(agora.v1.registry.Registry.Agent.fromObject({ info, admitted_ms: nowMs }));
    return true;
  };
}

/**
 * A known agent re-registers (after a reconnect, a failover or a partition): it leaves the unreachable list
 * and is admitted (again) with its current info. Gone agents are refused. Unchanged info changes nothing.
 */
export function markReachable(info: AgentInfo, nowMs: number): RegistryOperation {
  return (registry) => {
    const id = agentIdOf(info);
    if (isGone(registry, id)) throw gone(id);
    let changed = false;
    const before = registry.unreachable.length;
    registry.unreachable = registry.unreachable.filter((a) => a.id.value !== id);
    if (registry.unreachable.length !== before) changed = true;
    const stored = agora.v1.AgentInfo.fromObject(info);
    const index = registry.agents.findIndex((a) => a.info.id?.value === id);
    if (index < 0) {
      registry.agents.push(agora.v1.registry.Registry.Agent.fromObject({ info, admitted_ms: nowMs }));
      return true;
    }
    const current = registry.agents[index]!;
    const same = sameBytes(
      agora.v1.AgentInfo.encode(current.info).finish(),
      agora.v1.AgentInfo.encode(stored).finish(),
    );
    if (!same) {
      current.info = stored;
      changed = true;
    }
    return changed;
  };
}

/** An admitted agent stopped answering (or did not re-register after a failover): move it to unreachable. */
export function markUnreachable(agentId: string, nowMs: number, hostname?: string): RegistryOperation {
  return (registry) => {
    if (isGone(registry, agentId)) return false;
    const index = registry.agents.findIndex((a) => a.info.id?.value === agentId);
    if (index < 0) return false;
    const [removed] = registry.agents.splice(index, 1);
    registry.unreachable.push(
      agora.v1.registry.Registry.UnreachableAgent.fromObject({
        id: { value: agentId },
        timestamp_ms: nowMs,
        hostname: hostname ?? removed?.info.hostname ?? '',
      }),
    );
    return true;
  };
}

/** Operator MARK_AGENT_GONE: permanent. The agent leaves the admitted and unreachable lists. */
export function markGone(agentId: string, nowMs: number): RegistryOperation {
  return (registry) => {
    if (isGone(registry, agentId)) return false;
    if (!isAdmitted(registry, agentId) && !isUnreachable(registry, agentId)) {
      throw new AgoraError('AGORA_ERR_UNKNOWN_AGENT', `agent ${agentId} is neither admitted nor unreachable`, {
        data: { agentId },
      });
    }
    registry.agents = registry.agents.filter((a) => a.info.id?.value !== agentId);
    registry.unreachable = registry.unreachable.filter((a) => a.id.value !== agentId);
    registry.gone.push(
      agora.v1.registry.Registry.GoneAgent.fromObject({ id: { value: agentId }, timestamp_ms: nowMs }),
    );
    return true;
  };
}

/** Forget an admitted agent altogether (e.g. machine/down removes it; it may register anew). */
export function removeAgent(agentId: string): RegistryOperation {
  return (registry) => {
    const before = registry.agents.length;
    registry.agents = registry.agents.filter((a) => a.info.id?.value !== agentId);
    return registry.agents.length !== before;
  };
}

/**
 * Drop unreachable and gone entries older than `maxAgeMs` and keep at most `maxCount` of each (the newest).
 */
export function prune(
  nowMs: number,
  maxAgeMs = REGISTRY_MAX_AGENT_AGE_MS,
  maxCount = REGISTRY_MAX_AGENT_COUNT,
): RegistryOperation {
  return (registry) => {
    const keep = <T extends { timestamp_ms: number }>(list: T[]): T[] =>
      list
        .filter((e) => nowMs - e.timestamp_ms <= maxAgeMs)
        .sort((a, b) => a.timestamp_ms - b.timestamp_ms)
        .slice(-maxCount);
    const unreachable = keep(registry.unreachable);
    const goneList = keep(registry.gone);
    const changed = unreachable.length !== registry.unreachable.length || goneList.length !== registry.gone.length;
    registry.unreachable = unreachable;
    registry.gone = goneList;
    return changed;
  };
}

export interface QuotaConfig {
  role: string;
  guarantees: Resource[];
  limits: Resource[];
}

/**
 * The registry capabilities this master can read (Mesos' MasterInfo capabilities that registries require):
 * QUOTA_V2 — quota as guarantees and limits per role (written with the first quota).
 */
export const MASTER_REGISTRY_CAPABILITIES: readonly string[] = ['QUOTA_V2'];

/** The registry's minimum capabilities that `supported` lacks (empty: this master may read it). */
export function missingCapabilities(registry: Registry, supported: readonly string[]): string[] {
  return registry.minimum_capabilities.map((c) => c.capability).filter((c) => !supported.includes(c));
}

/** Record that reading the registry now needs `capability` (idempotent); returns whether it was added. */
function requireCapability(registry: Registry, capability: string): boolean {
  if (registry.minimum_capabilities.some((c) => c.capability === capability)) return false;
  registry.minimum_capabilities.push(agora.v1.registry.Registry.MinimumCapability.create({ capability }));
  return true;
}

/** Set (or, with no guarantees and no limits, remove) a role's quota. Stored quota needs QUOTA_V2 to read. */
export function updateQuota(config: QuotaConfig): RegistryOperation {
  return (registry) => {
    const rest = registry.quotas.filter((q) => q.role !== config.role);
    if (config.guarantees.length === 0 && config.limits.length === 0) {
      const changed = rest.length !== registry.quotas.length;
      registry.quotas = rest;
      return changed;
    }
    rest.push(agora.v1.registry.Registry.Quota.fromObject(config));
    registry.quotas = rest;
    requireCapability(registry, 'QUOTA_V2');
    return true;
  };
}

/** Set role weights (weight 1 is the default and is not stored). Throws for a weight that is not positive. */
export function updateWeights(weights: ReadonlyArray<{ role: string; weight: number }>): RegistryOperation {
  for (const { role, weight } of weights) {
    if (!(Number.isFinite(weight) && weight > 0)) {
      throw new AgoraError('AGORA_ERR_BAD_REQUEST', `weight of role ${role} must be a positive number, got ${weight}`);
    }
  }
  return (registry) => {
    let changed = false;
    for (const { role, weight } of weights) {
      const index = registry.weights.findIndex((w) => w.role === role);
      if (weight === 1) {
        if (index >= 0) {
          registry.weights.splice(index, 1);
          changed = true;
        }
      } else if (index < 0) {
        registry.weights.push(agora.v1.registry.Registry.Weight.fromObject({ role, weight }));
        changed = true;
      } else if (registry.weights[index]!.weight !== weight) {
        registry.weights[index]!.weight = weight;
        changed = true;
      }
    }
    return changed;
  };
}

export type Schedule = agora.v1.registry.Registry.Schedule.$Properties;
export type Machine = agora.v1.registry.Registry.Machine.$Properties;

/** Replace the maintenance schedule and the machine modes derived from it. */
export function updateSchedule(schedules: Schedule[], machines: Machine[]): RegistryOperation {
  return (registry) => {
    const before = encodeRegistry(
      agora.v1.registry.Registry.create({ schedules: registry.schedules, machines: registry.machines }),
    );
    registry.schedules = schedules.map((s) => agora.v1.registry.Registry.Schedule.fromObject(s));
    registry.machines = machines.map((m) => agora.v1.registry.Registry.Machine.fromObject(m));
    const after = encodeRegistry(
      agora.v1.registry.Registry.create({ schedules: registry.schedules, machines: registry.machines }),
    );
    return !sameBytes(before, after);
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
