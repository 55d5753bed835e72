/**
 * Building Marathon's events from Agora's records, so the components that
 * change state publish with one line each (`publishX(bus, …)`), and the
 * deployment events wired from the deployment tracker's own emitters.
 *
 * Order for one API change: `api_post_event` (POST/PUT of one app),
 * `deployment_info` (step 1 starts), `group_change_success`; then per step
 * `deployment_step_success` and the next `deployment_info`; at the end
 * `app_terminated_event` (a stopped app), and `deployment_success` (or
 * `deployment_failed` when superseded or canceled).
 */
import type { Disposable, Event } from '@agora/common';
import type { AppSpec } from '../model/app-definition.js';
import { appToJson } from '../model/app-json.js';
import type { TaskRecord, TaskStateName } from '../model/task.js';
import {
  conditionOf,
  type DeploymentPlanJson,
  type DeploymentStepJson,
  type EventPublisher,
  instanceIdOf,
  parentGroupOf,
} from './types.js';

/** The structural view of a deployment the events need (DeploymentTracker's record satisfies it). */
export interface DeploymentView {
  readonly id: string;
  readonly version: string;
  readonly steps: ReadonlyArray<{ readonly actions: ReadonlyArray<{ readonly action: string; readonly app: string }> }>;
  readonly currentStep: number;
}

export interface DeploymentEventSource<D extends DeploymentView> {
  readonly onDidFinish: Event<{ deployment: D; outcome: string }>;
  readonly onDidAdvance?: Event<D>;
}

/** Who made an API change (for `api_post_event`). */
export interface RequestOrigin {
  clientIp: string;
  uri: string;
}

function stepJson(step: DeploymentView['steps'][number] | undefined): DeploymentStepJson {
  return { actions: (step?.actions ?? []).map((a) => ({ action: a.action, app: a.app })) };
}

function failureReason(outcome: string): string {
  if (outcome === 'superseded') return 'superseded by a newer deployment (force=true)';
  if (outcome === 'canceled') return 'canceled';
  return outcome;
}

export function planJson(d: DeploymentView): DeploymentPlanJson {
  return { id: d.id, steps: d.steps.map(stepJson), version: d.version };
}

/** `api_post_event` for a POST/PUT/PATCH of one app. */
export function publishApiPost(bus: EventPublisher | undefined, origin: RequestOrigin | undefined, app: AppSpec): void {
  if (bus === undefined || origin === undefined) return;
  bus.publish({ ...origin, appDefinition: appToJson(app), eventType: 'api_post_event' });
}

/** A deployment was accepted and its first step starts. */
export function publishDeploymentStarted(bus: EventPublisher | undefined, d: DeploymentView): void {
  if (bus === undefined) return;
  bus.publish({ plan: planJson(d), currentStep: stepJson(d.steps[d.currentStep]), eventType: 'deployment_info' });
  const groups = new Set(d.steps.flatMap((s) => s.actions.map((a) => parentGroupOf(a.app))));
  for (const groupId of groups) bus.publish({ groupId, version: d.version, eventType: 'group_change_success' });
}

/** `status_update_event` and `instance_changed_event` for a stored task update. */
export function publishTaskUpdate(
  bus: EventPublisher | undefined,
  task: TaskRecord,
  state: TaskStateName,
  message: string | undefined,
): void {
  if (bus === undefined) return;
  bus.publish({
    slaveId: task.agentId,
    taskId: task.id,
    taskStatus: state,
    message: message ?? '',
    appId: task.appId,
    host: task.host,
    ipAddresses: task.ipAddresses.map((a) => ({ ...a })),
    ports: [...task.ports],
    version: task.version,
    eventType: 'status_update_event',
  });
  bus.publish({
    instanceId: instanceIdOf(task.id),
    condition: conditionOf(state),
    runSpecId: task.appId,
    agentId: task.agentId,
    host: task.host,
    runSpecVersion: task.version,
    eventType: 'instance_changed_event',
  });
}

/** A terminal update for a task Marathon does not know. */
export function publishUnknownTerminated(
  bus: EventPublisher | undefined,
  taskId: string,
  appId: string | undefined,
  state: TaskStateName,
): void {
  bus?.publish({
    instanceId: instanceIdOf(taskId),
    runSpecId: appId ?? '',
    condition: conditionOf(state),
    eventType: 'unknown_instance_terminated_event',
  });
}

/** `scheduler_registered_event` on the first subscription, `scheduler_reregistered_event` after. */
export function publishRegistered(
  bus: EventPublisher | undefined,
  frameworkId: string,
  master: string,
  resubscribed: boolean,
): void {
  if (resubscribed) bus?.publish({ master, eventType: 'scheduler_reregistered_event' });
  else bus?.publish({ frameworkId, master, eventType: 'scheduler_registered_event' });
}

/** Publish the step, success and failure events of the tracker's deployments. */
export function wireDeploymentEvents<D extends DeploymentView>(
  source: DeploymentEventSource<D>,
  bus: EventPublisher,
): Disposable {
  const subscriptions: Disposable[] = [];
  const stepSucceeded = (d: D, index: number): void => {
    bus.publish({ plan: planJson(d), currentStep: stepJson(d.steps[index]), eventType: 'deployment_step_success' });
  };
  if (source.onDidAdvance !== undefined) {
    subscriptions.push(
      source.onDidAdvance((d) => {
        stepSucceeded(d, d.currentStep - 1);
        bus.publish({ plan: planJson(d), currentStep: stepJson(d.steps[d.currentStep]), eventType: 'deployment_info' });
      }),
    );
  }
  subscriptions.push(
    source.onDidFinish(({ deployment: d, outcome }) => {
      if (outcome === 'success') {
        stepSucceeded(d, d.steps.length - 1);
        for (const s of d.steps) {
          for (const a of s.actions) {
            if (a.action === 'StopApplication') bus.publish({ appId: a.app, eventType: 'app_terminated_event' });
          }
        }
        bus.publish({ id: d.id, plan: planJson(d), eventType: 'deployment_success' });
      } else {
        bus.publish({
          plan: planJson(d),
          currentStep: stepJson(d.steps[d.currentStep]),
          eventType: 'deployment_step_failure',
        });
        bus.publish({ id: d.id, plan: planJson(d), reason: failureReason(outcome), eventType: 'deployment_failed' });
      }
    }),
  );
  return {
    dispose: () => {
      for (const s of subscriptions) s.dispose();
    },
  };
}
