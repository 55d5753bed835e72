/**
 * The launch path of a task: a command task's sandbox, environment, fetch step
 * and command executor (also used to recover one), and a task with an
 * ExecutorInfo handed to its custom executor.
 */
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { systemClock } from '@agora/common';
import { type agora, TaskState, TaskStatusReason, TaskStatusSource } from '@agora/proto';
import { taskCheckFactories } from '../checks/task-checks.js';
import { latestRunLink, sandboxDir } from '../checkpoint/paths.js';
import type { VolumeMount } from '../containerizer/containerizer.js';
import { buildTaskEnvironment } from '../containerizer/environment.js';
import { CommandExecutor } from '../executor/command-executor.js';
import type { TaskContext, TaskRecord } from './task-context.js';

type TaskInfo = agora.v1.TaskInfo.$Properties;
type FrameworkInfo = agora.v1.FrameworkInfo.$Properties;

/** Create a command task's sandbox (and `runs/latest`), with its volumes. Throws when it cannot. */
export function createCommandSandbox(ctx: TaskContext, agentId: string, record: TaskRecord): string {
  const { workDir } = ctx.options;
  const taskId = record.info.task_id.value;
  const sandbox = sandboxDir(workDir, agentId, record.frameworkId, taskId, record.containerId);
  mkdirSync(sandbox, { recursive: true });
  const latest = latestRunLink(workDir, agentId, record.frameworkId, taskId);
  rmSync(latest, { force: true });
  symlinkSync(basename(sandbox), latest);
  record.volumes = ctx.options.volumes?.(record.info.resources ?? []);
  ctx.options.prepareSandbox?.(sandbox, record.info);
  return sandbox;
}

/** A command task's executor: its environment, checks and (unless recovered) fetch step. */
export function commandExecutorFor(
  ctx: TaskContext,
  record: TaskRecord,
  framework: FrameworkInfo,
  agentId: string,
  sandbox: string,
  recovered: boolean,
): CommandExecutor {
  const task = record.info;
  const taskId = task.task_id.value;
  const env = buildTaskEnvironment({
    taskId,
    frameworkId: record.frameworkId,
    executorId: taskId,
    sandbox,
    agentEndpoint: ctx.options.agentEndpoint(),
    hostname: ctx.options.hostname,
    resources: task.resources ?? [],
    environment: task.command?.environment,
    base: ctx.options.baseEnv ?? process.env,
  });
  const clock = ctx.options.clock ?? systemClock;
  const executor: CommandExecutor = new CommandExecutor({
    task,
    framework,
    frameworkId: record.frameworkId,
    agentId,
    containerId: record.containerId,
    sandbox,
    env,
    containerizer: ctx.options.containerizer,
    volumes: record.volumes,
    logger: ctx.logger,
    ...(recovered ? {} : { prepare: fetchStep(ctx, task, sandbox) }),
    ...taskCheckFactories(task, { sandbox, env }, clock, ctx.logger.child({ taskId }), recovered),
    onStatus: (status) => {
      record.pid = executor.pid;
      ctx.report(record, status);
    },
  });
  return executor;
}

/** The fetch before launch, when the task has URIs. */
function fetchStep(ctx: TaskContext, task: TaskInfo, sandbox: string): (() => Promise<void>) | undefined {
  const uris = task.command?.uris ?? [];
  if (uris.length === 0) return undefined;
  const fetcher = ctx.options.fetcher;
  if (fetcher === undefined) {
    return () => Promise.reject(new Error('this agent has no fetcher: CommandInfo.uris cannot be fetched'));
  }
  return () => fetcher.fetchAll(uris, sandbox);
}

/** A task with an ExecutorInfo: hand it to its custom executor (started if needed). */
export function runOnCustomExecutor(
  ctx: TaskContext,
  record: TaskRecord,
  framework: FrameworkInfo,
  agentId: string,
): void {
  const task = record.info;
  const taskId = task.task_id.value;
  const executors = ctx.options.executors;
  let problem: string | undefined;
  if (executors === undefined) problem = 'This agent runs no custom executors';
  else if (!task.executor?.command?.value) problem = "The task's ExecutorInfo has no command";
  else if (task.command) problem = 'A task has either a command or an executor, not both';
  if (problem !== undefined || executors === undefined) {
    ctx.report(record, {
      task_id: { value: taskId },
      state: TaskState.TASK_ERROR,
      message: problem ?? 'This agent runs no custom executors',
      reason: TaskStatusReason.REASON_TASK_INVALID,
      source: TaskStatusSource.SOURCE_AGENT,
      agent_id: { value: agentId },
    });
    return;
  }
  let volumes: VolumeMount[];
  try {
    volumes = ctx.options.volumes?.(task.resources ?? []) ?? [];
  } catch (err) {
    ctx.report(record, {
      task_id: { value: taskId },
      state: TaskState.TASK_FAILED,
      message: `Cannot create the sandbox: ${(err as Error).message}`,
      reason: TaskStatusReason.REASON_CONTAINER_LAUNCH_FAILED,
      source: TaskStatusSource.SOURCE_AGENT,
      agent_id: { value: agentId },
    });
    return;
  }
  const custom = executors.createTask(
    framework,
    record.frameworkId,
    agentId,
    task,
    (status) => {
      record.pid = custom.pid;
      ctx.report(record, status);
    },
    () => ctx.persist(record),
    volumes,
  );
  record.custom = custom;
  record.sandbox = custom.sandbox;
  const executorId = task.executor?.executor_id.value;
  ctx.logger.info({ taskId, frameworkId: record.frameworkId, executorId }, 'task sent to its executor');
  custom.launch();
}
