/**
 * StateSnapshot: the read-only endpoints' JSON (`/state`, `/state-summary`,
 * `/frameworks`, `/slaves`, `/tasks`) served from cached serialized parts.
 *
 * Each task, agent and agent summary keeps its JSON text together with the
 * values it was made from (record fields by identity, the task's latest status,
 * the agent's used and offered sums). A request walks the records once, compares
 * those values (no allocation, no serialization when nothing changed), rebuilds
 * only the parts that changed, and answers a list of text pieces that is
 * streamed to the client in chunks (see api/http/state.ts) — so serving 50,000
 * tasks neither rebuilds nor re-serializes them, nor holds the event loop for
 * the whole body. Sums of resources per agent and framework are cached the same
 * way (recomputed only when the set of tasks or offers behind them changed).
 *
 * The JSON is the same as state-view.ts' `buildStateJson` (the per-request
 * build it replaces; kept as the reference the tests and the benchmark compare
 * against). Read-only: it changes nothing in the components.
 */
import { type MasterInfo, TaskState } from '@agora/proto';
import type { AgentRecord } from '../agents/agent-manager.js';
import type { FrameworkRecord } from '../frameworks/framework-manager.js';
import type { OfferRecord } from '../offers/offer-manager.js';
import { isEndedState, type TaskRecord } from '../tasks/task-tracker.js';
import { frameworkHeadJson, masterInfoJson, offerJson } from './state-view.js';
import { AgentTexts, ResourceSums, TaskTexts } from './text-caches.js';

export interface SnapshotSources {
  info(): MasterInfo;
  leader(): MasterInfo | undefined;
  startTime: number;
  electedTime(): number | undefined;
  flags(): Readonly<Record<string, string>>;
  agents(): readonly AgentRecord[];
  frameworks(): readonly FrameworkRecord[];
  completedFrameworks(): readonly FrameworkRecord[];
  /** Every active task (all frameworks), in the tracker's order. */
  tasks(): readonly TaskRecord[];
  /** Every task on an unreachable agent. */
  unreachableTasks(): readonly TaskRecord[];
  completedTasksOf(frameworkId: string): readonly TaskRecord[];
  offers(): readonly OfferRecord[];
  /** Agents the registry lists as unreachable. */
  unreachableAgents(): number;
}

/** The pieces of a JSON body, to be concatenated in order. */
export type JsonPieces = string[];

export interface TasksQuery {
  frameworkId?: string;
  taskId?: string;
  limit: number;
  offset: number;
  order: 'asc' | 'desc';
}

interface Cached {
  /** What the text was made from; compared element by element with ===. */
  key: unknown[];
  text: string;
}

/** The records of one request, grouped once. */
interface Walk {
  tasksOf: Map<string, TaskRecord[]>;
  unreachableOf: Map<string, TaskRecord[]>;
  offersOf: Map<string, OfferRecord[]>;
  agentText: Map<string, string>;
  agentJson: Map<string, Record<string, unknown>>;
}

const TASK_STATE_NAMES = [
  'TASK_STAGING',
  'TASK_STARTING',
  'TASK_RUNNING',
  'TASK_KILLING',
  'TASK_FINISHED',
  'TASK_KILLED',
  'TASK_FAILED',
  'TASK_LOST',
  'TASK_ERROR',
  'TASK_UNREACHABLE',
  'TASK_DROPPED',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
];

