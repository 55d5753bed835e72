/**
 * The tasks Marathon knows, in memory and in the store. Writes go to the
 * store first and only then to memory, so memory never holds what a restart
 * would not find. Records of tasks that are gone for good are deleted; the
 * last failure of each app is kept for `lastTaskFailure`.
 */
import type { JsonObject } from '../model/app-definition.js';
import type { TaskFailure, TaskRecord } from '../model/task.js';
import type { TaskRepository } from '../storage/repositories.js';

export interface TaskCounts {
  tasksStaged: number;
  tasksRunning: number;
  tasksHealthy: number;
  tasksUnhealthy: number;
}

/** What the health monitor tells about a task. */
export interface TaskHealthView {
  /** true healthy, false unhealthy, undefined no verdict yet (or no checks: running counts as healthy). */
  health(task: TaskRecord): boolean | undefined;
  results(task: TaskRecord): JsonObject[];
  /** Whether the task's app has health checks at all. */
  hasChecks(task: TaskRecord): boolean;
}

export class TaskTracker {
  private healthView: TaskHealthView | undefined;
  private readonly tasks = new Map<string, TaskRecord>();
  /** app id → its tasks by id (an index over `tasks`). */
  private readonly byAppId = new Map<string, Map<string, TaskRecord>>();
  private readonly failures = new Map<string, TaskFailure>();
  /** Expunged unreachable tasks still watched (memory only): task id → agent id and until when (epoch ms). */
  private readonly expunged = new Map<string, { agentId: string; until: number }>();

  constructor(private readonly repository: TaskRepository) {}

  /** Read every stored task (at start). */
  async load(): Promise<number> {
    const stored = await this.repository.list();
    this.tasks.clear();
    this.byAppId.clear();
    for (const t of stored) this.remember(t);
    return stored.length;
  }

  /** Let the health monitor fill in `healthCheckResults` and the healthy counters. */
  setHealthView(view: TaskHealthView | undefined): void {
    this.healthView = view;
  }

  get(taskId: string): TaskRecord | undefined {
    const t = this.tasks.get(taskId);
    return t === undefined ? undefined : this.decorate(t);
  }

  all(): TaskRecord[] {
    return [...this.tasks.values()]
      .map((t) => this.decorate(t))
      .sort((a, b) => a.appId.localeCompare(b.appId) || a.stagedAt.localeCompare(b.stagedAt));
  }

  /** The app's tasks, oldest staged first. */
  byApp(appId: string): TaskRecord[] {
    return [...(this.byAppId.get(appId)?.values() ?? [])]
      .map((t) => this.decorate(t))
      .sort((a, b) => a.stagedAt.localeCompare(b.stagedAt));
  }

  /** App ids that have tasks. */
  appIds(): string[] {
    return [...this.byAppId.keys()];
  }

  /** Store the task, then remember it (kill marks are kept). */
  async put(task: TaskRecord): Promise<void> {
    const { killRequestedAt: _k, healthCheckResults: _h, ...stored } = task;
    await this.repository.put(stored);
    const { healthCheckResults: _h2, ...kept } = task;
    this.remember(kept);
  }

  /** Delete the task from the store, then forget it. */
  async remove(task: TaskRecord): Promise<void> {
    await this.repository.delete(task.appId, task.id);
    this.forget(task);
  }

  /** Note that a KILL was sent (memory only: after a restart kills are decided again). */
  markKillRequested(taskId: string, now: number): void {
    const t = this.tasks.get(taskId);
    if (t !== undefined) this.remember({ ...t, killRequestedAt: now });
  }

  /** Watch an expunged unreachable task until `until`, so it is killed if it comes back meanwhile. */
  watchExpunged(task: TaskRecord, until: number): void {
    this.expunged.set(task.id, { agentId: task.agentId, until });
  }

  /** Whether the (unknown) task is an expunged one still watched. */
  isWatchedExpunged(taskId: string): boolean {
    return this.expunged.has(taskId);
  }

  unwatchExpunged(taskId: string): void {
    this.expunged.delete(taskId);
  }

  /** The expunged tasks still watched at `now` (older ones are dropped: the periodic reconciliation covers them). */
  watchedExpunged(now: number): Array<{ taskId: string; agentId: string }> {
    const out: Array<{ taskId: string; agentId: string }> = [];
    for (const [taskId, w] of this.expunged) {
      if (w.until <= now) this.expunged.delete(taskId);
      else out.push({ taskId, agentId: w.agentId });
    }
    return out;
  }

  recordFailure(failure: TaskFailure): void {
    this.failures.set(failure.appId, failure);
  }

  lastFailure(appId: string): TaskFailure | undefined {
    return this.failures.get(appId);
  }

  forgetApp(appId: string): void {
    this.failures.delete(appId);
  }

  /** Marathon's counters; tasks of apps without health checks are neither healthy nor unhealthy. */
  counts(appId: string): TaskCounts {
    let tasksStaged = 0;
    let tasksRunning = 0;
    let tasksHealthy = 0;
    let tasksUnhealthy = 0;
    const view = this.healthView;
    for (const t of this.byAppId.get(appId)?.values() ?? []) {
      if (t.state === 'TASK_STAGING' || t.state === 'TASK_STARTING') tasksStaged++;
      else if (t.state === 'TASK_RUNNING') tasksRunning++;
      if (view === undefined || !view.hasChecks(t)) continue;
      const h = view.health(t);
      if (h === true) tasksHealthy++;
      else if (h === false) tasksUnhealthy++;
    }
    return { tasksStaged, tasksRunning, tasksHealthy, tasksUnhealthy };
  }

  private decorate(task: TaskRecord): TaskRecord {
    const view = this.healthView;
    if (view === undefined || !view.hasChecks(task)) return task;
    return { ...task, healthCheckResults: view.results(task) };
  }

  private remember(task: TaskRecord): void {
    this.tasks.set(task.id, task);
    let index = this.byAppId.get(task.appId);
    if (index === undefined) {
      index = new Map();
      this.byAppId.set(task.appId, index);
    }
    index.set(task.id, task);
  }

  private forget(task: TaskRecord): void {
    this.tasks.delete(task.id);
    const index = this.byAppId.get(task.appId);
    index?.delete(task.id);
    if (index?.size === 0) this.byAppId.delete(task.appId);
  }
}
