/**
 * The Mesos-shaped `/state` JSON (Mesos `src/master/readonly_handler.cpp`,
 * used by Mesos-DNS, marathon-lb and UIs): resources as objects
 * `{cpus, gpus, mem, disk, ports: '[a-b]'}`, times in seconds since the epoch,
 * task states as their names. Read-only: it builds JSON from the components'
 * state and changes nothing.
 */
import { attributesToJson, Resources } from '@agora/common';
import { agora, type MasterInfo, TaskState } from '@agora/proto';
import type { AgentRecord } from '../agents/agent-manager.js';
import type { FrameworkRecord } from '../frameworks/framework-manager.js';
import type { OfferRecord } from '../offers/offer-manager.js';
import { isEndedState, type TaskRecord } from '../tasks/task-tracker.js';

const Capability = agora.v1.FrameworkInfo.Capability.Type;

export interface StateSources {
  info: MasterInfo;
  /** The leading master's info (this one's when leading), if any. */
  leader: MasterInfo | undefined;
  startTime: number;
  electedTime: number | undefined;
  flags: Readonly<Record<string, string>>;
  agents: readonly AgentRecord[];
  frameworks: readonly FrameworkRecord[];
  completedFrameworks: readonly FrameworkRecord[];
  tasksOf(frameworkId: string): readonly TaskRecord[];
  completedTasksOf(frameworkId: string): readonly TaskRecord[];
  offers: readonly OfferRecord[];
  /** A framework's tasks on unreachable agents. */
  unreachableTasksOf?(frameworkId: string): readonly TaskRecord[];
  /** Agents the registry lists as unreachable. */
  unreachableAgents?: number;
}

type Json = Record<string, unknown>;

export function buildStateJson(s: StateSources): Json {
  const tasksByAgent = new Map<string, Resources>();
  const offeredByAgent = new Map<string, Resources>();
  const add = (m: Map<string, Resources>, k: string, r: Resources) => m.set(k, (m.get(k) ?? Resources.empty()).add(r));
  for (const f of s.frameworks) {
    for (const t of s.tasksOf(f.id)) if (!isEndedState(t.state)) add(tasksByAgent, t.agentId, t.resources);
  }
  for (const o of s.offers) add(offeredByAgent, o.agentId, o.resources);

  return {
    version: s.info.version ?? '',
    id: s.info.id,
    pid: s.info.pid ?? '',
    hostname: s.info.hostname ?? '',
    start_time: s.startTime / 1000,
    ...(s.electedTime === undefined ? {} : { elected_time: s.electedTime / 1000 }),
    activated_slaves: s.agents.filter((a) => a.active).length,
    deactivated_slaves: s.agents.filter((a) => !a.active).length,
    unreachable_slaves: s.unreachableAgents ?? 0,
    ...(s.leader === undefined ? {} : { leader: s.leader.pid ?? '', leader_info: masterInfoJson(s.leader) }),
    flags: s.flags,
    slaves: s.agents.map((a) =>
      agentJson(a, tasksByAgent.get(a.id) ?? Resources.empty(), offeredByAgent.get(a.id) ?? Resources.empty()),
    ),
    frameworks: s.frameworks.map((f) => frameworkJson(f, s)),
    completed_frameworks: s.completedFrameworks.map((f) => frameworkJson(f, s)),
    orphan_tasks: [],
    unregistered_frameworks: s.frameworks.filter((f) => f.recovered).map((f) => f.id),
  };
}

export function masterInfoJson(info: MasterInfo): Json {
  return {
    id: info.id,
    ip: info.ip,
    port: info.port,
    ...(info.pid ? { pid: info.pid } : {}),
    ...(info.hostname ? { hostname: info.hostname } : {}),
    ...(info.version ? { version: info.version } : {}),
    ...(info.address
      ? {
          address: {
            ...(info.address.hostname ? { hostname: info.address.hostname } : {}),
            ...(info.address.ip ? { ip: info.address.ip } : {}),
            port: info.address.port,
          },
        }
      : {}),
  };
}

