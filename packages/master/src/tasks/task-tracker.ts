/**
 * TaskTracker: every task this master knows, by framework and by agent, with
 * its latest state, status history and the status update awaiting the
 * framework's acknowledgement.
 *
 * A task's resources count as used on its agent (and for its framework) until
 * the task reaches an ended state (terminal, or TASK_LOST as Mesos counts it).
 * A task moves to its framework's completed tasks when the framework
 * acknowledges a terminal update (Mesos removes it then too), or at teardown.
 */
import { Emitter, type Logger, Resources } from '@agora/common';
import { type agora, isTerminalState, type Resource, type TaskInfo, TaskState, type TaskStatus } from '@agora/proto';

/** Completed tasks kept per framework (Mesos keeps 1,000). */
export const MAX_COMPLETED_TASKS_PER_FRAMEWORK = 1000;
/** Unreachable tasks kept per framework (Mesos keeps 1,000). */
export const MAX_UNREACHABLE_TASKS_PER_FRAMEWORK = 1000;
/** Status history kept per task. */
export const MAX_STATUSES_PER_TASK = 50;

type Labels = agora.v1.Labels.$Properties;

export interface TaskRecord {
  readonly frameworkId: string;
  readonly taskId: string;
  readonly agentId: string;
  name: string;
  state: TaskState;
  resources: Resources;
  labels: Labels | undefined;
  executorId: string | undefined;
  user: string | undefined;
  /** Status updates seen, oldest first (the last is the latest). */
  statuses: TaskStatus[];
  /** State of the latest reliable update forwarded (Mesos status_update_state). */
  statusUpdateState: TaskState | undefined;
  /** Its uuid; the framework's ACKNOWLEDGE must name it. */
  statusUpdateUuid: Uint8Array | undefined;
  /**
   * The latest usage its agent reported (AgentToMaster.UsageReport), as Mesos' ResourceStatistics JSON
   * (`timestamp`, `cpus_user_time_secs`, `mem_rss_bytes`, …); dropped when the task ends.
   */
  statistics?: Readonly<Record<string, number>> | undefined;
  /**
   * The role its resources are allocated to (the offer's `allocation_info.role`; also stamped on the TaskInfo's
   * resources sent to the agent, which reports it back on re-registration). Undefined for tasks recovered from
   * agents that did not report one.
   */
  role?: string | undefined;
}

/** One task's usage from an agent's UsageReport. */
export interface TaskUsage {
  frameworkId: string;
  taskId: string;
  statistics: Readonly<Record<string, number>>;
}

/** Whether a state ends the task for resource accounting (Mesos counts TASK_LOST as terminal). */
export function isEndedState(state: TaskState): boolean {
  return isTerminalState(state) || state === TaskState.TASK_LOST;
}

function key(frameworkId: string, taskId: string): string {
  return `${frameworkId}\u0000${taskId}`;
}

export class TaskTracker {
  private readonly tasks = new Map<string, TaskRecord>();
  private readonly completedByFramework = new Map<string, TaskRecord[]>();
  /** How many tasks ended in each state since this master started (Mesos' master/tasks_<state> counters). */
  private readonly ended = new Map<TaskState, number>();
  /** Tasks of partition-aware frameworks on agents marked unreachable (Mesos' unreachable_tasks). */
  private readonly unreachableTasks = new Map<string, TaskRecord>();

  private readonly changed = new Emitter<{ task: TaskRecord; added: boolean }>();
  /** A task was added (launched, recovered from an agent) or got a new state (operator event stream). */
  readonly onDidChangeTask = this.changed.event;

  constructor(private readonly logger: Logger) {}

  get(frameworkId: string, taskId: string): TaskRecord | undefined {
    return this.tasks.get(key(frameworkId, taskId));
  }

  /** Whether the id is taken by a known task of the framework (active or completed). */
  isTaskIdInUse(frameworkId: string, taskId: string): boolean {
    if (this.tasks.has(key(frameworkId, taskId)) || this.unreachableTasks.has(key(frameworkId, taskId))) return true;
    return this.completedByFramework.get(frameworkId)?.some((t) => t.taskId === taskId) ?? false;
  }

  all(): TaskRecord[] {
    return [...this.tasks.values()];
  }

  byFramework(frameworkId: string): TaskRecord[] {
    return this.all().filter((t) => t.frameworkId === frameworkId);
  }

  byAgent(agentId: string): TaskRecord[] {
    return this.all().filter((t) => t.agentId === agentId);
  }

  completed(frameworkId: string): readonly TaskRecord[] {
    return this.completedByFramework.get(frameworkId) ?? [];
  }