function same(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

function join(items: readonly string[]): string {
  return `[${items.join(',')}]`;
}

export class StateSnapshot {
  private readonly taskTexts = new TaskTexts();
  private readonly agentTexts = new AgentTexts();
  private readonly summaryCache = new Map<string, Cached>();
  /** Cached sums: used and offered per agent, used and offered per framework. */
  private readonly sums = {
    agentUsed: new ResourceSums(),
    agentOffered: new ResourceSums(),
    frameworkUsed: new ResourceSums(),
    frameworkOffered: new ResourceSums(),
  };

  constructor(private readonly sources: SnapshotSources) {}

  /** `/state`. */
  state(): JsonPieces {
    const s = this.sources;
    const w = this.walk();
    const agents = s.agents();
    const info = s.info();
    const leader = s.leader();
    const electedTime = s.electedTime();
    const head = JSON.stringify({
      version: info.version ?? '',
      id: info.id,
      pid: info.pid ?? '',
      hostname: info.hostname ?? '',
      start_time: s.startTime / 1000,
      ...(electedTime === undefined ? {} : { elected_time: electedTime / 1000 }),
      activated_slaves: agents.filter((a) => a.active).length,
      deactivated_slaves: agents.filter((a) => !a.active).length,
      unreachable_slaves: s.unreachableAgents(),
      ...(leader === undefined ? {} : { leader: leader.pid ?? '', leader_info: masterInfoJson(leader) }),
      flags: s.flags(),
    });
    const frameworks = s.frameworks();
    const pieces: string[] = [`${head.slice(0, -1)},"slaves":[`];
    this.list(pieces, agents, (a) => w.agentText.get(a.id)!);
    pieces.push('],"frameworks":[');
    this.frameworkList(w, frameworks, pieces);
    pieces.push('],"completed_frameworks":[');
    this.frameworkList(w, s.completedFrameworks(), pieces);
    pieces.push(
      `],"orphan_tasks":[],"unregistered_frameworks":${JSON.stringify(frameworks.filter((f) => f.recovered).map((f) => f.id))}}`,
    );
    return pieces;
  }

  /** `/slaves` (`?slave_id=`). */
  slaves(agentId?: string): JsonPieces {
    const w = this.walk();
    const agents = this.sources.agents().filter((a) => agentId === undefined || a.id === agentId);
    const pieces = ['{"slaves":['];
    this.list(pieces, agents, (a) => w.agentText.get(a.id)!);
    pieces.push('],"recovered_slaves":[]}');
    return pieces;
  }

  /** `/frameworks` (`?framework_id=`). */
  frameworks(frameworkId?: string): JsonPieces {
    const w = this.walk();
    const pick = (f: FrameworkRecord) => frameworkId === undefined || f.id === frameworkId;
    const frameworks = this.sources.frameworks();
    const pieces = ['{"frameworks":['];
    this.frameworkList(w, frameworks.filter(pick), pieces);
    pieces.push('],"completed_frameworks":[');
    this.frameworkList(w, this.sources.completedFrameworks().filter(pick), pieces);
    pieces.push(
      `],"unregistered_frameworks":${JSON.stringify(frameworks.filter((f) => f.recovered).map((f) => f.id))}}`,
    );
    return pieces;
  }

  /** `/tasks`: active, unreachable and completed tasks of every framework, by first status time, paged. */
  tasks(q: TasksQuery): JsonPieces {
    const w = this.walk();
    const s = this.sources;
    const all: TaskRecord[] = [];
    for (const f of [...s.frameworks(), ...s.completedFrameworks()]) {
      if (q.frameworkId !== undefined && f.id !== q.frameworkId) continue;
      for (const list of [w.tasksOf.get(f.id), w.unreachableOf.get(f.id), s.completedTasksOf(f.id)]) {
        for (const t of list ?? []) if (q.taskId === undefined || t.taskId === q.taskId) all.push(t);
      }
    }
    const startOf = (t: TaskRecord) => t.statuses[0]?.timestamp ?? 0;
    all.sort((a, b) => (q.order === 'asc' ? startOf(a) - startOf(b) : startOf(b) - startOf(a)));
    const page = all.slice(q.offset, q.offset + q.limit);
    const pieces = ['{"tasks":['];
    this.list(pieces, page, (t) => this.taskTexts.text(t));
    pieces.push(']}');
    return pieces;
  }

  /** `/state-summary`: agents and frameworks with task counts per state, no tasks. */
  summary(): JsonPieces {
    const w = this.walk();
    const s = this.sources;
    const byAgent = new Map<string, { counts: Map<string, number>; frameworks: Set<string> }>();
    const countsOfFramework = new Map<string, { counts: Map<string, number>; agents: Set<string> }>();
    for (const f of [...s.frameworks(), ...s.completedFrameworks()]) {
      for (const list of [w.tasksOf.get(f.id), w.unreachableOf.get(f.id), s.completedTasksOf(f.id)]) {
        for (const t of list ?? []) {
          const state = TaskState[t.state] ?? String(t.state);
          let a = byAgent.get(t.agentId);
          if (a === undefined) {
            a = { counts: new Map(), frameworks: new Set() };
            byAgent.set(t.agentId, a);
          }
          a.counts.set(state, (a.counts.get(state) ?? 0) + 1);
          a.frameworks.add(f.id);
          let c = countsOfFramework.get(f.id);
          if (c === undefined) {
            c = { counts: new Map(), agents: new Set() };
            countsOfFramework.set(f.id, c);
          }
          c.counts.set(state, (c.counts.get(state) ?? 0) + 1);
          c.agents.add(t.agentId);
        }
      }
    }
    const countsJson = (counts: Map<string, number> | undefined) => {
      const out: Record<string, number> = Object.fromEntries(TASK_STATE_NAMES.map((n) => [n, 0]));
      for (const [k, v] of counts ?? []) out[k] = v;
      return out;
    };
    const info = s.info();
    const pieces = [`{"hostname":${JSON.stringify(info.hostname ?? '')},"cluster":"","slaves":[`];
    this.list(pieces, s.agents(), (a) => {
      const text = w.agentText.get(a.id)!;
      const of = byAgent.get(a.id);
      const countsKey = of === undefined ? '' : JSON.stringify([[...of.counts], [...of.frameworks]]);
      const key = [text, countsKey];
      const cached = this.summaryCache.get(a.id);
      if (cached !== undefined && same(cached.key, key)) return cached.text;
      const { port: _port, connected: _connected, ...rest } = w.agentJson.get(a.id)!;
      const out = JSON.stringify({ ...rest, ...countsJson(of?.counts), framework_ids: [...(of?.frameworks ?? [])] });
      this.summaryCache.set(a.id, { key, text: out });
      return out;
    });
    pieces.push('],"frameworks":[');
    this.list(pieces, s.frameworks(), (f) => {
      const used = this.sums.frameworkUsed.sum(
        f.id,
        (w.tasksOf.get(f.id) ?? []).filter((t) => !isEndedState(t.state)),
      );
      const offered = this.sums.frameworkOffered.sum(f.id, w.offersOf.get(f.id) ?? []);
      const head = frameworkHeadJson(f, used, offered);
      const c = countsOfFramework.get(f.id);
      return JSON.stringify({
        id: head['id'],
        name: head['name'],
        pid: '',
        used_resources: head['used_resources'],
        offered_resources: head['offered_resources'],
        capabilities: head['capabilities'],
        hostname: head['hostname'],
        webui_url: head['webui_url'],
        active: head['active'],
        connected: head['connected'],
        recovered: head['recovered'],
        role: head['role'],
        roles: head['roles'],
        ...countsJson(c?.counts),
        slave_ids: [...(c?.agents ?? [])],
      });
    });
    pieces.push(']}');
    // Forget agents that left.
    if (this.summaryCache.size > w.agentText.size) {
      for (const id of this.summaryCache.keys()) if (!w.agentText.has(id)) this.summaryCache.delete(id);
    }
    return pieces;
  }

  /** Group the records once and bring every agent's text up to date. */
  private walk(): Walk {
    const s = this.sources;
    const tasksOf = new Map<string, TaskRecord[]>();
    const activeOnAgent = new Map<string, TaskRecord[]>();
    for (const t of s.tasks()) {
      push(tasksOf, t.frameworkId, t);
      if (!isEndedState(t.state)) push(activeOnAgent, t.agentId, t);
    }
    const unreachableOf = new Map<string, TaskRecord[]>();
    for (const t of s.unreachableTasks()) push(unreachableOf, t.frameworkId, t);
    const offersOf = new Map<string, OfferRecord[]>();
    const offersOn = new Map<string, OfferRecord[]>();
    for (const o of s.offers()) {
      push(offersOf, o.frameworkId, o);
      push(offersOn, o.agentId, o);
    }
    const agentText = new Map<string, string>();
    const agentJsonById = new Map<string, Record<string, unknown>>();
    for (const a of s.agents()) {
      const used = this.sums.agentUsed.sum(a.id, activeOnAgent.get(a.id) ?? []);
      const offered = this.sums.agentOffered.sum(a.id, offersOn.get(a.id) ?? []);
      const cached = this.agentTexts.get(a, used, offered);
      agentText.set(a.id, cached.text);
      agentJsonById.set(a.id, cached.json);
    }
    this.agentTexts.prune(agentText);
    this.pruneSums(agentText);
    return { tasksOf, unreachableOf, offersOf, agentText, agentJson: agentJsonById };
  }

  /**
   * Push a framework's `/state` JSON onto `pieces`: its fields (rebuilt: a few per framework), then its
   * cached task texts one piece each (never copied into one framework string).
   */
  private framework(w: Walk, f: FrameworkRecord, pieces: string[], comma: boolean): void {
    const tasks = w.tasksOf.get(f.id) ?? [];
    const offers = w.offersOf.get(f.id) ?? [];
    const used = this.sums.frameworkUsed.sum(
      f.id,
      tasks.filter((t) => !isEndedState(t.state)),
    );
    const offered = this.sums.frameworkOffered.sum(f.id, offers);
    const head = JSON.stringify(frameworkHeadJson(f, used, offered));
    pieces.push(`${comma ? ',' : ''}${head.slice(0, -1)},"tasks":[`);
    this.list(pieces, tasks, (t) => this.taskTexts.text(t));
    pieces.push('],"unreachable_tasks":[');
    this.list(pieces, w.unreachableOf.get(f.id) ?? [], (t) => this.taskTexts.text(t));
    pieces.push('],"completed_tasks":[');
    this.list(pieces, this.sources.completedTasksOf(f.id), (t) => this.taskTexts.text(t));
    pieces.push(`],"offers":${join(offers.map((o) => JSON.stringify(offerJson(o))))},"executors":[]}`);
  }

  private frameworkList(w: Walk, frameworks: readonly FrameworkRecord[], pieces: string[]): void {
    let comma = false;
    for (const f of frameworks) {
      this.framework(w, f, pieces, comma);
      comma = true;
    }
  }

  /** Forget the sums of agents and frameworks that are gone. */
  private pruneSums(agentIds: ReadonlyMap<string, unknown>): void {
    this.sums.agentUsed.prune(agentIds);
    this.sums.agentOffered.prune(agentIds);
    const frameworks = new Set<string>();
    for (const f of this.sources.frameworks()) frameworks.add(f.id);
    for (const f of this.sources.completedFrameworks()) frameworks.add(f.id);
    this.sums.frameworkUsed.prune(frameworks);
    this.sums.frameworkOffered.prune(frameworks);
  }

  /** Push the items' texts separated by commas (separate pieces: no text is copied). */
  private list<T>(pieces: string[], items: readonly T[], text: (item: T) => string): void {
    for (let i = 0; i < items.length; i++) {
      if (i > 0) pieces.push(',');
      pieces.push(text(items[i]!));
    }
  }
}
