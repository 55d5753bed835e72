/**
 * What the master does with each agent message: registration and
 * re-registration (learning tasks and frameworks after a failover), status
 * updates (forwarded to the framework, which acknowledges through the master),
 * pongs and executor messages.
 */
import { AgoraError, toAgoraError, type Resources } from '@agora/common';
import { agora, TaskState, TaskStatusReason, TaskStatusSource } from '@agora/proto';
import { type AgentChannel, checkAgentInfo } from '../agents/agent-manager.js';
import { admitAgent, isGone, isUnreachable, markReachable } from '../registry/operations.js';
import type { AgentMessageHandler } from '../api/agent-ws.js';
import { isEndedState, taskResources } from '../tasks/task-tracker.js';
import type { MasterParts } from './parts.js';
import { usageOf } from '../state/usage.js';

const EventType = agora.v1.scheduler.Event.Type;
type AgentToMaster = agora.v1.agent.AgentToMaster;
type Register = agora.v1.agent.AgentToMaster.Register;
type Reregister = agora.v1.agent.AgentToMaster.Reregister;
type StatusUpdate = agora.v1.agent.AgentToMaster.StatusUpdate;
type ExecutorMessage = agora.v1.agent.AgentToMaster.ExecutorMessage;

export class AgentMessages implements AgentMessageHandler {
  constructor(private readonly parts: MasterParts) {}

  /**
   * A new agent: admitted to the registry under a fresh id first, then registered and answered (Registered).
   * A Register carrying an id is a re-registration.
   */
  register(channel: AgentChannel, message: Register, ip: string | undefined): string | Promise<string> {
    if (message.agent_info.id?.value) {
      // An agent that already has an id is re-registering, whatever the message says.
      return this.reregister(channel, agora.v1.agent.AgentToMaster.Reregister.create({ ...message }), ip);
    }
    const { agents, registrar, clock } = this.parts;
    checkAgentInfo(message.agent_info);
    this.refuseIfDown(message.agent_info, ip);
    const id = agents.newAgentId();
    const info = agora.v1.AgentInfo.create({ ...message.agent_info, id: { value: id } });
    return registrar.apply(admitAgent(info, clock.now())).then(() => {
      if (!channel.isOpen) throw new AgoraError('AGORA_ERR_CLOSED', `agent ${id} went away while being admitted`);
      // Its checkpointed reservations and volumes (reservations/ledger.ts) are applied as it is added.
      this.parts.reservations.expectCheckpointed(id, message.checkpointed_resources ?? []);
      const agent = agents.register(channel, message.agent_info, message.version ?? '', ip, id);
      channel.trySend({ registered: { agent_id: { value: agent.id }, master_info: this.parts.masterInfo() } });
      this.parts.reservations.afterRegistration(agent);
      this.parts.allocation.request();
      return agent.id;
    });
  }

  /**
   * A known agent: refused when marked gone; otherwise written reachable (and its info updated: changed
   * resources are taken as reported, as Mesos does since 1.5) to the registry, then re-admitted. An agent
   * coming back from unreachable keeps the tasks of PARTITION_AWARE frameworks; the frameworks that are not
   * partition-aware (whose tasks were reported TASK_LOST) are shut down on it.
   */
  reregister(channel: AgentChannel, message: Reregister, ip: string | undefined): string | Promise<string> {
    const { registrar, clock, tasks } = this.parts;
    const agentId = message.agent_info.id?.value;
    if (!agentId) throw new AgoraError('AGORA_ERR_BAD_REQUEST', 'Reregister must carry agent_info.id');
    checkAgentInfo(message.agent_info);
    // Check everything before changing anything.
    const reported = message.tasks.map((task) => ({ task, resources: checkedTaskResources(task) }));
    for (const { framework_info } of message.frameworks) {
      if (!framework_info.id?.value) {
        throw new AgoraError('AGORA_ERR_BAD_REQUEST', 'Reregister lists a framework without framework_info.id');
      }
    }
    if (registrar.isRecovered && isGone(registrar.registry, agentId)) {
      throw new AgoraError('AGORA_ERR_AGENT_REFUSED', `agent ${agentId} has been marked gone and may not re-register`, {
        data: { agentId },
      });
    }
    this.refuseIfDown(message.agent_info, ip);
    const wasUnreachable =
      (registrar.isRecovered && isUnreachable(registrar.registry, agentId)) ||
      tasks.unreachableByAgent(agentId).length > 0;
    return registrar.apply(markReachable(message.agent_info, clock.now())).then(() => {
      if (!channel.isOpen) throw new AgoraError('AGORA_ERR_CLOSED', `agent ${agentId} went away while re-registering`);
      return this.readmit(channel, message, ip, reported, wasUnreachable);
    });
  }

