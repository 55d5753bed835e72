/**
 * The agent lifecycle beyond registration (Mesos master.cpp markUnreachable,
 * markGone, the agent re-register timeout after a failover):
 *
 * - An agent that misses `maxAgentPingTimeouts` pongs is written to the registry as unreachable, then removed:
 *   its offers are rescinded, its connection closed (it reconnects and re-registers when it can), its tasks
 *   go TASK_UNREACHABLE to PARTITION_AWARE frameworks (kept as unreachable tasks) and TASK_LOST to others
 *   (completed). These updates are made by the master: no uuid, not acknowledged.
 * - The operator's MARK_AGENT_GONE is permanent: registry first, then the agent is refused (Refused, close
 *   4403), its tasks go TASK_GONE_BY_OPERATOR (TASK_LOST to frameworks that are not partition-aware).
 * - After this master recovers the registry, admitted agents that do not re-register within
 *   `agentReregisterTimeoutMs` are marked unreachable; the allocator stays paused until 80 % of them have
 *   re-registered or that window ends.
 */
import { AgoraError, type Clock, type Disposable, DisposableStore, Emitter, type Logger } from '@agora/common';
import { agora, TaskState, type TaskStatus, TaskStatusReason, TaskStatusSource } from '@agora/proto';
import { CLOSE_REFUSED } from '@agora/transport';
import {
  isGone,
  isUnreachable,
  markGone,
  markUnreachable,
  prune,
  type Registry,
  removeAgent,
} from '../registry/operations.js';
import type { AgentManager } from '../agents/agent-manager.js';
import { type RemovalRateLimit, RemovalRateLimiter } from '../agents/removal-rate-limiter.js';
import type { AllocationCycle } from '../allocation/allocation-cycle.js';
import type { FrameworkManager } from '../frameworks/framework-manager.js';
import type { Registrar } from '../registry/registrar.js';
import { isEndedState, type TaskRecord, type TaskTracker } from '../tasks/task-tracker.js';
import { longTimeout } from './framework-lifecycle.js';
import { UncheckpointedTasks } from './uncheckpointed-tasks.js';

/** What the agent lifecycle works with (a slice of the master's parts). */
export interface AgentLifecycleParts {
  config: {
    agentReregisterTimeoutMs: number;
    recoveryAgentRemovalLimit: number;
    agentRemovalRateLimit?: RemovalRateLimit | undefined;
  };
  clock: Clock;
  logger: Logger;
  registrar: Registrar;
  agents: AgentManager;
  frameworks: FrameworkManager;
  tasks: TaskTracker;
  allocation: AllocationCycle;
}

const EventType = agora.v1.scheduler.Event.Type;

/** Close code for an agent the master marked unreachable: it should reconnect and re-register. */
export const CLOSE_UNREACHABLE = 4410;
/** How often old unreachable/gone entries are pruned from the registry. */
export const REGISTRY_PRUNE_INTERVAL_MS = 15 * 60 * 1000;
/** Share of the registry's agents that must re-register before the allocator resumes after a failover. */
export const REREGISTER_RESUME_RATIO = 0.8;

export class AgentLifecycle implements Disposable {
  private readonly store = new DisposableStore();
  /** Agents admitted in the recovered registry that have not re-registered yet. */
  private readonly expected = new Set<string>();
  private expectedTotal = 0;
  private reregisterWindowOpen = false;
  private readonly tooManyMissing = new Emitter<{ missing: number; expected: number }>();

  /**
   * More than `recoveryAgentRemovalLimit` of the registry's agents did not re-register in time: the master
   * must give up leadership (nothing was marked unreachable).
   */
  readonly onDidExceedRemovalLimit = this.tooManyMissing.event;

  /** Removals after failed health checks, at most --agent_removal_rate_limit. */
  private readonly removals: RemovalRateLimiter;
  /** Tasks of non-checkpointing frameworks: TASK_LOST when their agent disconnects. */
  readonly uncheckpointed: UncheckpointedTasks;

  constructor(private readonly parts: AgentLifecycleParts) {
    this.removals = this.store.add(new RemovalRateLimiter(parts.clock, parts.config.agentRemovalRateLimit));
    this.uncheckpointed = this.store.add(new UncheckpointedTasks({ ...parts, now: () => parts.clock.now() }));
    this.store.add(
      parts.agents.onDidTimeOutAgent((agent) => {
        this.removals.schedule(() => {
          // It re-registered while waiting for its turn: nothing to remove (Mesos cancels the removal).
          if (parts.agents.get(agent.id)?.timedOut !== true) return;
          void this.markUnreachable(agent.id, 'health check timed out').catch((err) =>
            parts.logger.error({ err, agentId: agent.id }, 'marking the agent unreachable failed'),
          );
        });
      }),
    );
    this.store.add(
      parts.agents.onDidAddAgent(({ agent }) => {
        if (!this.expected.delete(agent.id)) return;
        this.maybeResumeAllocation();
      }),
    );
  }

