/**
 * A Marathon task as Agora records it (Marathon's instance with its one
 * task), and its `/v2/tasks` JSON. Records are stored before the launch is
 * sent, so a crash can never launch a task Marathon does not know. PURE.
 */
import type { JsonObject } from './app-definition.js';

/** Mesos task state names, as Marathon prints them (`TASK_RUNNING`). */
export type TaskStateName =
  | 'TASK_STAGING'
  | 'TASK_STARTING'
  | 'TASK_RUNNING'
  | 'TASK_KILLING'
  | 'TASK_FINISHED'
  | 'TASK_FAILED'
  | 'TASK_KILLED'
  | 'TASK_ERROR'
  | 'TASK_LOST'
  | 'TASK_DROPPED'
  | 'TASK_UNREACHABLE'
  | 'TASK_GONE'
  | 'TASK_GONE_BY_OPERATOR'
  | 'TASK_UNKNOWN';

export interface IpAddress {
  ipAddress: string;
  protocol: 'IPv4' | 'IPv6';
}

export interface TaskRecord {
  /** Marathon's task id, also the Mesos task id. */
  id: string;
  appId: string;
  agentId: string;
  host: string;
  state: TaskStateName;
  /** ISO-8601, when the launch was decided (stored before ACCEPT). */
  stagedAt: string;
  /** ISO-8601, first TASK_RUNNING. */
  startedAt?: string;
  /** The app version the task was launched with. */
  version: string;
  /** Host ports assigned to the task, in portDefinitions order. */
  ports: number[];
  servicePorts: number[];
  ipAddresses: IpAddress[];
  role: string;
  /** The last status message from Mesos, if any. */
  message?: string;
  /** Epoch ms of the last KILL sent for this task (absent: never asked to die). */
  killRequestedAt?: number;
  /** Health check results (memory only, filled in by the task tracker from the health monitor). */
  healthCheckResults?: JsonObject[];
  /** The agent's attributes at launch, name → formatted value (what constraints compare). */
  attributes?: Record<string, string>;
  /** The agent's fault domain at launch. */
  region?: string;
  zone?: string;
  /** Resident apps: the reservation (instance) the task runs on, and its volumes (model/reservation.ts). */
  reservationId?: string;
  localVolumes?: Array<{ containerPath: string; persistenceId: string }>;
  /** TASK_UNREACHABLE: epoch ms since when (the master's `unreachable_time`, else the update's arrival). */
  unreachableSince?: number;
  /** TASK_UNREACHABLE past `inactiveAfterSeconds`: `UnreachableInactive`, no longer counted (scheduling/unreachable-policy.ts). */
  unreachableInactive?: boolean;
}

/** Where a task is, as constraints see it. */
export function placementOfTask(task: TaskRecord): {
  hostname: string;
  attributes: Record<string, string>;
  region?: string;
  zone?: string;
} {
  const p: { hostname: string; attributes: Record<string, string>; region?: string; zone?: string } = {
    hostname: task.host,
    attributes: task.attributes ?? {},
  };
  if (task.region !== undefined) p.region = task.region;
  if (task.zone !== undefined) p.zone = task.zone;
  return p;
}

/** The app's `lastTaskFailure`, as Marathon serves it. */
export interface TaskFailure {
  appId: string;
  host: string;
  message: string;
  state: TaskStateName;
  taskId: string;
  timestamp: string;
  version: string;
  slaveId: string;
}

/** States after which a task never runs again (Mesos' terminal states). */
export const TERMINAL_TASK_STATES: ReadonlySet<TaskStateName> = new Set([
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_ERROR',
  'TASK_DROPPED',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
]);

/**
 * States that make Marathon give the task up and launch a replacement: the
 * terminal ones plus LOST and UNKNOWN (the master does not know the task),
 * and UNREACHABLE unless `unreachableDisabled` (as with `unreachableStrategy`
 * `{0,0}`; the scheduler decides UNREACHABLE by the app's strategy, see
 * scheduling/unreachable-policy.ts, and passes true).
 */
export function isGoneForGood(state: TaskStateName, unreachableDisabled: boolean): boolean {
  if (TERMINAL_TASK_STATES.has(state) || state === 'TASK_LOST' || state === 'TASK_UNKNOWN') return true;
  return state === 'TASK_UNREACHABLE' && !unreachableDisabled;
}

/** Failures that raise the app's launch backoff (`NotifyRateLimiterStepImpl`): not KILLED. */
export function countsAsLaunchFailure(state: TaskStateName): boolean {
  return (
    state === 'TASK_FAILED' ||
    state === 'TASK_ERROR' ||
    state === 'TASK_FINISHED' ||
    state === 'TASK_DROPPED' ||
    state === 'TASK_GONE' ||
    state === 'TASK_LOST'
  );
}

/** The task as `/v2/tasks` and `/v2/apps/{id}` serve it. */
export function taskToJson(task: TaskRecord): JsonObject {
  const json: JsonObject = {
    id: task.id,
    appId: task.appId,
    host: task.host,
    slaveId: task.agentId,
    state: task.state,
    stagedAt: task.stagedAt,
  };
  if (task.startedAt !== undefined) json['startedAt'] = task.startedAt;
  json['version'] = task.version;
  json['ports'] = [...task.ports];
  json['servicePorts'] = [...task.servicePorts];
  json['ipAddresses'] = task.ipAddresses.map((a) => ({ ...a }));
  json['healthCheckResults'] = task.healthCheckResults ?? [];
  json['localVolumes'] = (task.localVolumes ?? []).map((v) => ({ ...v }));
  json['role'] = task.role;
  if (task.region !== undefined) json['region'] = task.region;
  if (task.zone !== undefined) json['zone'] = task.zone;
  return json;
}
