/**
 * Agent recovery at start (Mesos' `Slave::recover`): read the checkpoint and
 *
 * - same boot id: keep the agent id (the agent re-registers with it), queue
 *   every task's unacknowledged updates again, and re-attach each running
 *   container (it may have ended meanwhile: its recorded exit status is
 *   reported); a corrupt task file is logged and that task reported TASK_LOST;
 * - a different boot id (the host rebooted): register as a new agent; what is
 *   left of the old containers is killed and each old task is reported
 *   TASK_GONE (with the old agent id) once the new agent is registered;
 * - custom executor runs checkpointed by themselves are re-attached too, so
 *   an idle executor (no task left) is recovered rather than destroyed;
 * - in every case, the containers of this agent that no readable checkpoint
 *   names (a corrupt or missing checkpoint, a launch not yet checkpointed) are
 *   destroyed (`Containerizer.destroyOrphans`).
 */
import type { Logger } from '@agora/common';
import { isTerminalState, TaskState, TaskStatusReason, TaskStatusSource } from '@agora/proto';
import type { Containerizer } from '../containerizer/containerizer.js';
import { containerCheckpointOf } from '../custom-executor/executor-task.js';
import type { StatusUpdateManager } from '../status-updates/status-update-manager.js';
import type { TaskManager } from '../tasks/task-manager.js';
import type { ExecutorManager } from '../custom-executor/executor-manager.js';
import type { Checkpointer, TaskCheckpoint } from './checkpoint.js';

export interface RecoveryInput {
  checkpointer: Checkpointer;
  bootId: string;
  tasks: TaskManager;
  updates: StatusUpdateManager;
  containerizer: Containerizer;
  /** Recovers executor runs checkpointed by themselves (idle executors included); none when undefined. */
  executors?: Pick<ExecutorManager, 'recoverExecutor'> | undefined;
  /** Sets the agent id before tasks are recovered (their updates carry it). */
  setAgentId: (id: string) => void;
  logger: Logger;
}

export interface RecoveryResult {
  /** The recovered agent id (undefined: register as a new agent). */
  agentId: string | undefined;
  recovered: number;
  lost: number;
  gone: number;
  rebooted: boolean;
  /** Orphan containers destroyed. */
  orphans: string[];
}

/** The containers a checkpoint names: the task's, its container's and its executor's. */
function containersOf(t: Pick<TaskCheckpoint, 'containerId' | 'container'>): string[] {
  const ids = [t.containerId];
  const c = t.container as { containerId?: unknown; container?: { containerId?: unknown } } | undefined;
  if (typeof c?.containerId === 'string') ids.push(c.containerId);
  if (typeof c?.container?.containerId === 'string') ids.push(c.container.containerId);
  return ids;
}

async function sweepOrphans(input: RecoveryInput, known: Set<string>, result: RecoveryResult): Promise<void> {
  try {
    result.orphans = (await input.containerizer.destroyOrphans?.(known)) ?? [];
  } catch (err) {
    input.logger.error({ err }, 'cannot destroy orphan containers');
  }
}

export async function recoverAgent(input: RecoveryInput): Promise<RecoveryResult> {
  const { checkpointer, bootId, tasks, updates, containerizer, logger } = input;
  const state = checkpointer.read();
  const result: RecoveryResult = { agentId: undefined, recovered: 0, lost: 0, gone: 0, rebooted: false, orphans: [] };
  const recoverContainer = (cp: unknown) => {
    if (containerizer.recover === undefined) return undefined;
    try {
      return containerizer.recover(cp);
    } catch (err) {
      logger.error({ err }, 'cannot recover a container');
      return undefined;
    }
  };
  if (state.agent === undefined) {
    if (state.tasks.length > 0 || state.corrupt.length > 0) {
      logger.error('task checkpoints without an agent checkpoint are ignored; registering as a new agent');
    }
    checkpointer.clearTasks();
    await sweepOrphans(input, new Set(), result);
    return result;
  }
  if (state.agent.bootId !== bootId) {
    result.rebooted = true;
    logger.warn(
      { agentId: state.agent.agentId, bootId, previousBootId: state.agent.bootId, tasks: state.tasks.length },
      'the host rebooted since the last checkpoint: registering as a new agent, the old tasks are gone',
    );
    for (const t of state.tasks) {
      if (t.container !== undefined) {
        const container = recoverContainer(containerCheckpointOf(t.container));
        if (container !== undefined && !container.hasExited) await container.kill(0);
      }
      if (t.state === TaskState.TASK_LOST || isTerminalState(t.state)) {
        // It ended before the reboot: deliver what was not yet acknowledged.
        for (const status of t.pending) updates.update(t.frameworkId, status);
        continue;
      }
      updates.update(t.frameworkId, {
        task_id: { value: t.info.task_id.value },
        state: TaskState.TASK_GONE,
        message: 'The agent host rebooted',
        reason: TaskStatusReason.REASON_AGENT_RESTARTED,
        source: TaskStatusSource.SOURCE_AGENT,
        agent_id: { value: state.agent.agentId },
      });
      result.gone++;
    }
    checkpointer.clearTasks();
    await sweepOrphans(input, new Set(), result);
    return result;
  }
  result.agentId = state.agent.agentId;
  input.setAgentId(state.agent.agentId);
  for (const t of state.tasks) {
    const framework = state.frameworks.get(t.frameworkId) ?? { id: { value: t.frameworkId }, name: '', user: '' };
    if (t.container === undefined && !isTerminalState(t.state) && t.state !== TaskState.TASK_LOST) {
      // Launched (maybe) but not yet checkpointed with its container: kill whatever was started.
      await containerizer.destroy?.(t.containerId).catch((err: unknown) => logger.error({ err }, 'orphan cleanup'));
    }
    tasks.recoverTask(framework, t, recoverContainer);
    result.recovered++;
  }
  // Executor runs checkpointed by themselves: those whose tasks all ended (idle) are recovered here too.
  const executorContainers: string[] = [];
  for (const e of state.executors) {
    const framework = state.frameworks.get(e.frameworkId) ?? { id: { value: e.frameworkId }, name: '', user: '' };
    if (input.executors?.recoverExecutor(framework, e.frameworkId, state.agent.agentId, e.run) === true) {
      executorContainers.push(...containersOf({ containerId: e.run.containerId, container: e.run }));
    }
  }
  for (const c of state.corrupt) {
    const framework = state.frameworks.get(c.frameworkId) ?? { id: { value: c.frameworkId }, name: '', user: '' };
    tasks.recoverLostTask(framework, c.taskId, `The task's checkpoint is corrupt: ${c.error}`);
    result.lost++;
  }
  await sweepOrphans(input, new Set([...state.tasks.flatMap(containersOf), ...executorContainers]), result);
  logger.info(
    { agentId: result.agentId, recovered: result.recovered, lost: result.lost, orphans: result.orphans.length },
    'recovered from the checkpoint',
  );
  return result;
}
