/**
 * Marathon's `unreachableStrategy` (`state/UnreachableStrategy.scala`), as
 * pure decisions over stored timestamps, so they give the same answer after
 * a restart or a failover as before. PURE.
 *
 * A task reported TASK_UNREACHABLE is `Unreachable` and still counts toward
 * the app's `instances`; once `inactiveAfterSeconds` have passed since it
 * became unreachable it is `UnreachableInactive`: it no longer counts, so a
 * replacement is launched; once `expungeAfterSeconds` have passed it is
 * expunged (forgotten; killed if it ever comes back). `disabled`: it stays
 * `Unreachable` forever. `{0, 0}` (the default): expunged at once, which
 * replaces it at once. The tasks of a deleted app, and tasks a kill was
 * sent to (scale-down, restart, the API), are expunged at once: Marathon's
 * kill service expunges the instances it cannot reach (not with `disabled`).
 */
import type { UnreachableStrategy } from '../model/app-definition.js';
import type { TaskRecord } from '../model/task.js';

/** Where an unreachable task stands at a given time. */
export type UnreachablePhase = 'Unreachable' | 'UnreachableInactive' | 'Expunged';

/**
 * When the task became unreachable: the master's `unreachable_time` when it
 * gives one (never later than now: clocks differ), else now.
 */
export function unreachableSince(unreachableTimeMs: number | undefined, now: number): number {
  if (unreachableTimeMs === undefined || !Number.isFinite(unreachableTimeMs)) return now;
  return Math.min(unreachableTimeMs, now);
}

/** The phase of a task unreachable since `since` under `strategy` (undefined: the app is gone). */
export function unreachablePhase(
  strategy: UnreachableStrategy | undefined,
  since: number,
  now: number,
): UnreachablePhase {
  if (strategy === undefined) return 'Expunged';
  if (strategy === 'disabled') return 'Unreachable';
  if (now - since >= strategy.expungeAfterSeconds * 1000) return 'Expunged';
  if (now - since >= strategy.inactiveAfterSeconds * 1000) return 'UnreachableInactive';
  return 'Unreachable';
}

/** Whether the task counts toward the app's `instances` (not an inactive unreachable one). */
export function countsTowardInstances(task: TaskRecord): boolean {
  return !(task.state === 'TASK_UNREACHABLE' && task.unreachableInactive === true);
}

export interface UnreachableReview {
  /** Unreachable tasks whose inactive deadline passed (they stop counting: replacements are launched). */
  inactive: TaskRecord[];
  /** Unreachable tasks whose expunge deadline passed (or whose app is gone): forget them. */
  expunge: TaskRecord[];
  /** The earliest deadline still ahead (epoch ms), if any. */
  nextDeadline?: number;
}

/** The unreachable tasks of one app whose phase changed by `now`. */
export function reviewUnreachable(
  strategy: UnreachableStrategy | undefined,
  tasks: readonly TaskRecord[],
  now: number,
): UnreachableReview {
  const out: UnreachableReview = { inactive: [], expunge: [] };
  const ahead = (at: number): void => {
    if (at > now && (out.nextDeadline === undefined || at < out.nextDeadline)) out.nextDeadline = at;
  };
  for (const task of tasks) {
    if (task.state !== 'TASK_UNREACHABLE') continue;
    const since = task.unreachableSince ?? now;
    const killed = task.killRequestedAt !== undefined && strategy !== 'disabled';
    const phase = killed ? 'Expunged' : unreachablePhase(strategy, since, now);
    if (phase === 'Expunged') out.expunge.push(task);
    else if (phase === 'UnreachableInactive' && task.unreachableInactive !== true) out.inactive.push(task);
    if (phase !== 'Expunged' && strategy !== undefined && strategy !== 'disabled') {
      ahead(since + strategy.inactiveAfterSeconds * 1000);
      ahead(since + strategy.expungeAfterSeconds * 1000);
    }
  }
  return out;
}
