/**
 * A command task's health check and generalized check, as the command
 * executor takes them: validation before launch (an invalid one is
 * TASK_ERROR), and the factories that start them once the task runs, with
 * COMMAND probes inside the task's container.
 */
import type { Clock, Logger } from '@agora/common';
import type { agora } from '@agora/proto';
import type { CommandExecutorOptions } from '../executor/command-executor.js';
import { HealthChecker, healthCheckKind } from '../health/health-checker.js';
import { TaskChecker } from './checker.js';
import { checkConfig, emptyCheckStatus } from './policy.js';

type TaskInfo = agora.v1.TaskInfo.$Properties;

/** Throws AGORA_ERR_BAD_REQUEST (`invalid health check: ...` / `invalid check: ...`) for an invalid one. */
export function validateTaskChecks(task: TaskInfo): void {
  if (task.health_check) healthCheckKind(task.health_check);
  if (task.check) checkConfig(task.check);
}

/**
 * The executor's `healthCheck` and `check` for a task. `recovered`: the task
 * was re-attached after an agent restart, so the framework's last check
 * status is unknown and the first result is reported whatever it is.
 */
export function taskCheckFactories(
  task: TaskInfo,
  ctx: { sandbox: string; env: Record<string, string> },
  clock: Clock,
  logger: Logger,
  recovered: boolean,
): Pick<CommandExecutorOptions, 'healthCheck' | 'check'> {
  const { health_check: healthCheck, check } = task;
  return {
    healthCheck: healthCheck
      ? (hooks, container) =>
          HealthChecker.start(healthCheck, { ...ctx, enter: container.enter?.bind(container) }, clock, hooks, logger)
      : undefined,
    check: check
      ? (hooks, container) =>
          TaskChecker.start(check, { ...ctx, enter: container.enter?.bind(container) }, clock, hooks, {
            logger,
            // A launched task's TASK_RUNNING carried the empty status; a recovered task's last one is unknown.
            last: recovered ? undefined : emptyCheckStatus(checkConfig(check).kind),
          })
      : undefined,
  };
}
