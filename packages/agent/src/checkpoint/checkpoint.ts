/**
 * The agent's checkpoint (Mesos' `meta/` tree), written atomically (write a
 * temporary file, fsync, rename) so a crash never leaves a half-written file:
 *
 * ```
 * <work_dir>/meta/agent.json                                   { agentId, bootId }
 * <work_dir>/meta/frameworks/<fw>/framework.pb                 FrameworkInfo (protobuf)
 * <work_dir>/meta/frameworks/<fw>/tasks/<task>/task.json       the task, its state, statuses,
 *                                                              unacknowledged updates, container
 * <work_dir>/meta/containers/<container>/exit_status           written by the container's supervisor
 * ```
 *
 * A task's file is rewritten on every status change and acknowledgement and
 * removed when its terminal update is acknowledged. A file that cannot be
 * read or decoded is reported (`corrupt`) and the rest recovers.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { AgoraError, type Logger, silentLogger } from '@agora/common';
import { agora, type TaskState } from '@agora/proto';
import type { ExecutorRunCheckpoint } from '../custom-executor/executor-task.js';

export const CHECKPOINT_VERSION = 1;

/** Write `data` to `file` atomically: a temporary sibling, fsync, rename. */
export function atomicWrite(file: string, data: string | Uint8Array): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

export interface AgentCheckpoint {
  agentId: string;
  bootId: string;
}

/** One task as checkpointed (decoded). */
export interface TaskCheckpoint {
  frameworkId: string;
  info: agora.v1.TaskInfo.$Properties;
  state: TaskState;
  containerId: string;
  sandbox: string | undefined;
  statuses: agora.v1.TaskStatus.$Properties[];
  /** Unacknowledged status updates, oldest first (resent after recovery). */
  pending: agora.v1.TaskStatus.$Properties[];
  /** The containerizer's checkpoint of the task's container, once launched. */
  container: unknown;
}

export interface CorruptCheckpoint {
  frameworkId: string;
  taskId: string;
  file: string;
  error: string;
}

/** A custom executor's run as checkpointed by itself (`executors/<id>/executor.json`), whether or not it has tasks. */
export interface ExecutorCheckpoint {
  frameworkId: string;
  run: ExecutorRunCheckpoint;
}

export interface RecoveredState {
  agent: AgentCheckpoint | undefined;
  frameworks: Map<string, agora.v1.FrameworkInfo.$Properties>;
  tasks: TaskCheckpoint[];
  corrupt: CorruptCheckpoint[];
  /** Custom executor runs (a corrupt file is logged and left out: its container is then an orphan). */
  executors: ExecutorCheckpoint[];
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const unb64 = (s: unknown): Uint8Array => {
  if (typeof s !== 'string') throw new Error('expected base64 text');
  return new Uint8Array(Buffer.from(s, 'base64'));
};

function encodeStatus(s: agora.v1.TaskStatus.$Properties): string {
  return b64(agora.v1.TaskStatus.encode(s).finish());
}

function decodeStatus(s: unknown): agora.v1.TaskStatus {
  return agora.v1.TaskStatus.decode(unb64(s));
}

function corruptError(file: string, why: string): AgoraError {
  return new AgoraError('AGORA_ERR_CHECKPOINT', `checkpoint ${file} is corrupt: ${why}`, { data: { file } });
}

export class Checkpointer {
  readonly metaDir: string;
  private readonly logger: Logger;

  constructor(workDir: string, logger?: Logger) {
    this.metaDir = join(workDir, 'meta');
    this.logger = logger ?? silentLogger();
  }

  /** Where containers' runtime files (exit status) go. */
  get runtimeDir(): string {
    return join(this.metaDir, 'containers');
  }

  private agentFile(): string {
    return join(this.metaDir, 'agent.json');
  }

  private frameworkFile(frameworkId: string): string {
    return join(this.metaDir, 'frameworks', frameworkId, 'framework.pb');
  }

  taskFile(frameworkId: string, taskId: string): string {
    return join(this.metaDir, 'frameworks', frameworkId, 'tasks', encodeURIComponent(taskId), 'task.json');
  }

