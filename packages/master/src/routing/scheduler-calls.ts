/**
 * What the master does with each scheduler call: routing between the
 * FrameworkManager, OfferManager, TaskTracker and AgentManager. Every check
 * happens before any state changes; a rejected call throws an AgoraError that
 * the endpoint answers with an ERROR event.
 */
import { AgoraError, toAgoraError } from '@agora/common';
import {
  agora,
  refuseSeconds,
  type Resource,
  type TaskInfo,
  TaskState,
  TaskStatusReason,
  TaskStatusSource,
  type TaskStatus,
} from '@agora/proto';
import type { SchedulerCallHandler } from '../api/scheduler-ws.js';
import type { FrameworkRecord, SchedulerChannel } from '../frameworks/framework-manager.js';
import { checkLaunch } from '../offers/launch-validation.js';
import { applyReservationOperation, isReservationOperation } from '../offers/reservation-ops.js';
import { reconcileTasks } from '../tasks/reconciliation.js';
import type { MasterParts } from './parts.js';

const CallType = agora.v1.scheduler.Call.Type;
const EventType = agora.v1.scheduler.Event.Type;
const OperationType = agora.v1.Offer.Operation.Type;
type Call = agora.v1.scheduler.Call;

export class SchedulerCalls implements SchedulerCallHandler {
  constructor(private readonly parts: MasterParts) {}

  subscribe(channel: SchedulerChannel, call: Call): string {
    if (!call.subscribe) throw new AgoraError('AGORA_ERR_BAD_REQUEST', 'SUBSCRIBE call needs `subscribe`');
    const { framework } = this.parts.frameworks.subscribe(channel, call.subscribe);
    this.parts.allocation.request();
    return framework.id;
  }

  call(frameworkId: string, call: Call, channel: SchedulerChannel): void {
    const framework = this.parts.frameworks.get(frameworkId);
    if (framework === undefined || framework.channel !== channel) {
      throw new AgoraError('AGORA_ERR_NOT_SUBSCRIBED', `framework ${frameworkId} is not subscribed on this connection`);
    }
    switch (call.type) {
      case CallType.ACCEPT:
        this.accept(framework, need(call.accept, 'ACCEPT', 'accept'));
        return;
      case CallType.DECLINE:
        this.decline(framework, need(call.decline, 'DECLINE', 'decline'));
        return;
      case CallType.REVIVE:
        this.revive(framework, call.revive?.roles ?? []);
        return;
      case CallType.SUPPRESS:
        this.parts.frameworks.suppress(framework.id, call.suppress?.roles ?? []);
        return;
      case CallType.KILL:
        this.kill(framework, need(call.kill, 'KILL', 'kill'));
        return;
      case CallType.ACKNOWLEDGE:
        this.acknowledge(framework, need(call.acknowledge, 'ACKNOWLEDGE', 'acknowledge'));
        return;
      case CallType.RECONCILE:
        this.reconcile(framework, call.reconcile?.tasks ?? []);
        return;
      case CallType.MESSAGE:
        this.message(framework, need(call.message, 'MESSAGE', 'message'));
        return;
      case CallType.TEARDOWN:
        this.teardown(framework);
        return;
      case CallType.REQUEST:
        return; // Ignored, as by Mesos' built-in allocator.
      case CallType.ACCEPT_INVERSE_OFFERS:
        this.parts.maintenance.respond(
          framework.id,
          (call.accept_inverse_offers?.inverse_offer_ids ?? []).map((o) => o.value),
          true,
          refuseSeconds(call.accept_inverse_offers?.filters),
        );
        return;
      case CallType.DECLINE_INVERSE_OFFERS:
        this.parts.maintenance.respond(
          framework.id,
          (call.decline_inverse_offers?.inverse_offer_ids ?? []).map((o) => o.value),
          false,
          refuseSeconds(call.decline_inverse_offers?.filters),
        );
        return;
      case CallType.SHUTDOWN:
        throw new AgoraError(
          'AGORA_ERR_BAD_REQUEST',
          'SHUTDOWN (custom executors) is not supported by this master yet',
        );
      default:
        throw new AgoraError('AGORA_ERR_BAD_REQUEST', `unknown call type ${String(call.type)}`);
    }
  }

  disconnected(frameworkId: string, channel: SchedulerChannel): void {
    this.parts.frameworks.disconnected(frameworkId, channel);
  }

