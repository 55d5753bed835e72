/**
 * What an app needs now to reach its goal: how many new instances to launch
 * and which tasks to kill. Level-triggered: it looks only at the app and its
 * live tasks, so it can run after any event, and after a restart, and give
 * the same answer. PURE.
 *
 * - Scale: more live tasks of the current configuration than `instances` →
 *   kill the surplus, from the largest GROUP_BY group first (when the app
 *   has one), then by `killSelection` (Marathon's
 *   `ScalingProposition`: staging before starting before running; among
 *   equals the youngest first, or the oldest with `OLDEST_FIRST`).
 * - Restart (tasks of an older configuration remain): the rolling replace of
 *   Marathon's `TaskReplaceActor`, restated without memory:
 *   `minHealthy = ceil(N·minimumHealthCapacity)`,
 *   `maxCapacity = floor(N·(1+maximumOverCapacity))` (+1 when both are equal
 *   and capacity is reached, so a replacement can start); old tasks that are
 *   not running are killed at once, running old tasks while more than
 *   `minHealthy` tasks run; new tasks are launched while live tasks stay
 *   within `maxCapacity`. "Healthy" is the caller's `isHealthy` (running,
 *   every health check alive and, during a deployment, ready); by default
 *   TASK_RUNNING.
 */
import { parseConstraints, selectVictims } from '../constraints/constraints.js';
import type { AppDefinition, KillSelection } from '../model/app-definition.js';
import { placementOfTask, type TaskRecord, type TaskStateName } from '../model/task.js';
import { countsTowardInstances } from './unreachable-policy.js';

export type KillReason = 'SCALE_DOWN' | 'OUTDATED' | 'APP_DELETED';

export interface InstancePlan {
  /** New instances of the current configuration to launch. */
  launch: number;
  kill: Array<{ taskId: string; reason: KillReason }>;
  /** The app is at its goal: `instances` tasks of the current configuration run and nothing else is alive. */
  converged: boolean;
}

/** Whether the task was asked to die (and is on its way). */
export function isKilling(task: TaskRecord): boolean {
  return task.killRequestedAt !== undefined || task.state === 'TASK_KILLING';
}

/** Whether the task runs the app's current configuration. */
export function isCurrent(task: TaskRecord, app: Pick<AppDefinition, 'versionInfo'>): boolean {
  return task.version >= app.versionInfo.lastConfigChangeAt;
}

const CONDITION_WEIGHT: Partial<Record<TaskStateName, number>> = {
  TASK_UNREACHABLE: 1,
  TASK_STAGING: 2,
  TASK_STARTING: 3,
  TASK_RUNNING: 4,
};

function sinceOf(task: TaskRecord): string {
  return task.startedAt ?? task.stagedAt;
}

/** Tasks in the order they should be killed (first = first victim). */
export function killOrder(tasks: readonly TaskRecord[], selection: KillSelection): TaskRecord[] {
  return [...tasks].sort((a, b) => {
    const w = (CONDITION_WEIGHT[a.state] ?? 5) - (CONDITION_WEIGHT[b.state] ?? 5);
    if (w !== 0) return w;
    const byTime = sinceOf(a) < sinceOf(b) ? -1 : sinceOf(a) > sinceOf(b) ? 1 : a.id.localeCompare(b.id);
    return selection === 'YOUNGEST_FIRST' ? -byTime : byTime;
  });
}

/** Tasks of a deleted app: all of them die. */
export function planDeletedApp(tasks: readonly TaskRecord[]): InstancePlan {
  const kill = tasks.filter((t) => !isKilling(t)).map((t) => ({ taskId: t.id, reason: 'APP_DELETED' as const }));
  return { launch: 0, kill, converged: tasks.length === 0 };
}

/**
 * The plan for an app given its live (non-terminal) tasks. Unreachable tasks
 * past `inactiveAfterSeconds` (`UnreachableInactive`) do not count: they are
 * replaced, and left alone until they are expunged or come back.
 */
export function planInstances(
  app: AppDefinition,
  allTasks: readonly TaskRecord[],
  /** Healthy and ready (health/readiness checks); by default: running. */
  isHealthy: (task: TaskRecord) => boolean = (t) => t.state === 'TASK_RUNNING',
): InstancePlan {
  const n = app.instances;
  const tasks = allTasks.filter(countsTowardInstances);
  const killing = tasks.filter(isKilling);
  const candidates = tasks.filter((t) => !isKilling(t));
  const current = candidates.filter((t) => isCurrent(t, app));
  const old = candidates.filter((t) => !isCurrent(t, app));
  const kill: InstancePlan['kill'] = [];

  // Surplus of the current configuration: scale down.
  const surplus = Math.max(0, current.length - n);
  const currentVictims = new Set(
    selectVictims(
      killOrder(current, app.killSelection),
      surplus,
      parseConstraints(app.constraints),
      placementOfTask,
    ).map((t) => t.id),
  );
  for (const id of currentVictims) kill.push({ taskId: id, reason: 'SCALE_DOWN' });
  const currentKept = current.filter((t) => !currentVictims.has(t.id));

  const restarting = tasks.some((t) => !isCurrent(t, app));
  if (!restarting) {
    const launch = Math.max(0, n - currentKept.length);
    const converged = launch === 0 && kill.length === 0 && killing.length === 0 && currentKept.every(isHealthy);
    return { launch, kill, converged };
  }

  // Rolling replace of the old configuration (old tasks alive, maybe all already dying).
  const minHealthy = Math.ceil(n * app.upgradeStrategy.minimumHealthCapacity - 1e-9);
  let maxCapacity = Math.floor(n * (1 + app.upgradeStrategy.maximumOverCapacity) + 1e-9);
  const live = old.length + currentKept.length;
  if (minHealthy === maxCapacity && maxCapacity <= live) maxCapacity += 1;

  const oldRunning = old.filter((t) => t.state === 'TASK_RUNNING');
  const oldNotRunning = old.filter((t) => t.state !== 'TASK_RUNNING');
  for (const t of oldNotRunning) kill.push({ taskId: t.id, reason: 'OUTDATED' });
  const healthy = [...oldRunning, ...currentKept].filter(isHealthy).length;
  const canKill = Math.min(oldRunning.length, Math.max(0, healthy - minHealthy));
  // Unhealthy old tasks first (Marathon's TaskReplaceActor), then by killSelection.
  const oldOrder = killOrder(oldRunning, app.killSelection);
  const victims = [...oldOrder.filter((t) => !isHealthy(t)), ...oldOrder.filter(isHealthy)];
  for (const t of victims.slice(0, canKill)) kill.push({ taskId: t.id, reason: 'OUTDATED' });

  const oldLeft = oldRunning.length - canKill;
  const dying = killing.length + oldNotRunning.length + canKill + currentVictims.size;
  const room = Math.max(0, maxCapacity - oldLeft - currentKept.length - dying);
  const launch = Math.min(Math.max(0, n - currentKept.length), room);
  return { launch, kill, converged: false };
}
