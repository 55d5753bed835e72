/**
 * Every Marathon event, one discriminated union on `eventType`, with
 * Marathon's payload fields (`core/event/Events.scala`, writers in
 * `api/v2/json/Formats.scala`). Every event carries `eventType` and
 * `timestamp` (ISO-8601 UTC with millis); the JSON puts the payload fields
 * first and `eventType`, `timestamp` last, as Marathon does. PURE.
 *
 * One addition of ours: `events_dropped_event`, never published on the bus,
 * sent to one subscriber (HTTP callback or SSE reader) to say how many events
 * it missed (queue overflow, replay buffer exceeded, slow reader cut off).
 */
import type { JsonObject } from '../model/app-definition.js';
import type { IpAddress, TaskStateName } from '../model/task.js';

interface Base<T extends string> {
  eventType: T;
  /** ISO-8601 UTC with millis, e.g. `2015-09-30T12:44:45.681Z`. */
  timestamp: string;
}

/** One action of a deployment step (`{"action":"StartApplication","app":"/foo"}`). */
export interface DeploymentActionJson {
  action: string;
  app: string;
}

export interface DeploymentStepJson {
  actions: DeploymentActionJson[];
}

/** Marathon's "light" plan format (the only one from 1.8). */
export interface DeploymentPlanJson {
  id: string;
  steps: DeploymentStepJson[];
  version: string;
}

export interface ApiPostEvent extends Base<'api_post_event'> {
  clientIp: string;
  uri: string;
  appDefinition: JsonObject;
}
export interface PodChangeEvent extends Base<'pod_created_event' | 'pod_updated_event' | 'pod_deleted_event'> {
  clientIp: string;
  uri: string;
}
export interface StatusUpdateEvent extends Base<'status_update_event'> {
  slaveId: string;
  taskId: string;
  taskStatus: TaskStateName;
  message: string;
  appId: string;
  host: string;
  ipAddresses: IpAddress[];
  ports: number[];
  version: string;
}
/** Marathon's instance conditions: `Created`, `Staging`, `Starting`, `Running`, `Killing`, `Finished`, `Failed`, … */
export type InstanceCondition =
  | 'Created'
  | 'Staging'
  | 'Starting'
  | 'Running'
  | 'Killing'
  | 'Finished'
  | 'Failed'
  | 'Killed'
  | 'Error'
  | 'Dropped'
  | 'Gone'
  | 'Unreachable'
  | 'UnreachableInactive'
  | 'Unknown';
export interface InstanceChangedEvent extends Base<'instance_changed_event'> {
  instanceId: string;
  condition: InstanceCondition;
  runSpecId: string;
  agentId: string;
  host: string;
  runSpecVersion: string;
}
export interface InstanceHealthChangedEvent extends Base<'instance_health_changed_event'> {
  instanceId: string;
  runSpecId: string;
  healthy: boolean | null;
  runSpecVersion: string;
}
export interface UnknownInstanceTerminatedEvent extends Base<'unknown_instance_terminated_event'> {
  instanceId: string;
  runSpecId: string;
  condition: InstanceCondition;
}
export interface AppTerminatedEvent extends Base<'app_terminated_event'> {
  appId: string;
}
export interface FrameworkMessageEvent extends Base<'framework_message_event'> {
  slaveId: string;
  executorId: string;
  /** The bytes, base64 (as Marathon's docs show). */
  message: string;
}
export interface AddHealthCheckEvent extends Base<'add_health_check_event'> {
  appId: string;
  version: string;
  healthCheck: JsonObject;
}
export interface RemoveHealthCheckEvent extends Base<'remove_health_check_event'> {
  appId: string;
}
export interface FailedHealthCheckEvent extends Base<'failed_health_check_event'> {
  appId: string;
  /** Marathon puts the instance id here. */
  taskId: string;
  healthCheck: JsonObject;
}
export interface HealthStatusChangedEvent extends Base<'health_status_changed_event'> {
  appId: string;
  instanceId: string;
  version: string;
  alive: boolean;
}
export interface UnhealthyInstanceKillEvent extends Base<'unhealthy_instance_kill_event'> {
  appId: string;
  taskId: string;
  instanceId: string;
  version: string;
  reason: string;
  host: string;
  slaveId?: string;
}
export interface GroupChangeSuccessEvent extends Base<'group_change_success'> {
  groupId: string;
  version: string;
}
export interface GroupChangeFailedEvent extends Base<'group_change_failed'> {
  groupId: string;
  version: string;
  reason: string;
}
export interface DeploymentInfoEvent extends Base<'deployment_info'> {
  plan: DeploymentPlanJson;
  currentStep: DeploymentStepJson;
}
export interface DeploymentStepEvent extends Base<'deployment_step_success' | 'deployment_step_failure'> {
  plan: DeploymentPlanJson;
  currentStep: DeploymentStepJson;
}
export interface DeploymentSuccessEvent extends Base<'deployment_success'> {
  id: string;
  plan: DeploymentPlanJson;
}
export interface DeploymentFailedEvent extends Base<'deployment_failed'> {
  id: string;
  plan: DeploymentPlanJson;
  reason?: string;
}
export interface SubscriptionEvent extends Base<'subscribe_event' | 'unsubscribe_event'> {
  clientIp: string;
  callbackUrl: string;
}
export interface EventStreamEvent extends Base<'event_stream_attached' | 'event_stream_detached'> {
  remoteAddress: string;
}
export interface SchedulerRegisteredEvent extends Base<'scheduler_registered_event'> {
  frameworkId: string;
  master: string;
}
export interface SchedulerReregisteredEvent extends Base<'scheduler_reregistered_event'> {
  master: string;
}
export type SchedulerDisconnectedEvent = Base<'scheduler_disconnected_event'>;