  private accept(framework: FrameworkRecord, accept: agora.v1.scheduler.Call.Accept): void {
    const { offers, tasks, agents, logger } = this.parts;
    const launches = accept.operations.flatMap((op) =>
      op.type === OperationType.LAUNCH ? (op.launch?.task_infos ?? []) : [],
    );
    const taken = offers.take(
      framework.id,
      accept.offer_ids.map((o) => o.value),
    );
    if (!taken.ok) {
      logger.warn({ frameworkId: framework.id, reason: taken.message }, 'ACCEPT with invalid offers; nothing launched');
      for (const task of launches) {
        this.sendUpdate(
          framework,
          masterStatus(
            task,
            TaskState.TASK_DROPPED,
            TaskStatusReason.REASON_INVALID_OFFERS,
            this.now(),
            `Task not launched: invalid offers: ${taken.message}`,
          ),
        );
      }
      this.parts.allocation.request();
      return;
    }
    let remaining = taken.resources;
    const unsupported: string[] = [];
    const refusedOps: AgoraError[] = [];
    for (const op of accept.operations) {
      if (isReservationOperation(op)) {
        // RESERVE / UNRESERVE (offers/reservation-ops.ts): an invalid one changes nothing and is reported below.
        const agent = agents.get(taken.agentId);
        if (agent === undefined) continue;
        try {
          remaining = applyReservationOperation(
            {
              ledger: this.parts.reservations,
              agent,
              framework: { id: framework.id, roles: framework.roles, principal: framework.info.principal ?? undefined },
              offerRole: taken.role,
              usedOnAgent: () => tasks.usedOnAgent(taken.agentId),
            },
            op,
            remaining,
          );
        } catch (err) {
          refusedOps.push(toAgoraError(err));
        }
        continue;
      }
      if (op.type !== OperationType.LAUNCH) {
        unsupported.push(OperationType[op.type ?? OperationType.UNKNOWN] ?? String(op.type));
        continue;
      }
      const result = checkLaunch({
        agentId: taken.agentId,
        offered: remaining,
        tasks: op.launch?.task_infos ?? [],
        isTaskIdInUse: (id) => tasks.isTaskIdInUse(framework.id, id),
      });
      remaining = result.remaining;
      for (const { task, message } of result.rejected) {
        logger.warn({ frameworkId: framework.id, taskId: task.task_id.value, reason: message }, 'task invalid');
        this.sendUpdate(
          framework,
          masterStatus(task, TaskState.TASK_ERROR, TaskStatusReason.REASON_TASK_INVALID, this.now(), message),
        );
      }
      for (const { task: launched, resources } of result.accepted) {
        const task = withAllocationRole(launched, taken.role);
        const runTask = { run_task: { framework: framework.info, task } };
        if (!agents.send(taken.agentId, runTask)) {
          remaining = remaining.add(resources);
          this.sendUpdate(
            framework,
            masterStatus(
              task,
              TaskState.TASK_DROPPED,
              TaskStatusReason.REASON_AGENT_DISCONNECTED,
              this.now(),
              'Task not launched: its agent is disconnected',
            ),
          );
          continue;
        }
        tasks.launch(framework.id, task, resources, framework.info.user ?? undefined, taken.role);
        logger.info(
          {
            frameworkId: framework.id,
            taskId: task.task_id.value,
            agentId: taken.agentId,
            resources: resources.toString(),
          },
          'launching task',
        );
      }
    }
    if (!remaining.isEmpty()) offers.addFilter(framework.id, taken.agentId, accept.filters?.refuse_seconds, taken.role);
    this.parts.allocation.request();
    // One refused operation keeps its own code (e.g. AGORA_ERR_VOLUME_IN_USE); several are summed up.
    if (refusedOps.length === 1) throw refusedOps[0]!;
    if (refusedOps.length > 1) {
      throw new AgoraError('AGORA_ERR_INVALID_OPERATION', refusedOps.map((e) => `${e.code}: ${e.message}`).join('; '));
    }
    if (unsupported.length > 0) {
      throw new AgoraError(
        'AGORA_ERR_INVALID_OPERATION',
        `offer operations not supported by this master yet were ignored: ${unsupported.join(', ')}`,
      );
    }
  }

  private decline(framework: FrameworkRecord, decline: agora.v1.scheduler.Call.Decline): void {
    const { offers, logger } = this.parts;
    for (const { value } of decline.offer_ids) {
      const offer = offers.get(value);
      if (offer === undefined || offer.frameworkId !== framework.id) {
        logger.info({ frameworkId: framework.id, offerId: value }, 'DECLINE of an unknown or used offer ignored');
        continue;
      }
      offers.remove(value);
      offers.addFilter(framework.id, offer.agentId, decline.filters?.refuse_seconds, offer.role);
    }
    this.parts.allocation.request();
  }

  private revive(framework: FrameworkRecord, roles: readonly string[]): void {
    this.parts.frameworks.revive(framework.id, roles);
    this.parts.offers.clearFilters(framework.id);
    this.parts.allocation.request();
  }