  executorFile(frameworkId: string, executorId: string): string {
    return join(this.metaDir, 'frameworks', frameworkId, 'executors', encodeURIComponent(executorId), 'executor.json');
  }

  /** Checkpoint a custom executor's run (its container, sandbox, volumes), so it is recovered even when idle. */
  writeExecutor(frameworkId: string, run: ExecutorRunCheckpoint): void {
    const json = {
      version: CHECKPOINT_VERSION,
      frameworkId,
      executorId: run.executorInfo.executor_id.value,
      executorInfo: b64(agora.v1.ExecutorInfo.encode(run.executorInfo).finish()),
      containerId: run.containerId,
      sandbox: run.sandbox,
      container: run.container ?? null,
      volumes: run.volumes ?? [],
    };
    atomicWrite(this.executorFile(frameworkId, json.executorId), `${JSON.stringify(json)}\n`);
  }

  removeExecutor(frameworkId: string, executorId: string): void {
    rmSync(dirname(this.executorFile(frameworkId, executorId)), { recursive: true, force: true });
    this.removeFrameworkIfEmpty(frameworkId);
  }

  /** A framework's directory goes once it checkpoints no task and no executor. */
  private removeFrameworkIfEmpty(frameworkId: string): void {
    const dir = join(this.metaDir, 'frameworks', frameworkId);
    const entries = (sub: string): number => {
      try {
        return readdirSync(join(dir, sub)).length;
      } catch {
        return 0;
      }
    };
    if (entries('tasks') === 0 && entries('executors') === 0) rmSync(dir, { recursive: true, force: true });
  }

  writeAgent(agent: AgentCheckpoint): void {
    atomicWrite(this.agentFile(), `${JSON.stringify({ version: CHECKPOINT_VERSION, ...agent })}\n`);
  }

  /** The agent checkpoint; undefined when there is none; throws AGORA_ERR_CHECKPOINT when it is corrupt. */
  readAgent(): AgentCheckpoint | undefined {
    const file = this.agentFile();
    if (!existsSync(file)) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw corruptError(file, (err as Error).message);
    }
    const a = parsed as Partial<AgentCheckpoint> | null;
    if (a === null || typeof a.agentId !== 'string' || typeof a.bootId !== 'string' || a.agentId === '') {
      throw corruptError(file, 'agentId and bootId are required');
    }
    return { agentId: a.agentId, bootId: a.bootId };
  }

  writeFramework(info: agora.v1.FrameworkInfo.$Properties): void {
    const id = info.id?.value;
    if (id === undefined || id === '') return;
    atomicWrite(this.frameworkFile(id), agora.v1.FrameworkInfo.encode(info).finish());
  }

  writeTask(task: TaskCheckpoint): void {
    const json = {
      version: CHECKPOINT_VERSION,
      frameworkId: task.frameworkId,
      taskId: task.info.task_id.value,
      info: b64(agora.v1.TaskInfo.encode(task.info).finish()),
      state: task.state,
      containerId: task.containerId,
      sandbox: task.sandbox ?? null,
      statuses: task.statuses.map(encodeStatus),
      pending: task.pending.map(encodeStatus),
      container: task.container ?? null,
    };
    atomicWrite(this.taskFile(task.frameworkId, task.info.task_id.value), `${JSON.stringify(json)}\n`);
  }

  removeTask(frameworkId: string, taskId: string): void {
    rmSync(dirname(this.taskFile(frameworkId, taskId)), { recursive: true, force: true });
    this.removeFrameworkIfEmpty(frameworkId);
  }

  /** Forget all frameworks and tasks (a new agent after a reboot); keeps nothing but the directory. */
  clearTasks(): void {
    rmSync(join(this.metaDir, 'frameworks'), { recursive: true, force: true });
  }

