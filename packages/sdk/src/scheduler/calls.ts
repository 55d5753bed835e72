/**
 * Builders for the scheduler calls the driver sends. Pure: they validate
 * their input (AGORA_ERR_BAD_REQUEST, naming the argument) and return the
 * `agora.v1.scheduler.Call` to put on the wire.
 */
import { AgoraError } from '@agora/common';
import { agora, type Filters, type FrameworkInfo, type OfferOperation, type SchedulerCall } from '@agora/proto';

const CallType = agora.v1.scheduler.Call.Type;

/** SUBSCRIBE: the framework info, with `id` set when re-subscribing. */
export function subscribeCall(framework: FrameworkInfo, frameworkId: string | undefined): SchedulerCall {
  const info: FrameworkInfo = { ...framework };
  if (frameworkId === undefined) delete info.id;
  else info.id = { value: frameworkId };
  const call: SchedulerCall = { type: CallType.SUBSCRIBE, subscribe: { framework_info: info } };
  if (frameworkId !== undefined) call.framework_id = { value: frameworkId };
  return call;
}

export function teardownCall(frameworkId: string): SchedulerCall {
  return { type: CallType.TEARDOWN, framework_id: { value: frameworkId } };
}

export function acceptCall(
  frameworkId: string,
  offerIds: readonly string[],
  operations: readonly OfferOperation[],
  filters?: Filters,
): SchedulerCall {
  const accept: agora.v1.scheduler.Call.Accept.$Properties = {
    offer_ids: offerIdList(offerIds),
    operations: [...operations],
  };
  if (filters !== undefined) accept.filters = checkFilters(filters);
  return { type: CallType.ACCEPT, framework_id: { value: frameworkId }, accept };
}

export function launchOperation(tasks: readonly agora.v1.TaskInfo.$Properties[]): OfferOperation {
  if (tasks.length === 0) throw bad('tasks', 'launch needs at least one task (use decline to refuse offers)');
  const seen = new Set<string>();
  for (const task of tasks) {
    const id = task.task_id?.value;
    if (typeof id !== 'string' || id === '') throw bad('tasks', 'every task needs a non-empty task_id');
    if (seen.has(id)) throw bad('tasks', `task id '${id}' appears twice`);
    seen.add(id);
  }
  return { type: agora.v1.Offer.Operation.Type.LAUNCH, launch: { task_infos: [...tasks] } };
}

export function declineCall(frameworkId: string, offerIds: readonly string[], filters?: Filters): SchedulerCall {
  const decline: agora.v1.scheduler.Call.Decline.$Properties = { offer_ids: offerIdList(offerIds) };
  if (filters !== undefined) decline.filters = checkFilters(filters);
  return { type: CallType.DECLINE, framework_id: { value: frameworkId }, decline };
}

export function killCall(frameworkId: string, taskId: string, agentId?: string, gracePeriodMs?: number): SchedulerCall {
  const kill: agora.v1.scheduler.Call.Kill.$Properties = { task_id: { value: nonEmpty('taskId', taskId) } };
  if (agentId !== undefined) kill.agent_id = { value: nonEmpty('agentId', agentId) };
  if (gracePeriodMs !== undefined) {
    if (!Number.isFinite(gracePeriodMs) || gracePeriodMs < 0) {
      throw bad('gracePeriodMs', `must be a finite number >= 0, got ${gracePeriodMs}`);
    }
    kill.kill_policy = { grace_period: { nanoseconds: Math.round(gracePeriodMs * 1_000_000) } };
  }
  return { type: CallType.KILL, framework_id: { value: frameworkId }, kill };
}

export function acknowledgeCall(frameworkId: string, agentId: string, taskId: string, uuid: Uint8Array): SchedulerCall {
  if (!(uuid instanceof Uint8Array) || uuid.length === 0) throw bad('uuid', 'must be the non-empty uuid of the update');
  return {
    type: CallType.ACKNOWLEDGE,
    framework_id: { value: frameworkId },
    acknowledge: {
      agent_id: { value: nonEmpty('agentId', agentId) },
      task_id: { value: nonEmpty('taskId', taskId) },
      uuid,
    },
  };
}

export function reconcileCall(
  frameworkId: string,
  tasks: ReadonlyArray<{ taskId: string; agentId?: string }>,
): SchedulerCall {
  const list = tasks.map((t) => {
    const entry: agora.v1.scheduler.Call.Reconcile.Task.$Properties = {
      task_id: { value: nonEmpty('taskId', t.taskId) },
    };
    if (t.agentId !== undefined) entry.agent_id = { value: nonEmpty('agentId', t.agentId) };
    return entry;
  });
  return { type: CallType.RECONCILE, framework_id: { value: frameworkId }, reconcile: { tasks: list } };
}

export function reviveCall(frameworkId: string, roles?: readonly string[]): SchedulerCall {
  return { type: CallType.REVIVE, framework_id: { value: frameworkId }, revive: { roles: roleList(roles) } };
}

export function suppressCall(frameworkId: string, roles?: readonly string[]): SchedulerCall {
  return { type: CallType.SUPPRESS, framework_id: { value: frameworkId }, suppress: { roles: roleList(roles) } };
}

export function messageCall(frameworkId: string, agentId: string, executorId: string, data: Uint8Array): SchedulerCall {
  if (!(data instanceof Uint8Array)) throw bad('data', 'must be a Uint8Array');
  return {
    type: CallType.MESSAGE,
    framework_id: { value: frameworkId },
    message: {
      agent_id: { value: nonEmpty('agentId', agentId) },
      executor_id: { value: nonEmpty('executorId', executorId) },
      data,
    },
  };
}

/** Throws AGORA_ERR_BAD_REQUEST when a FrameworkInfo lacks what SUBSCRIBE requires. */
export function checkFrameworkInfo(framework: FrameworkInfo): void {
  if (typeof framework !== 'object' || framework === null) throw bad('framework', 'must be a FrameworkInfo object');
  if (typeof framework.user !== 'string' || framework.user === '') throw bad('framework.user', 'is required');
  if (typeof framework.name !== 'string' || framework.name === '') throw bad('framework.name', 'is required');
  const id = framework.id?.value;
  if (framework.id != null && (typeof id !== 'string' || id === '')) {
    throw bad('framework.id', 'must have a non-empty value when given');
  }
}

function offerIdList(offerIds: readonly string[]): agora.v1.OfferID.$Properties[] {
  if (!Array.isArray(offerIds) || offerIds.length === 0) throw bad('offerIds', 'at least one offer id is needed');
  const seen = new Set<string>();
  return offerIds.map((id) => {
    nonEmpty('offerIds', id);
    if (seen.has(id)) throw bad('offerIds', `offer id '${id}' appears twice`);
    seen.add(id);
    return { value: id };
  });
}

function roleList(roles: readonly string[] | undefined): string[] {
  return (roles ?? []).map((role) => nonEmpty('roles', role));
}

function checkFilters(filters: Filters): Filters {
  const seconds = filters.refuse_seconds;
  if (seconds != null && (!Number.isFinite(seconds) || seconds < 0)) {
    throw bad('filters.refuse_seconds', `must be a finite number >= 0, got ${seconds}`);
  }
  return filters;
}

function nonEmpty(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '')
    throw bad(name, `must be a non-empty string, got ${JSON.stringify(value)}`);
  return value;
}

function bad(argument: string, why: string): AgoraError {
  return new AgoraError('AGORA_ERR_BAD_REQUEST', `${argument} ${why}`, { data: { argument } });
}
