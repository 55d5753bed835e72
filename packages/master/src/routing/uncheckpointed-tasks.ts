/**
 * Tasks of frameworks that do not checkpoint (FrameworkInfo.checkpoint = false, the default) do not survive
 * their agent's disconnection (Mesos, docs/high-availability-framework-guide.md): when an agent's connection
 * breaks, each of their non-ended tasks on it is TASK_LOST at once (REASON_AGENT_DISCONNECTED, source master,
 * no uuid) and completed. When the agent re-registers with such tasks, they are not taken back: the framework
 * is shut down on the agent (its tasks killed), as the Mesos agent itself does for non-checkpointing frameworks.
 */
import { type Disposable, DisposableStore } from '@agora/common';
import { agora, TaskState, TaskStatusReason, TaskStatusSource } from '@agora/proto';
import type { AgentManager, AgentRecord } from '../agents/agent-manager.js';
import type { FrameworkManager } from '../frameworks/framework-manager.js';
import { isEndedState, type TaskTracker } from '../tasks/task-tracker.js';

const EventType = agora.v1.scheduler.Event.Type;

export interface UncheckpointedTasksParts {
  agents: AgentManager;
  frameworks: FrameworkManager;
  tasks: TaskTracker;
  now(): number;
}

export class UncheckpointedTasks implements Disposable {
  private readonly store = new DisposableStore();
  /** agent id → frameworks whose tasks on it were lost when it disconnected. */
  private readonly lost = new Map<string, Set<string>>();

  constructor(private readonly parts: UncheckpointedTasksParts) {
    this.store.add(parts.agents.onDidDisconnectAgent((agent) => this.agentDisconnected(agent)));
  }

  /** Whether the framework's tasks on the agent were lost when it disconnected (its reported tasks are not taken back). */
  wasLost(agentId: string, frameworkId: string): boolean {
    return this.lost.get(agentId)?.has(frameworkId) ?? false;
  }

  /** The agent re-registered (or was removed): forget what was lost on it. */
  forget(agentId: string): void {
    this.lost.delete(agentId);
  }

  dispose(): void {
    this.store.dispose();
    this.lost.clear();
  }

  private agentDisconnected(agent: AgentRecord): void {
    const { tasks, frameworks } = this.parts;
    const now = this.parts.now();
    for (const task of tasks.byAgent(agent.id)) {
      if (isEndedState(task.state)) continue;
      const framework = frameworks.get(task.frameworkId);
      if (framework === undefined || framework.info.checkpoint === true) continue;
      const status: agora.v1.TaskStatus.$Properties = {
        task_id: { value: task.taskId },
        state: TaskState.TASK_LOST,
        source: TaskStatusSource.SOURCE_MASTER,
        reason: TaskStatusReason.REASON_AGENT_DISCONNECTED,
        message: `Agent ${agent.hostname} disconnected (the framework does not checkpoint)`,
        agent_id: { value: agent.id },
        timestamp: now / 1000,
      };
      tasks.endByMaster(task, agora.v1.TaskStatus.create(status));
      frameworks.send(task.frameworkId, { type: EventType.UPDATE, update: { status } });
      let set = this.lost.get(agent.id);
      if (set === undefined) {
        set = new Set();
        this.lost.set(agent.id, set);
      }
      set.add(task.frameworkId);
    }
  }
}