  /** Resources used by the framework's tasks that have not ended, optionally only on one agent. */
  usedByFramework(frameworkId: string, agentId?: string): Resources {
    let sum = Resources.empty();
    for (const t of this.tasks.values()) {
      if (t.frameworkId !== frameworkId || isEndedState(t.state)) continue;
      if (agentId !== undefined && t.agentId !== agentId) continue;
      sum = sum.add(t.resources);
    }
    return sum;
  }

  /** Resources used on an agent by tasks that have not ended. */
  usedOnAgent(agentId: string): Resources {
    let sum = Resources.empty();
    for (const t of this.tasks.values()) {
      if (t.agentId === agentId && !isEndedState(t.state)) sum = sum.add(t.resources);
    }
    return sum;
  }

  /** A task the master launched (RunTask sent): TASK_STAGING. */
  launch(
    frameworkId: string,
    task: TaskInfo,
    resources: Resources,
    user: string | undefined,
    role?: string,
  ): TaskRecord {
    const record: TaskRecord = {
      ...(role === undefined ? {} : { role }),
      frameworkId,
      taskId: task.task_id.value,
      agentId: task.agent_id.value,
      name: task.name,
      state: TaskState.TASK_STAGING,
      resources,
      labels: task.labels ?? undefined,
      executorId: task.executor?.executor_id.value ?? undefined,
      user,
      statuses: [],
      statusUpdateState: undefined,
      statusUpdateUuid: undefined,
    };
    this.tasks.set(key(frameworkId, record.taskId), record);
    this.changed.fire({ task: record, added: true });
    return record;
  }

  /**
   * A task an agent reports on re-registration. Known tasks are left as they are (the agent's later status
   * updates bring news); unknown ones are added (after a master failover this is how the master learns them).
   * Returns the record when it was added. Resources must already be validated.
   */
  recover(task: agora.v1.Task, resources: Resources): TaskRecord | undefined {
    const k = key(task.framework_id.value, task.task_id.value);
    if (this.tasks.has(k)) return undefined;
    const role = task.resources.find((r) => r.allocation_info?.role)?.allocation_info?.role ?? undefined;
    const record: TaskRecord = {
      ...(role === undefined ? {} : { role }),
      frameworkId: task.framework_id.value,
      taskId: task.task_id.value,
      agentId: task.agent_id.value,
      name: task.name,
      state: task.state,
      resources,
      labels: task.labels ?? undefined,
      executorId: task.executor_id?.value ?? undefined,
      user: task.user ?? undefined,
      statuses: task.statuses.slice(-MAX_STATUSES_PER_TASK),
      statusUpdateState: task.status_update_state ?? undefined,
      statusUpdateUuid: task.status_update_uuid ?? undefined,
    };
    this.tasks.set(k, record);
    this.logger.info(
      { frameworkId: record.frameworkId, taskId: record.taskId, agentId: record.agentId, state: TaskState[task.state] },
      'task recovered from agent',
    );
    this.changed.fire({ task: record, added: true });
    return record;
  }

  /**
   * A status update from an agent. `latestState` (the agent's newest state of the task) wins over the
   * update's own state, as in Mesos. Returns the task (undefined if unknown) and whether it ended now.
   */
  update(
    frameworkId: string,
    status: TaskStatus,
    latestState: TaskState | undefined,
  ): { task: TaskRecord | undefined; endedNow: boolean } {
    const task = this.tasks.get(key(frameworkId, status.task_id.value));
    if (task === undefined) return { task: undefined, endedNow: false };
    const wasEnded = isEndedState(task.state);
    const uuid = status.uuid && status.uuid.length > 0 ? status.uuid : undefined;
    const retry = uuid !== undefined && task.statusUpdateUuid !== undefined && sameBytes(uuid, task.statusUpdateUuid);
    task.state = latestState ?? status.state;
    if (!retry) task.statuses.push(status);
    if (task.statuses.length > MAX_STATUSES_PER_TASK) task.statuses.shift();
    if (uuid !== undefined) {
      task.statusUpdateState = status.state;
      task.statusUpdateUuid = uuid;
    }
    if (isEndedState(task.state)) task.statistics = undefined;
    if (!retry) this.changed.fire({ task, added: false });
    const endedNow = !wasEnded && isEndedState(task.state);
    if (endedNow) this.countEnded(task.state);
    return { task, endedNow };
  }

  /**
   * An agent's usage report: the statistics of each task it names that runs on that agent and has not ended
   * replace the task's previous ones. Returns how many tasks were updated (others are ignored).
   */
  recordUsage(agentId: string, usage: readonly TaskUsage[]): number {
    let updated = 0;
    for (const u of usage) {
      const task = this.tasks.get(key(u.frameworkId, u.taskId));
      if (task === undefined || task.agentId !== agentId || isEndedState(task.state)) continue;
      task.statistics = u.statistics;
      updated++;
    }
    return updated;
  }