  private refuseIfDown(info: agora.v1.AgentInfo, ip: string | undefined): void {
    if (this.parts.maintenance.isDown({ hostname: info.hostname, ip })) {
      throw new AgoraError('AGORA_ERR_AGENT_REFUSED', `machine ${info.hostname} is down for maintenance`, {
        data: { hostname: info.hostname },
      });
    }
  }

  private readmit(
    channel: AgentChannel,
    message: Reregister,
    ip: string | undefined,
    reported: Array<{ task: agora.v1.Task; resources: Resources }>,
    wasUnreachable: boolean,
  ): string {
    const { agents, tasks, frameworks, logger } = this.parts;
    this.parts.reservations.expectCheckpointed(message.agent_info.id!.value, message.checkpointed_resources ?? []);
    const { agent } = agents.reregister(channel, message.agent_info, message.version ?? '', ip);
    const shutdown = new Set<string>();
    for (const { framework_info } of message.frameworks) {
      const id = framework_info.id!.value;
      if (frameworks.isCompleted(id)) shutdown.add(id);
      else frameworks.recover(framework_info);
    }
    const reportedKeys = new Set<string>();
    for (const { task, resources } of reported) {
      const frameworkId = task.framework_id.value;
      reportedKeys.add(`${frameworkId}\u0000${task.task_id.value}`);
      if (frameworks.isCompleted(frameworkId)) {
        shutdown.add(frameworkId);
        continue;
      }
      if (frameworks.get(frameworkId) === undefined) {
        frameworks.recover({ user: task.user ?? '', name: '', id: { value: frameworkId } });
      }
      if (this.parts.agentLifecycle.uncheckpointed.wasLost(agent.id, frameworkId)) {
        // Reported TASK_LOST when the agent disconnected (the framework does not checkpoint): kill them.
        shutdown.add(frameworkId);
        continue;
      }
      if (wasUnreachable && !frameworks.isPartitionAware(frameworkId)) {
        // Its tasks were reported TASK_LOST when the agent became unreachable: kill them (Mesos 1.1+).
        shutdown.add(frameworkId);
        continue;
      }
      if (tasks.takeUnreachable(frameworkId, task.task_id.value) !== undefined) {
        logger.info({ agentId: agent.id, frameworkId, taskId: task.task_id.value }, 'unreachable task is back');
      }
      const own =
        task.agent_id.value === agent.id ? task : agora.v1.Task.create({ ...task, agent_id: { value: agent.id } });
      tasks.recover(own, resources);
    }
    this.parts.agentLifecycle.uncheckpointed.forget(agent.id);
    // Unreachable tasks the agent did not bring back, and tasks this master launched on the agent that the
    // agent does not have (the launch was lost on the way).
    for (const task of [...tasks.unreachableByAgent(agent.id), ...tasks.byAgent(agent.id)]) {
      if (isEndedState(task.state) || reportedKeys.has(`${task.frameworkId}\u0000${task.taskId}`)) continue;
      const partitionAware = frameworks.isPartitionAware(task.frameworkId);
      const status = {
        task_id: { value: task.taskId },
        state: partitionAware ? TaskState.TASK_DROPPED : TaskState.TASK_LOST,
        source: TaskStatusSource.SOURCE_MASTER,
        reason: TaskStatusReason.REASON_TASK_UNKNOWN,
        message: 'Task is unknown to the agent',
        agent_id: { value: agent.id },
        timestamp: this.parts.clock.now() / 1000,
      };
      logger.warn(
        { agentId: agent.id, frameworkId: task.frameworkId, taskId: task.taskId },
        'task unknown to its agent',
      );
      if (task.state === TaskState.TASK_UNREACHABLE) tasks.endUnreachable(task, status);
      else tasks.endByMaster(task, status);
      frameworks.send(task.frameworkId, { type: EventType.UPDATE, update: { status } });
    }

    channel.trySend({ reregistered: { agent_id: { value: agent.id }, master_info: this.parts.masterInfo() } });
    this.parts.reservations.afterRegistration(agent);
    for (const frameworkId of shutdown) {
      channel.trySend({ shutdown_framework: { framework_id: { value: frameworkId } } });
    }
    for (const kill of this.parts.pendingKills.take(agent.id)) {
      channel.trySend({
        kill_task: {
          framework_id: { value: kill.frameworkId },
          task_id: { value: kill.taskId },
          ...(kill.killPolicy ? { kill_policy: kill.killPolicy } : {}),
        },
      });
    }
    this.parts.allocation.request();
    return agent.id;
  }

