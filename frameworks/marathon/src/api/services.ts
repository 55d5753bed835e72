/** What the HTTP handlers use: the app manager, the task tracker, deployments and the /v2/info view. */
import type { Logger } from '@agora/common';
import type { AppManager } from '../apps/app-manager.js';
import type { DeploymentTracker } from '../deployments/deployment-tracker.js';
import type { AppDefinition, JsonObject } from '../model/app-definition.js';
import { appToJson } from '../model/app-json.js';
import { taskToJson } from '../model/task.js';
import type { TaskTracker } from '../scheduler/task-tracker.js';
import type { LaunchQueue } from '../scheduling/launch-queue.js';
import type { GroupManager } from '../apps/group-manager.js';
import type { LogLevels } from '../logging/log-levels.js';
import type { ApiMetrics } from './api-metrics.js';
import type { HttpCallbacks } from '../events/http-callbacks.js';
import type { EventStreams } from '../events/sse.js';

export interface ApiServices {
  apps: AppManager;
  tasks: TaskTracker;
  deployments: DeploymentTracker;
  /** HTTP callbacks and SSE streams (`/v2/eventSubscriptions`, `/v2/events`); absent: those routes are not served. */
  events?: { callbacks: HttpCallbacks; streams: EventStreams };
  /** The body of GET /v2/info. */
  info(): JsonObject;
  logger: Logger;
  /** Kill tasks now (the scheduler); absent: task kills answer 503. */
  killTasks?: (taskIds: readonly string[]) => Promise<void>;
  /** Kill tasks and give up their instances' reservations and volumes (`wipe=true`, resident apps). */
  wipeTasks?: (taskIds: readonly string[]) => Promise<void>;
  /** The launch queue and the current time (for `/v2/queue`); absent: the queue is empty. */
  launchQueue?: LaunchQueue;
  now?: () => number;
  /** Give up leadership (HA); absent: a single instance, which keeps leading. */
  abdicate?: () => Promise<void>;
  /** Store a backup/restore request for the next leader (`DELETE /v2/leader?backup=&restore=`; storage/backup.ts). */
  requestBackupRestore?: (config: { backup?: string; restore?: string }) => Promise<void>;
  /** The current leader `host:port`, when another instance leads (HA); absent: this one. */
  leader?: () => string | undefined;
  /** Request counters for `/metrics` (filled by the API itself). */
  metrics?: ApiMetrics;
  /** Groups (`/v2/groups`); absent: those routes are not served. */
  groups?: GroupManager;
  /** Runtime log levels (`/logging`); absent: not served. */
  logLevels?: LogLevels;
}

export interface AppInfoEmbed {
  tasks: boolean;
  lastTaskFailure: boolean;
}

/** Marathon's AppInfo: the app plus counters and running deployments (and tasks, last failure when embedded). */
export function appInfo(services: ApiServices, app: AppDefinition, embed: AppInfoEmbed): JsonObject {
  const json = appToJson(app);
  const counts = services.tasks.counts(app.id);
  json['tasksStaged'] = counts.tasksStaged;
  json['tasksRunning'] = counts.tasksRunning;
  json['tasksHealthy'] = counts.tasksHealthy;
  json['tasksUnhealthy'] = counts.tasksUnhealthy;
  json['deployments'] = services.deployments.forApp(app.id).map((d) => ({ id: d.id }));
  if (embed.tasks) json['tasks'] = services.tasks.byApp(app.id).map(taskToJson);
  if (embed.lastTaskFailure) {
    const failure = services.tasks.lastFailure(app.id);
    if (failure !== undefined) json['lastTaskFailure'] = { ...failure };
  }
  return json;
}