/** Every event the bus carries. */
export type MarathonEvent =
  | ApiPostEvent
  | PodChangeEvent
  | StatusUpdateEvent
  | InstanceChangedEvent
  | InstanceHealthChangedEvent
  | UnknownInstanceTerminatedEvent
  | AppTerminatedEvent
  | FrameworkMessageEvent
  | AddHealthCheckEvent
  | RemoveHealthCheckEvent
  | FailedHealthCheckEvent
  | HealthStatusChangedEvent
  | UnhealthyInstanceKillEvent
  | GroupChangeSuccessEvent
  | GroupChangeFailedEvent
  | DeploymentInfoEvent
  | DeploymentStepEvent
  | DeploymentSuccessEvent
  | DeploymentFailedEvent
  | SubscriptionEvent
  | EventStreamEvent
  | SchedulerRegisteredEvent
  | SchedulerReregisteredEvent
  | SchedulerDisconnectedEvent;

export type MarathonEventType = MarathonEvent['eventType'];

/** Every event type name, for validation and docs. */
export const MARATHON_EVENT_TYPES: readonly MarathonEventType[] = [
  'api_post_event',
  'pod_created_event',
  'pod_updated_event',
  'pod_deleted_event',
  'status_update_event',
  'instance_changed_event',
  'instance_health_changed_event',
  'unknown_instance_terminated_event',
  'app_terminated_event',
  'framework_message_event',
  'add_health_check_event',
  'remove_health_check_event',
  'failed_health_check_event',
  'health_status_changed_event',
  'unhealthy_instance_kill_event',
  'group_change_success',
  'group_change_failed',
  'deployment_info',
  'deployment_step_success',
  'deployment_step_failure',
  'deployment_success',
  'deployment_failed',
  'subscribe_event',
  'unsubscribe_event',
  'event_stream_attached',
  'event_stream_detached',
  'scheduler_registered_event',
  'scheduler_reregistered_event',
  'scheduler_disconnected_event',
];

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What a publisher hands the bus: the event without its timestamp (the bus stamps it) unless it has one. */
export type MarathonEventInput = DistributiveOmit<MarathonEvent, 'timestamp'> & { timestamp?: string };

/** Anything events can be published to (the EventBus; components depend on this only). */
export interface EventPublisher {
  publish(event: MarathonEventInput): void;
}

/**
 * Why a reader missed events: its queue overflowed (no store), the SSE replay buffer does not reach back far
 * enough, an SSE reader was too slow, or (with a store) the events were gone from the bounded durable log before
 * this subscriber got them (`event_log_exceeded`).
 */
export type DropReason = 'subscriber_queue_overflow' | 'replay_buffer_exceeded' | 'slow_reader' | 'event_log_exceeded';

/**
 * Our addition: sent to one subscriber only (not on the bus), before the next event it receives, saying how
 * many events it missed. `count` is null when it cannot be known (the replay buffer of a Marathon that restarted).
 */
export interface EventsDroppedEvent extends Base<'events_dropped_event'> {
  count: number | null;
  reason: DropReason;
}

/** An event as published: its id (monotonically increasing), the event, and its JSON (serialized once). */
export interface PublishedEvent {
  readonly id: number;
  readonly event: MarathonEvent;
  readonly json: string;
}

/** Marathon's instance condition of a Mesos task state. */
export function conditionOf(state: TaskStateName): InstanceCondition {
  switch (state) {
    case 'TASK_STAGING':
      return 'Staging';
    case 'TASK_STARTING':
      return 'Starting';
    case 'TASK_RUNNING':
      return 'Running';
    case 'TASK_KILLING':
      return 'Killing';
    case 'TASK_FINISHED':
      return 'Finished';
    case 'TASK_FAILED':
      return 'Failed';
    case 'TASK_KILLED':
      return 'Killed';
    case 'TASK_ERROR':
      return 'Error';
    case 'TASK_DROPPED':
      return 'Dropped';
    case 'TASK_GONE':
    case 'TASK_GONE_BY_OPERATOR':
      return 'Gone';
    case 'TASK_UNREACHABLE':
    case 'TASK_LOST':
      return 'Unreachable';
    default:
      return 'Unknown';
  }
}

/** The instance id of a Marathon 1.4+ task id (`<safe>.instance-<uuid>._app.1` → `<safe>.instance-<uuid>`). */
export function instanceIdOf(taskId: string): string {
  const at = taskId.lastIndexOf('._app.');
  return at > 0 ? taskId.slice(0, at) : taskId;
}

/** The group an app belongs to (`/prod/web` → `/prod`, `/web` → `/`). */
export function parentGroupOf(appId: string): string {
  const at = appId.lastIndexOf('/');
  return at <= 0 ? '/' : appId.slice(0, at);
}