  message(agentId: string, message: AgentToMaster, channel: AgentChannel): void {
    if (this.parts.agents.get(agentId)?.channel !== channel) return; // A replaced connection: ignore.
    if (message.status_update) this.statusUpdate(agentId, message.status_update);
    else if (message.pong) this.parts.agents.pong(agentId);
    else if (message.executor_message) this.executorMessage(agentId, message.executor_message);
    else if (message.usage) this.parts.tasks.recordUsage(agentId, usageOf(message.usage));
    else this.parts.logger.warn({ agentId }, 'empty or unknown agent message ignored');
  }

  disconnected(agentId: string, channel: AgentChannel): void {
    this.parts.agents.disconnected(agentId, channel);
  }

  private statusUpdate(agentId: string, update: StatusUpdate): void {
    const { tasks, frameworks, agents, logger } = this.parts;
    const frameworkId = update.framework_id.value;
    const status = update.status;
    if (!status.agent_id) status.agent_id = agora.v1.AgentID.create({ value: agentId });
    const uuid = status.uuid && status.uuid.length > 0 ? status.uuid : undefined;

    if (frameworks.isCompleted(frameworkId)) {
      // The framework is gone: acknowledge for it so the agent stops retrying.
      if (uuid) agents.send(agentId, { ack: { framework_id: update.framework_id, task_id: status.task_id, uuid } });
      return;
    }
    const { task, endedNow } = tasks.update(frameworkId, status, update.latest_state ?? undefined);
    if (task === undefined) {
      logger.warn(
        { agentId, frameworkId, taskId: status.task_id.value },
        'status update for a task the master does not know',
      );
    }
    if (endedNow) this.parts.allocation.request();
    if (frameworks.get(frameworkId) === undefined) {
      logger.warn({ agentId, frameworkId }, 'status update for an unknown framework dropped');
      return;
    }
    const sent = frameworks.send(frameworkId, { type: EventType.UPDATE, update: { status } });
    logger.debug(
      { agentId, frameworkId, taskId: status.task_id.value, state: TaskState[status.state], forwarded: sent },
      'status update',
    );
  }

  private executorMessage(agentId: string, message: ExecutorMessage): void {
    this.parts.frameworks.send(message.framework_id.value, {
      type: EventType.MESSAGE,
      message: { agent_id: { value: agentId }, executor_id: message.executor_id, data: message.data },
    });
  }
}

function checkedTaskResources(task: agora.v1.Task): Resources {
  try {
    return taskResources(task.resources);
  } catch (err) {
    throw new AgoraError(
      'AGORA_ERR_BAD_RESOURCES',
      `Reregister lists task ${task.task_id.value} with invalid resources: ${toAgoraError(err).message}`,
      { cause: err },
    );
  }
}
