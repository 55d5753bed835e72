/**
 * Validation of the tasks of an ACCEPT's LAUNCH operations against the
 * offered resources, as a pure function (Mesos src/master/validation.cpp,
 * task validation). Each task is checked on its own, in order: an invalid
 * task is rejected with a message saying why (the framework gets TASK_ERROR,
 * REASON_TASK_INVALID) and launches nothing; valid tasks consume the offered
 * resources in order, so a later task cannot use what an earlier one took.
 */
import { type Resources, toAgoraError } from '@agora/common';
import type { TaskInfo } from '@agora/proto';
import { taskResources } from '../tasks/task-tracker.js';

export interface LaunchCheckInput {
  agentId: string;
  /** Everything in the accepted offers. */
  offered: Resources;
  tasks: readonly TaskInfo[];
  /** Whether the framework already has a task with this id (running or completed). */
  isTaskIdInUse(taskId: string): boolean;
}

export interface LaunchCheckResult {
  accepted: Array<{ task: TaskInfo; resources: Resources }>;
  rejected: Array<{ task: TaskInfo; message: string }>;
  /** Offered resources no accepted task uses. */
  remaining: Resources;
}

const BAD_ID = /[\s/]/;

export function checkLaunch(input: LaunchCheckInput): LaunchCheckResult {
  const accepted: LaunchCheckResult['accepted'] = [];
  const rejected: LaunchCheckResult['rejected'] = [];
  const idsInThisAccept = new Set<string>();
  let remaining = input.offered;
  for (const task of input.tasks) {
    const verdict = checkTask(task, input, idsInThisAccept, remaining);
    idsInThisAccept.add(task.task_id.value);
    if (typeof verdict === 'string') {
      rejected.push({ task, message: verdict });
      continue;
    }
    remaining = remaining.subtract(verdict);
    accepted.push({ task, resources: verdict });
  }
  return { accepted, rejected, remaining };
}

/** The task's resources (task plus executor) when valid, else why not. */
function checkTask(
  task: TaskInfo,
  input: LaunchCheckInput,
  idsInThisAccept: ReadonlySet<string>,
  available: Resources,
): Resources | string {
  const id = task.task_id.value;
  if (id === '' || id === '.' || id === '..' || BAD_ID.test(id)) {
    return `Task ID '${id}' is invalid: it must be non-empty and contain no whitespace or '/'`;
  }
  if (idsInThisAccept.has(id)) return `Task ID '${id}' is used by more than one task in this ACCEPT`;
  if (input.isTaskIdInUse(id)) return `Task ID '${id}' is already in use by another task of this framework`;
  if (task.agent_id.value !== input.agentId) {
    return `Task uses agent ${task.agent_id.value} but the offers are for agent ${input.agentId}`;
  }
  const hasCommand = task.command !== undefined && task.command !== null;
  const hasExecutor = task.executor !== undefined && task.executor !== null;
  if (hasCommand === hasExecutor) return 'Task must have exactly one of CommandInfo or ExecutorInfo';
  let resources: Resources;
  try {
    resources = taskResources(task.resources);
    if (hasExecutor) resources = resources.add(taskResources(task.executor?.resources));
  } catch (err) {
    return `Task has invalid resources: ${toAgoraError(err).message}`;
  }
  if (resources.isEmpty()) return 'Task uses no resources';
  if (!available.contains(resources)) {
    return (
      `Task uses more resources (${resources.toString()}) than available in the offers ` +
      `(${available.toString() || 'nothing left'})`
    );
  }
  return resources;
}