  private kill(framework: FrameworkRecord, kill: agora.v1.scheduler.Call.Kill): void {
    const task = this.parts.tasks.get(framework.id, kill.task_id.value);
    if (task === undefined) {
      // As Mesos: killing an unknown task reconciles it (TASK_LOST / TASK_UNKNOWN, or no answer while agents
      // may still re-register).
      this.reconcile(framework, [{ task_id: kill.task_id, agent_id: kill.agent_id ?? null }]);
      return;
    }
    const killTask = {
      framework_id: { value: framework.id },
      task_id: { value: task.taskId },
      ...(kill.kill_policy ? { kill_policy: kill.kill_policy } : {}),
    };
    if (this.parts.agents.send(task.agentId, { kill_task: killTask })) return;
    this.parts.logger.warn(
      { frameworkId: framework.id, taskId: task.taskId, agentId: task.agentId },
      'agent disconnected; the kill is sent when it re-registers',
    );
    this.parts.pendingKills.add(task.agentId, {
      frameworkId: framework.id,
      taskId: task.taskId,
      killPolicy: kill.kill_policy ?? undefined,
    });
  }

  private acknowledge(framework: FrameworkRecord, ack: agora.v1.scheduler.Call.Acknowledge): void {
    if (ack.uuid.length === 0) throw new AgoraError('AGORA_ERR_BAD_REQUEST', 'ACKNOWLEDGE needs a non-empty uuid');
    const agentId = ack.agent_id.value;
    this.parts.tasks.acknowledge(framework.id, ack.task_id.value, ack.uuid);
    const sent = this.parts.agents.send(agentId, {
      ack: { framework_id: { value: framework.id }, task_id: ack.task_id, uuid: ack.uuid },
    });
    if (!sent) {
      this.parts.logger.info(
        { frameworkId: framework.id, agentId, taskId: ack.task_id.value },
        'acknowledgement for a disconnected or unknown agent dropped; the agent resends the update',
      );
    }
  }

  private reconcile(
    framework: FrameworkRecord,
    requested: ReadonlyArray<{ task_id: agora.v1.TaskID; agent_id?: agora.v1.AgentID | null }>,
  ): void {
    const { agents, tasks, frameworks } = this.parts;
    const statuses = reconcileTasks({
      requested: requested.map((r) => ({ taskId: r.task_id.value, agentId: r.agent_id?.value ?? undefined })),
      tasks: tasks.byFramework(framework.id),
      partitionAware: frameworks.isPartitionAware(framework.id),
      isAgentRegistered: (id) => agents.get(id) !== undefined,
      unreachable: tasks.unreachableByFramework(framework.id),
      agentStatus: (id) => this.parts.agentLifecycle.agentStatus(id),
      inReregistrationWindow: this.parts.inReregistrationWindow(),
      now: this.now(),
    });
    for (const status of statuses) this.sendUpdate(framework, status);
  }

  private message(framework: FrameworkRecord, message: agora.v1.scheduler.Call.Message): void {
    const sent = this.parts.agents.send(message.agent_id.value, {
      framework_message: {
        framework_id: { value: framework.id },
        executor_id: message.executor_id,
        data: message.data,
      },
    });
    if (!sent) {
      throw new AgoraError('AGORA_ERR_UNKNOWN_AGENT', `agent ${message.agent_id.value} is unknown or disconnected`);
    }
  }

  private teardown(framework: FrameworkRecord): void {
    this.parts.frameworkLifecycle.teardown(framework.id, 'TEARDOWN call');
  }

  private sendUpdate(framework: FrameworkRecord, status: TaskStatus): void {
    this.parts.frameworks.send(framework.id, { type: EventType.UPDATE, update: { status } });
  }

  private now(): number {
    return this.parts.clock.now();
  }
}

function need<T>(value: T | null | undefined, call: string, field: string): T {
  if (value === null || value === undefined) {
    throw new AgoraError('AGORA_ERR_BAD_REQUEST', `${call} call needs \`${field}\``);
  }
  return value;
}

/** A status the master makes itself (no uuid: not acknowledged, not retried). */
export function masterStatus(
  task: TaskInfo,
  state: TaskState,
  reason: TaskStatusReason,
  now: number,
  message: string,
): TaskStatus {
  return {
    task_id: { value: task.task_id.value },
    state,
    source: TaskStatusSource.SOURCE_MASTER,
    reason,
    message,
    agent_id: { value: task.agent_id.value },
    timestamp: now / 1000,
  };
}

/**
 * The task with `allocation_info.role` set on its resources (and its executor's) where the framework left it out,
 * as Mesos' master does for the offer's role: the agent keeps and reports it, so the allocation survives a failover.
 */
function withAllocationRole(task: TaskInfo, role: string | undefined): TaskInfo {
  if (role === undefined) return task;
  const stamp = (list: readonly Resource[] | null | undefined): Resource[] =>
    (list ?? []).map((r) => (r.allocation_info?.role ? r : { ...r, allocation_info: { role } }) as Resource);
  const stamped = { ...task, resources: stamp(task.resources) } as TaskInfo;
  if (task.executor)
    stamped.executor = { ...task.executor, resources: stamp(task.executor.resources) } as typeof task.executor;
  return stamped;
}
