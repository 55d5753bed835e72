/** Custom executors: the manager's options, Mesos' default timings, an executor's environment. */
import type { Clock, Logger } from '@agora/common';
import type { agora } from '@agora/proto';
import type { Containerizer, VolumeMount } from '../containerizer/containerizer.js';
import { buildTaskEnvironment } from '../containerizer/environment.js';
import type { ExecutorRunCheckpoint } from './executor-task.js';

/** The agent's WebSocket path for executors. */
export const EXECUTOR_PATH = '/agora/v1/executor';
/** Mesos' `--executor_registration_timeout`. */
export const DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS = 60_000;
/** Mesos' `--executor_shutdown_grace_period`. */
export const DEFAULT_EXECUTOR_SHUTDOWN_GRACE_MS = 5_000;
/** Mesos' `--executor_reregistration_timeout`. */
export const DEFAULT_EXECUTOR_REREGISTRATION_TIMEOUT_MS = 2_000;
/** Mesos' `--http_heartbeat_interval` (agent → executor). */
export const DEFAULT_EXECUTOR_HEARTBEAT_INTERVAL_MS = 30_000;

/** Where executor runs are checkpointed (the agent's Checkpointer). */
export interface ExecutorRunCheckpointer {
  writeExecutor(frameworkId: string, run: ExecutorRunCheckpoint): void;
  removeExecutor(frameworkId: string, executorId: string): void;
}

export interface ExecutorManagerOptions {
  workDir: string;
  agentId: () => string | undefined;
  agentEndpoint: () => string;
  hostname: string;
  containerizer: Containerizer;
  /** Forward an executor's message to the master. */
  sendToMaster: (message: agora.v1.agent.AgentToMaster.$Properties) => boolean;
  baseEnv?: Readonly<Record<string, string | undefined>>;
  clock?: Clock;
  logger?: Logger;
  /** @default DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS */
  registrationTimeoutMs?: number;
  /** @default DEFAULT_EXECUTOR_SHUTDOWN_GRACE_MS */
  shutdownGraceMs?: number;
  /** @default DEFAULT_EXECUTOR_REREGISTRATION_TIMEOUT_MS */
  reregistrationTimeoutMs?: number;
  /** @default DEFAULT_EXECUTOR_HEARTBEAT_INTERVAL_MS */
  heartbeatIntervalMs?: number;
  /**
   * Checkpoints each executor run by itself (`Checkpointer.writeExecutor` / `removeExecutor`), so an idle executor
   * (no task left) is recovered after an agent restart; none when undefined.
   */
  checkpoint?: ExecutorRunCheckpointer | undefined;
  /** The persistent volumes among the executor's resources (`PersistentVolumes.resolve`); none without it. */
  volumes?: ((resources: readonly agora.v1.Resource.$Properties[]) => VolumeMount[]) | undefined;
}

/** An executor's environment: Mesos' task variables without MESOS_TASK_ID, plus its agent id and endpoint. */
export function executorEnvironment(
  options: ExecutorManagerOptions,
  info: agora.v1.ExecutorInfo.$Properties,
  frameworkId: string,
  agentId: string,
  sandbox: string,
): Record<string, string> {
  const env = buildTaskEnvironment({
    taskId: '',
    frameworkId,
    executorId: info.executor_id.value,
    sandbox,
    agentEndpoint: options.agentEndpoint(),
    hostname: options.hostname,
    resources: info.resources ?? [],
    environment: info.command?.environment,
    base: options.baseEnv ?? process.env,
  });
  delete env['MESOS_TASK_ID']; // an executor runs many tasks
  env['MESOS_AGENT_ID'] = agentId;
  env['AGORA_EXECUTOR_ENDPOINT'] = `ws://${options.agentEndpoint()}${EXECUTOR_PATH}`;
  return env;
}