  /** Read everything. Corrupt task files are listed in `corrupt` (and logged), never thrown. */
  read(): RecoveredState {
    const state: RecoveredState = { agent: undefined, frameworks: new Map(), tasks: [], corrupt: [], executors: [] };
    try {
      state.agent = this.readAgent();
    } catch (err) {
      this.logger.error({ err }, 'the agent checkpoint is corrupt; registering as a new agent');
    }
    const root = join(this.metaDir, 'frameworks');
    let frameworkIds: string[] = [];
    try {
      frameworkIds = readdirSync(root);
    } catch {
      return state;
    }
    for (const frameworkId of frameworkIds) {
      try {
        const info = agora.v1.FrameworkInfo.decode(readFileSync(this.frameworkFile(frameworkId)));
        state.frameworks.set(frameworkId, info);
      } catch (err) {
        this.logger.error(
          { frameworkId, err },
          'framework checkpoint missing or corrupt; using a minimal FrameworkInfo',
        );
        state.frameworks.set(frameworkId, { id: { value: frameworkId }, name: '', user: '' });
      }
      this.readExecutors(frameworkId, state.executors);
      let taskDirs: string[] = [];
      try {
        taskDirs = readdirSync(join(root, frameworkId, 'tasks'));
      } catch {
        continue;
      }
      for (const dir of taskDirs) {
        const taskId = decodeURIComponent(dir);
        const file = this.taskFile(frameworkId, taskId);
        if (!existsSync(file)) {
          // A crash inside removeTask (file gone, directory left) or before a first write's rename: no task.
          this.logger.warn({ frameworkId, taskId, file }, 'task checkpoint directory without its file; removed');
          rmSync(dirname(file), { recursive: true, force: true });
          continue;
        }
        try {
          state.tasks.push(this.decodeTask(file, frameworkId, taskId));
        } catch (err) {
          const error = err instanceof Error ? err.message : String(err);
          this.logger.error(
            { frameworkId, taskId, file, error },
            'task checkpoint is corrupt; the task is reported lost',
          );
          state.corrupt.push({ frameworkId, taskId, file, error });
        }
      }
    }
    return state;
  }

  private readExecutors(frameworkId: string, into: ExecutorCheckpoint[]): void {
    let dirs: string[] = [];
    try {
      dirs = readdirSync(join(this.metaDir, 'frameworks', frameworkId, 'executors'));
    } catch {
      return;
    }
    for (const dir of dirs) {
      const file = this.executorFile(frameworkId, decodeURIComponent(dir));
      if (!existsSync(file)) {
        // A crash inside removeExecutor: the run had ended.
        rmSync(dirname(file), { recursive: true, force: true });
        continue;
      }
      try {
        const j = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
        if (typeof j['containerId'] !== 'string' || typeof j['sandbox'] !== 'string') {
          throw new Error('containerId or sandbox missing');
        }
        const run: ExecutorRunCheckpoint = {
          kind: 'agora-executor/1',
          executorInfo: agora.v1.ExecutorInfo.decode(unb64(j['executorInfo'])),
          containerId: j['containerId'],
          sandbox: j['sandbox'],
          container: j['container'] ?? undefined,
          volumes: Array.isArray(j['volumes']) ? (j['volumes'] as ExecutorRunCheckpoint['volumes']) : [],
        };
        into.push({ frameworkId, run });
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        this.logger.error({ frameworkId, file, error }, 'executor checkpoint is corrupt; its container is an orphan');
      }
    }
  }

  private decodeTask(file: string, frameworkId: string, taskId: string): TaskCheckpoint {
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw corruptError(file, (err as Error).message);
    }
    if (j === null || typeof j !== 'object' || j['taskId'] !== taskId || typeof j['containerId'] !== 'string') {
      throw corruptError(file, 'taskId or containerId missing');
    }
    try {
      const info = agora.v1.TaskInfo.decode(unb64(j['info']));
      const statuses = (j['statuses'] as unknown[]).map(decodeStatus);
      const pending = (j['pending'] as unknown[]).map(decodeStatus);
      if (typeof j['state'] !== 'number') throw new Error('state missing');
      return {
        frameworkId,
        info,
        state: j['state'] as TaskState,
        containerId: j['containerId'] as string,
        sandbox: typeof j['sandbox'] === 'string' ? j['sandbox'] : undefined,
        statuses,
        pending,
        container: j['container'] ?? undefined,
      };
    } catch (err) {
      throw corruptError(file, (err as Error).message);
    }
  }
}
