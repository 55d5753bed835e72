/**
 * @module @agora/proto
 *
 * The generated protobuf messages of Agora (from `proto/`) and the frame codec
 * used on every WebSocket: one binary protobuf message per frame.
 *
 * ```ts
 * import { agora, encodeFrame, decodeFrame } from '@agora/proto';
 * const bytes = encodeFrame(agora.v1.scheduler.Call, { type: agora.v1.scheduler.Call.Type.SUBSCRIBE });
 * const call = decodeFrame(agora.v1.scheduler.Call, bytes);
 * ```
 */
import { agora } from './gen/agora.js';

export { agora };
export { encodeFrame, decodeFrame, FrameDecodeError, type MessageType } from './frame.js';

/** Short names for the message namespaces. */
export const v1 = agora.v1;
export const scheduler = agora.v1.scheduler;
export const agentProto = agora.v1.agent;

export const TaskState = agora.v1.TaskState;
export type TaskState = agora.v1.TaskState;
export const TaskStatusReason = agora.v1.TaskStatus.Reason;
export type TaskStatusReason = agora.v1.TaskStatus.Reason;
export const TaskStatusSource = agora.v1.TaskStatus.Source;
export type TaskStatusSource = agora.v1.TaskStatus.Source;
export const ValueType = agora.v1.Value.Type;
export type ValueType = agora.v1.Value.Type;

export type Resource = agora.v1.Resource.$Properties;
export type Attribute = agora.v1.Attribute.$Properties;
export type TaskInfo = agora.v1.TaskInfo.$Properties;
export type TaskStatus = agora.v1.TaskStatus.$Properties;
export type Task = agora.v1.Task.$Properties;
export type Offer = agora.v1.Offer.$Properties;
export type OfferOperation = agora.v1.Offer.Operation.$Properties;
export type FrameworkInfo = agora.v1.FrameworkInfo.$Properties;
export type AgentInfo = agora.v1.AgentInfo.$Properties;
export type MasterInfo = agora.v1.MasterInfo.$Properties;
export type CommandInfo = agora.v1.CommandInfo.$Properties;
export type Filters = agora.v1.Filters.$Properties;
export type SchedulerCall = agora.v1.scheduler.Call.$Properties;
export type SchedulerEvent = agora.v1.scheduler.Event.$Properties;
export type AgentToMaster = agora.v1.agent.AgentToMaster.$Properties;
export type MasterToAgent = agora.v1.agent.MasterToAgent.$Properties;

const TERMINAL: ReadonlySet<TaskState> = new Set([
  TaskState.TASK_FINISHED,
  TaskState.TASK_FAILED,
  TaskState.TASK_KILLED,
  TaskState.TASK_ERROR,
  TaskState.TASK_DROPPED,
  TaskState.TASK_GONE,
  TaskState.TASK_GONE_BY_OPERATOR,
]);

/** Whether a task state is terminal (Mesos' `protobuf::isTerminalState`; TASK_LOST is not). */
export function isTerminalState(state: TaskState): boolean {
  return TERMINAL.has(state);
}

/** The Mesos name of a task state, e.g. `TASK_RUNNING`. */
export function taskStateName(state: TaskState): string {
  return TaskState[state] ?? `TASK_STATE_${state}`;
}

/** The Mesos name of a reason, e.g. `REASON_RECONCILIATION`. */
export function reasonName(reason: TaskStatusReason): string {
  return TaskStatusReason[reason] ?? `REASON_${reason}`;
}

/**
 * Proto2 defaults. The generated code leaves unset optional fields `null`
 * (so presence is visible); readers apply Mesos' defaults with these.
 */
export const PROTO_DEFAULTS = {
  /** Filters.refuse_seconds */
  refuseSeconds: 5,
  /** CommandInfo.shell */
  shell: true,
  /** CommandInfo.URI.extract */
  extract: true,
  /** Resource.role and FrameworkInfo.role */
  role: '*',
  /** FrameworkInfo.failover_timeout (seconds) */
  failoverTimeout: 0,
} as const;

/** Filters.refuse_seconds with Mesos' rules: unset or negative → 5 s; capped at 365 days. */
export function refuseSeconds(filters: { refuse_seconds?: number | null } | null | undefined): number {
  const value = filters?.refuse_seconds;
  if (value === null || value === undefined || value < 0 || Number.isNaN(value)) return PROTO_DEFAULTS.refuseSeconds;
  return Math.min(value, 31_536_000);
}

/** Whether a CommandInfo runs under /bin/sh -c (the default) or as argv. */
export function isShellCommand(command: { shell?: boolean | null }): boolean {
  return command.shell ?? PROTO_DEFAULTS.shell;
}
