/**
 * What the task manager's parts share: its options, the record of one task,
 * and the context (maps, report, persist) the launch, recovery and report
 * modules work on.
 */
import type { Clock, Logger } from '@agora/common';
import type { agora } from '@agora/proto';
import type { Checkpointer } from '../checkpoint/checkpoint.js';
import type { Containerizer, VolumeMount } from '../containerizer/containerizer.js';
import type { CustomExecutorTask, ExecutorManager } from '../custom-executor/executor-manager.js';
import type { CommandExecutor } from '../executor/command-executor.js';
import type { Fetcher } from '../fetcher/fetcher.js';
import type { StatusUpdateManager } from '../status-updates/status-update-manager.js';
import type { TaskSnapshot } from './snapshots.js';

type TaskInfo = agora.v1.TaskInfo.$Properties;
type FrameworkInfo = agora.v1.FrameworkInfo.$Properties;
type TaskStatus = agora.v1.TaskStatus.$Properties;

export interface TaskManagerOptions {
  workDir: string;
  /** The agent id (tasks only arrive once registered). */
  agentId: () => string | undefined;
  /** The agent's HTTP `host:port`, for MESOS_AGENT_ENDPOINT. */
  agentEndpoint: () => string;
  /** The agent's advertised hostname, for HOST. */
  hostname: string;
  containerizer: Containerizer;
  statusUpdates: StatusUpdateManager;
  logger?: Logger;
  /** The environment tasks inherit. @default process.env */
  baseEnv?: Readonly<Record<string, string | undefined>>;
  /** @default DEFAULT_MAX_COMPLETED_TASKS */
  maxCompletedTasks?: number;
  /** Fetches CommandInfo.uris into the sandbox before the task starts; without it URIs are refused. */
  fetcher?: Fetcher | undefined;
  /** For health-check timers. @default systemClock */
  clock?: Clock | undefined;
  /** Runs tasks whose TaskInfo has an `executor` (custom executors); without it such tasks are refused. */
  executors?: ExecutorManager | undefined;
  /** Checkpoints every task change (recovery after an agent restart); none when undefined. */
  checkpointer?: Checkpointer | undefined;
  /** Called once a command task's sandbox exists, before it launches (persistent volumes); a throw fails the task. */
  prepareSandbox?: ((sandbox: string, task: TaskInfo) => void) | undefined;
  /**
   * The persistent volumes among a task's resources, for the containerizer (`PersistentVolumes.resolve`);
   * a throw fails the task. Without it tasks get no volumes.
   */
  volumes?: ((resources: readonly agora.v1.Resource.$Properties[]) => VolumeMount[]) | undefined;
}

/** One task on this agent. */
export interface TaskRecord extends TaskSnapshot {
  statuses: TaskStatus[];
  executor: CommandExecutor | undefined;
  /** Set instead of `executor` for a task on a custom executor. */
  custom?: CustomExecutorTask | undefined;
  /** The container checkpoint of a recovered task without an executor. */
  container?: unknown;
  /** A command task's volumes (set with its sandbox). */
  volumes?: VolumeMount[] | undefined;
}

/** What the task manager's parts work on. */
export interface TaskContext {
  readonly options: TaskManagerOptions;
  readonly logger: Logger;
  /** Tasks not yet terminal, or terminal but not yet acknowledged, by task id. */
  readonly live: Map<string, TaskRecord>;
  /** Acknowledged terminal tasks, oldest first (bounded). */
  readonly completed: readonly TaskRecord[];
  readonly frameworks: Map<string, FrameworkInfo>;
  /** A status change: into the status update manager, the record and the checkpoint. */
  report(record: TaskRecord, status: TaskStatus): void;
  /** Checkpoint the task (when checkpointing is on). */
  persist(record: TaskRecord): void;
}