/** One agent of `/state` `slaves` (`used`/`offered`: by its non-ended tasks and its outstanding offers). */
export function agentJson(a: AgentRecord, used: Resources, offered: Resources): Json {
  const reserved: Record<string, unknown> = {};
  for (const role of a.total.roles()) {
    if (role !== '*') reserved[role] = a.total.reservedFor(role).toMesosJson();
  }
  return {
    id: a.id,
    pid: `slave(1)@${a.ip ?? a.hostname}:${a.port}`,
    hostname: a.hostname,
    port: a.port,
    registered_time: a.registeredTime / 1000,
    ...(a.reregisteredTime === undefined ? {} : { reregistered_time: a.reregisteredTime / 1000 }),
    resources: a.total.toMesosJson(),
    used_resources: used.toMesosJson(),
    offered_resources: offered.toMesosJson(),
    reserved_resources: reserved,
    // Mesos' full form: each reserved resource with its `disk.persistence` / `disk.volume` (persistent volumes).
    reserved_resources_full: Object.fromEntries(
      a.total.roles().flatMap((role) => (role === '*' ? [] : [[role, a.total.reservedFor(role).toMesosJsonList()]])),
    ),
    unreserved_resources: a.total.unreserved().toMesosJson(),
    attributes: attributesToJson(a.attributes),
    ...(a.domain === undefined ? {} : { domain: a.domain }),
    active: a.active,
    connected: a.connected,
    version: a.version,
    capabilities: [],
  };
}

function frameworkJson(f: FrameworkRecord, s: StateSources): Json {
  const tasks = s.tasksOf(f.id);
  const offers = s.offers.filter((o) => o.frameworkId === f.id);
  const used = tasks.filter((t) => !isEndedState(t.state)).reduce((acc, t) => acc.add(t.resources), Resources.empty());
  const offered = offers.reduce((acc, o) => acc.add(o.resources), Resources.empty());
  return {
    ...frameworkHeadJson(f, used, offered),
    tasks: tasks.map(taskJson),
    unreachable_tasks: (s.unreachableTasksOf?.(f.id) ?? []).map(taskJson),
    completed_tasks: s.completedTasksOf(f.id).map(taskJson),
    offers: offers.map(offerJson),
    executors: [],
  };
}

/**
 * A framework of `/state` without its lists (`tasks`, `unreachable_tasks`, `completed_tasks`, `offers`,
 * `executors`, which follow these fields in this order).
 */
export function frameworkHeadJson(f: FrameworkRecord, used: Resources, offered: Resources): Json {
  const info = f.info;
  return {
    id: f.id,
    name: info.name,
    user: info.user,
    hostname: info.hostname ?? '',
    webui_url: info.webui_url ?? '',
    ...(info.principal ? { principal: info.principal } : {}),
    role: f.roles[0] ?? '*',
    roles: f.roles,
    capabilities: [...f.capabilities].map((c) => Capability[c] ?? String(c)),
    failover_timeout: info.failover_timeout ?? 0,
    checkpoint: info.checkpoint ?? false,
    active: f.active,
    connected: f.connected,
    recovered: f.recovered,
    suppressed_roles: [...f.suppressedRoles],
    ...(f.registeredTime === undefined ? {} : { registered_time: f.registeredTime / 1000 }),
    ...(f.reregisteredTime === undefined ? {} : { reregistered_time: f.reregisteredTime / 1000 }),
    unregistered_time: (f.unregisteredTime ?? 0) / 1000,
    ...(info.labels?.labels?.length ? { labels: labelsJson(info.labels) } : {}),
    resources: used.add(offered).toMesosJson(),
    used_resources: used.toMesosJson(),
    offered_resources: offered.toMesosJson(),
  };
}

export function offerJson(o: OfferRecord): Json {
  return { id: o.id, framework_id: o.frameworkId, slave_id: o.agentId, resources: o.resources.toMesosJson() };
}

/** One task of `/state` and `/tasks`. */
export function taskJson(t: TaskRecord): Json {
  return {
    id: t.taskId,
    name: t.name,
    framework_id: t.frameworkId,
    executor_id: t.executorId ?? '',
    slave_id: t.agentId,
    state: TaskState[t.state] ?? String(t.state),
    resources: t.resources.toMesosJson(),
    ...(t.user ? { user: t.user } : {}),
    ...(t.labels?.labels?.length ? { labels: labelsJson(t.labels) } : {}),
    statuses: t.statuses.map((st) => ({
      state: TaskState[st.state] ?? String(st.state),
      timestamp: st.timestamp ?? 0,
      ...(st.healthy === undefined || st.healthy === null ? {} : { healthy: st.healthy }),
    })),
    ...(t.statistics === undefined ? {} : { statistics: t.statistics }),
  };
}

function labelsJson(labels: agora.v1.Labels.$Properties): Array<{ key: string; value?: string }> {
  return (labels.labels ?? []).map((l) =>
    l.value === undefined || l.value === null ? { key: l.key } : { key: l.key, value: l.value },
  );
}
