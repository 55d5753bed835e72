/** What the HTTP handlers use: the app manager, the task tracker, deployments and the /v2/info view. */
import type { Logger } from '@agora/common';
import type { AppManager } from '../apps/app-manager.js';
import type { DeploymentTracker } from '../deployments/deployment-tracker.js';
import type { AppDefinition, JsonObject } from '../model/app-definition.js';
import { appToJson } from '../model/app-json.js';
import { taskToJson } from '../model/task.js';
import type { TaskTracker } from '../scheduler/task-tracker.js';

export interface ApiServices {
  apps: AppManager;
  tasks: TaskTracker;
  deployments: DeploymentTracker;
  /** The body of GET /v2/info. */
  info(): JsonObject;
  logger: Logger;
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