  /** The framework acknowledged `uuid`: a terminal update acked moves the task to the completed ones. */
  acknowledge(frameworkId: string, taskId: string, uuid: Uint8Array): void {
    const task = this.tasks.get(key(frameworkId, taskId));
    if (task === undefined || task.statusUpdateUuid === undefined) return;
    if (!sameBytes(task.statusUpdateUuid, uuid)) return;
    if (task.statusUpdateState !== undefined && isEndedState(task.statusUpdateState)) this.complete(task);
  }

  /** A master-generated terminal state for a task (e.g. gone from its agent): ends and completes it. */
  endByMaster(task: TaskRecord, status: TaskStatus): void {
    if (!isEndedState(task.state)) this.countEnded(status.state);
    task.state = status.state;
    task.statuses.push(status);
    this.complete(task);
    this.changed.fire({ task, added: false });
  }

  /**
   * The task's agent was marked unreachable and its framework is partition-aware: TASK_UNREACHABLE. The task
   * leaves the active tasks (its resources no longer count) and is kept among the unreachable ones, so that
   * reconciliation answers TASK_UNREACHABLE and the agent's return can bring it back.
   */
  markUnreachable(task: TaskRecord, status: TaskStatus): void {
    task.state = status.state;
    task.statistics = undefined;
    task.statuses.push(status);
    if (task.statuses.length > MAX_STATUSES_PER_TASK) task.statuses.shift();
    const k = key(task.frameworkId, task.taskId);
    this.tasks.delete(k);
    this.unreachableTasks.set(k, task);
    const ofFramework = this.unreachableByFramework(task.frameworkId);
    if (ofFramework.length > MAX_UNREACHABLE_TASKS_PER_FRAMEWORK) {
      const oldest = ofFramework[0]!;
      this.unreachableTasks.delete(key(oldest.frameworkId, oldest.taskId));
    }
    this.changed.fire({ task, added: false });
  }

  unreachableByFramework(frameworkId: string): TaskRecord[] {
    return [...this.unreachableTasks.values()].filter((t) => t.frameworkId === frameworkId);
  }

  unreachableByAgent(agentId: string): TaskRecord[] {
    return [...this.unreachableTasks.values()].filter((t) => t.agentId === agentId);
  }

  /** Forget an unreachable task (its agent came back with it, or is gone); returns it. */
  takeUnreachable(frameworkId: string, taskId: string): TaskRecord | undefined {
    const k = key(frameworkId, taskId);
    const task = this.unreachableTasks.get(k);
    this.unreachableTasks.delete(k);
    return task;
  }

  /** An unreachable task ends for good (its agent is gone, or its framework torn down): completed. */
  endUnreachable(task: TaskRecord, status: TaskStatus): void {
    this.unreachableTasks.delete(key(task.frameworkId, task.taskId));
    this.countEnded(status.state);
    task.state = status.state;
    task.statuses.push(status);
    this.complete(task);
    this.changed.fire({ task, added: false });
  }

  /** Tasks that ended in each state since this master started. */
  endedCounts(): ReadonlyMap<TaskState, number> {
    return this.ended;
  }

  /** Every unreachable task (all frameworks). */
  allUnreachable(): TaskRecord[] {
    return [...this.unreachableTasks.values()];
  }

  private countEnded(state: TaskState): void {
    this.ended.set(state, (this.ended.get(state) ?? 0) + 1);
  }

  /** TEARDOWN: every task of the framework is completed (non-ended ones as TASK_KILLED). */
  removeFramework(frameworkId: string, now: number): TaskRecord[] {
    for (const task of this.unreachableByFramework(frameworkId)) {
      this.unreachableTasks.delete(key(frameworkId, task.taskId));
      this.complete(task);
    }
    const removed = this.byFramework(frameworkId);
    for (const task of removed) {
      if (!isEndedState(task.state)) {
        this.countEnded(TaskState.TASK_KILLED);
        task.state = TaskState.TASK_KILLED;
        task.statuses.push({
          task_id: { value: task.taskId },
          state: TaskState.TASK_KILLED,
          timestamp: now / 1000,
          message: 'Framework torn down',
        });
        this.changed.fire({ task, added: false });
      }
      this.complete(task);
    }
    return removed;
  }

  private complete(task: TaskRecord): void {
    task.statistics = undefined;
    this.tasks.delete(key(task.frameworkId, task.taskId));
    const list = this.completedByFramework.get(task.frameworkId) ?? [];
    list.push(task);
    if (list.length > MAX_COMPLETED_TASKS_PER_FRAMEWORK) list.shift();
    this.completedByFramework.set(task.frameworkId, list);
  }
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The resources a task uses, from its wire form; throws AGORA_ERR_BAD_RESOURCES. */
export function taskResources(list: readonly Resource[] | null | undefined): Resources {
  return Resources.fromProto(list ?? []);
}