  /**
   * The registry is recovered: expect its admitted agents to re-register within the window; pause the
   * allocator meanwhile (until 80 % are back).
   */
  recovered(registry: Registry): void {
    // Old unreachable and gone entries are pruned every 15 minutes (Mesos' registry_prune_interval).
    this.store.add(
      this.parts.clock.setInterval(() => {
        void this.parts.registrar
          .apply(prune(this.parts.clock.now()))
          .catch((err) => this.parts.logger.error({ err }, 'pruning the registry failed'));
      }, REGISTRY_PRUNE_INTERVAL_MS),
    );
    for (const a of registry.agents) {
      const id = a.info.id?.value;
      if (id && this.parts.agents.get(id) === undefined) this.expected.add(id);
    }
    this.expectedTotal = this.expected.size;
    if (this.expectedTotal === 0) return;
    this.reregisterWindowOpen = true;
    this.parts.allocation.setPaused(true);
    this.parts.logger.info(
      { expected: this.expectedTotal, windowMs: this.parts.config.agentReregisterTimeoutMs },
      'waiting for agents to re-register; allocation paused',
    );
    this.store.add(
      longTimeout(this.parts.clock, () => this.reregisterTimeout(), this.parts.config.agentReregisterTimeoutMs),
    );
  }

  /** Agents of the registry still expected to re-register. */
  get expectedAgents(): readonly string[] {
    return [...this.expected];
  }

  /** Registry status of an agent that is not registered now. */
  agentStatus(agentId: string): 'unreachable' | 'gone' | undefined {
    const { registrar } = this.parts;
    if (!registrar.isRecovered) return undefined;
    if (isGone(registrar.registry, agentId)) return 'gone';
    if (isUnreachable(registrar.registry, agentId)) return 'unreachable';
    return undefined;
  }

  /** Write the agent as unreachable, then remove it and tell the frameworks about its tasks. */
  async markUnreachable(agentId: string, why: string): Promise<void> {
    const { agents, registrar, clock, logger } = this.parts;
    const agent = agents.get(agentId);
    await registrar.apply(markUnreachable(agentId, clock.now(), agent?.hostname));
    // The agent may have re-registered meanwhile (its record is fresh then): leave it.
    const current = agents.get(agentId);
    if (current !== undefined && current.timedOut !== true) return;
    logger.warn({ agentId, why }, 'agent marked unreachable');
    this.uncheckpointed.forget(agentId);
    agents.remove(agentId, CLOSE_UNREACHABLE, 'AGORA_ERR_AGENT_REFUSED: marked unreachable; re-register');
    this.expected.delete(agentId);
    this.endTasks(agentId, 'unreachable', `Agent ${agentId} is unreachable: ${why}`);
    this.parts.allocation.request();
  }

  /** Operator MARK_AGENT_GONE. Throws AGORA_ERR_UNKNOWN_AGENT (nothing changed) for an agent never admitted. */
  async markGone(agentId: string): Promise<void> {
    const { agents, registrar, clock, logger } = this.parts;
    if (!registrar.isRecovered) throw new AgoraError('AGORA_ERR_REGISTRY', 'the registry is not recovered yet');
    if (isGone(registrar.registry, agentId)) return;
    await registrar.apply(markGone(agentId, clock.now()));
    logger.warn({ agentId }, 'agent marked gone by the operator');
    const channel = agents.get(agentId)?.channel;
    channel?.trySend({
      refused: { message: `agent ${agentId} has been marked gone`, code: 'AGORA_ERR_AGENT_REFUSED' },
    });
    agents.remove(agentId, CLOSE_REFUSED, 'AGORA_ERR_AGENT_REFUSED: marked gone');
    this.expected.delete(agentId);
    this.endTasks(agentId, 'gone', `Agent ${agentId} was marked gone by the operator`);
    this.parts.allocation.request();
  }

