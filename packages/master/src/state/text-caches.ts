/**
 * The caches behind StateSnapshot (state-snapshot.ts): serialized JSON texts and resource sums, each kept with
 * the values it was made from and reused while those are the same objects (identity comparisons; records are
 * changed by assigning new values, and a task's statuses by pushing new ones).
 */
import { Resources } from '@agora/common';
import type { TaskState } from '@agora/proto';
import type { AgentRecord } from '../agents/agent-manager.js';
import type { TaskRecord } from '../tasks/task-tracker.js';
import { agentJson, taskJson } from './state-view.js';

/** A task's text and the values it was made from. */
interface TaskCached {
  state: TaskState;
  last: unknown;
  count: number;
  resources: Resources;
  name: string;
  labels: unknown;
  executorId: string | undefined;
  user: string | undefined;
  statistics: unknown;
  text: string;
}

/** Each task's `/state` JSON text. */
export class TaskTexts {
  private readonly cache = new WeakMap<TaskRecord, TaskCached>();

  text(t: TaskRecord): string {
    const last = t.statuses[t.statuses.length - 1];
    const c = this.cache.get(t);
    if (
      c !== undefined &&
      c.state === t.state &&
      c.last === last &&
      c.count === t.statuses.length &&
      c.resources === t.resources &&
      c.name === t.name &&
      c.labels === t.labels &&
      c.executorId === t.executorId &&
      c.user === t.user &&
      c.statistics === t.statistics
    ) {
      return c.text;
    }
    const text = JSON.stringify(taskJson(t));
    this.cache.set(t, {
      state: t.state,
      last,
      count: t.statuses.length,
      resources: t.resources,
      name: t.name,
      labels: t.labels,
      executorId: t.executorId,
      user: t.user,
      statistics: t.statistics,
      text,
    });
    return text;
  }
}

interface SumCache {
  /** The members and their resources, alternating. */
  members: unknown[];
  sum: Resources;
}

/** Sums of resources by id (e.g. per agent), recomputed only when the members (or their resources) changed. */
export class ResourceSums {
  private readonly cache = new Map<string, SumCache>();

  sum(id: string, members: ReadonlyArray<{ resources: Resources }>): Resources {
    const cached = this.cache.get(id);
    if (cached !== undefined && cached.members.length === members.length * 2) {
      let unchanged = true;
      for (let i = 0; i < members.length && unchanged; i++) {
        const m = members[i]!;
        unchanged = cached.members[2 * i] === m && cached.members[2 * i + 1] === m.resources;
      }
      if (unchanged) return cached.sum;
    }
    const key: unknown[] = [];
    let sum = Resources.empty();
    for (const m of members) {
      key.push(m, m.resources);
      sum = sum.add(m.resources);
    }
    this.cache.set(id, { members: key, sum });
    return sum;
  }

  /** Forget ids not in `live`. */
  prune(live: { has(id: string): boolean; readonly size: number }): void {
    if (this.cache.size <= live.size) return;
    for (const id of this.cache.keys()) if (!live.has(id)) this.cache.delete(id);
  }
}

/** An agent's text, its JSON and the values they were made from. */
interface AgentCached extends AgentFields {
  used: Resources;
  offered: Resources;
  json: Record<string, unknown>;
  text: string;
}

type AgentFields = Pick<
  AgentRecord,
  | 'hostname'
  | 'port'
  | 'ip'
  | 'total'
  | 'attributes'
  | 'domain'
  | 'version'
  | 'active'
  | 'connected'
  | 'registeredTime'
  | 'reregisteredTime'
>;

function agentFields(a: AgentRecord): AgentFields {
  const {
    hostname,
    port,
    ip,
    total,
    attributes,
    domain,
    version,
    active,
    connected,
    registeredTime,
    reregisteredTime,
  } = a;
  return {
    hostname,
    port,
    ip,
    total,
    attributes,
    domain,
    version,
    active,
    connected,
    registeredTime,
    reregisteredTime,
  };
}

function sameAgent(c: AgentCached, a: AgentRecord, used: Resources, offered: Resources): boolean {
  return (
    c.used === used &&
    c.offered === offered &&
    c.active === a.active &&
    c.connected === a.connected &&
    c.total === a.total &&
    c.attributes === a.attributes &&
    c.domain === a.domain &&
    c.hostname === a.hostname &&
    c.port === a.port &&
    c.ip === a.ip &&
    c.version === a.version &&
    c.registeredTime === a.registeredTime &&
    c.reregisteredTime === a.reregisteredTime
  );
}

/** Each agent's `/state` JSON (object and text), given its used and offered sums. */
export class AgentTexts {
  private readonly cache = new Map<string, AgentCached>();

  get(a: AgentRecord, used: Resources, offered: Resources): { json: Record<string, unknown>; text: string } {
    let cached = this.cache.get(a.id);
    if (cached === undefined || !sameAgent(cached, a, used, offered)) {
      const json = agentJson(a, used, offered);
      cached = { ...agentFields(a), used, offered, json, text: JSON.stringify(json) };
      this.cache.set(a.id, cached);
    }
    return cached;
  }

  /** Forget agents not in `live`. */
  prune(live: { has(id: string): boolean; readonly size: number }): void {
    if (this.cache.size <= live.size) return;
    for (const id of this.cache.keys()) if (!live.has(id)) this.cache.delete(id);
  }
}