  /**
   * Maintenance: the agent's machine went DOWN. The agent is forgotten by the registry (it may register again
   * once the machine is up), refused now (Refused, close 4403), and its tasks end as for a gone agent.
   */
  async removeForMaintenance(agentId: string): Promise<void> {
    const { agents, registrar, logger } = this.parts;
    await registrar.apply(removeAgent(agentId));
    logger.warn({ agentId }, 'agent removed: its machine is down for maintenance');
    const channel = agents.get(agentId)?.channel;
    channel?.trySend({
      refused: { message: `the machine of agent ${agentId} is down for maintenance`, code: 'AGORA_ERR_AGENT_REFUSED' },
    });
    agents.remove(agentId, CLOSE_REFUSED, 'AGORA_ERR_AGENT_REFUSED: machine down for maintenance');
    this.expected.delete(agentId);
    this.endTasks(agentId, 'gone', `Agent ${agentId} was removed: its machine is down for maintenance`);
    this.parts.allocation.request();
  }

  dispose(): void {
    this.store.dispose();
    this.tooManyMissing.dispose();
  }

  private endTasks(agentId: string, why: 'unreachable' | 'gone', message: string): void {
    const { tasks, frameworks, clock } = this.parts;
    const now = clock.now();
    const status = (task: TaskRecord, state: TaskState, reason: TaskStatusReason): TaskStatus => ({
      task_id: { value: task.taskId },
      state,
      source: TaskStatusSource.SOURCE_MASTER,
      reason,
      message,
      agent_id: { value: agentId },
      timestamp: now / 1000,
      ...(why === 'unreachable' ? { unreachable_time: { nanoseconds: now * 1_000_000 } } : {}),
    });
    const notify = (task: TaskRecord, s: TaskStatus) =>
      frameworks.send(task.frameworkId, { type: EventType.UPDATE, update: { status: s } });
    for (const task of tasks.byAgent(agentId)) {
      if (isEndedState(task.state)) continue;
      const partitionAware = frameworks.isPartitionAware(task.frameworkId);
      if (why === 'unreachable') {
        const s = partitionAware
          ? status(task, TaskState.TASK_UNREACHABLE, TaskStatusReason.REASON_AGENT_REMOVED)
          : status(task, TaskState.TASK_LOST, TaskStatusReason.REASON_AGENT_REMOVED);
        if (partitionAware) tasks.markUnreachable(task, s);
        else tasks.endByMaster(task, s);
        notify(task, s);
      } else {
        const s = partitionAware
          ? status(task, TaskState.TASK_GONE_BY_OPERATOR, TaskStatusReason.REASON_AGENT_REMOVED_BY_OPERATOR)
          : status(task, TaskState.TASK_LOST, TaskStatusReason.REASON_AGENT_REMOVED_BY_OPERATOR);
        tasks.endByMaster(task, s);
        notify(task, s);
      }
    }
    if (why === 'gone') {
      for (const task of tasks.unreachableByAgent(agentId)) {
        const partitionAware = frameworks.isPartitionAware(task.frameworkId);
        const s = status(
          task,
          partitionAware ? TaskState.TASK_GONE_BY_OPERATOR : TaskState.TASK_LOST,
          TaskStatusReason.REASON_AGENT_REMOVED_BY_OPERATOR,
        );
        tasks.endUnreachable(task, s);
        notify(task, s);
      }
    }
  }

  private reregisterTimeout(): void {
    this.reregisterWindowOpen = false;
    const missing = [...this.expected];
    this.expected.clear();
    const limit = this.parts.config.recoveryAgentRemovalLimit;
    if (this.expectedTotal > 0 && missing.length / this.expectedTotal > limit) {
      // Too many agents missing: more likely this master is cut off than they are all gone (Mesos fails over).
      this.parts.logger.error(
        { missing: missing.length, expected: this.expectedTotal, limit },
        'too many agents did not re-register; giving up leadership instead of marking them unreachable',
      );
      this.tooManyMissing.fire({ missing: missing.length, expected: this.expectedTotal });
      return;
    }
    if (missing.length > 0) {
      this.parts.logger.warn(
        { agents: missing.length },
        'agents did not re-register in time; marking them unreachable',
      );
    }
    for (const agentId of missing) {
      void this.markUnreachable(agentId, 'did not re-register after a master failover').catch((err) =>
        this.parts.logger.error({ err, agentId }, 'marking the agent unreachable failed'),
      );
    }
    this.parts.allocation.setPaused(false);
  }

  private maybeResumeAllocation(): void {
    if (!this.reregisterWindowOpen || this.expectedTotal === 0) return;
    const back = this.expectedTotal - this.expected.size;
    if (back / this.expectedTotal >= REREGISTER_RESUME_RATIO) {
      if (this.parts.allocation.isPaused() === true) {
        this.parts.logger.info(
          { back, expected: this.expectedTotal },
          'enough agents re-registered; allocation resumes',
        );
      }
      this.parts.allocation.setPaused(false);
    }
  }
}
