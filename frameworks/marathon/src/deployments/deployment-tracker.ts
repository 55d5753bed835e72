/**
 * Deployments in progress. Every change through the API creates one
 * (Marathon: "every state-changing call creates a deployment"); it is done
 * when the scheduler sees the app at its goal (or, for a deleted app, with no
 * task left). This slice keeps one-app deployments in memory; the planner,
 * `/v2/deployments` and persistence across restarts come with the
 * deployments issue.
 */
import { Emitter, type Event } from '@agora/common';

/** Marathon's deployment action names. */
export type DeploymentAction = 'StartApplication' | 'ScaleApplication' | 'RestartApplication' | 'StopApplication';

export interface Deployment {
  readonly id: string;
  readonly appId: string;
  readonly action: DeploymentAction;
  /** The app version the deployment brings (for a stop: the time of the delete). */
  readonly version: string;
  /** ISO-8601 */
  readonly createdAt: string;
}

export class DeploymentTracker {
  private readonly byId = new Map<string, Deployment>();
  private readonly onDidFinishEmitter = new Emitter<{ deployment: Deployment; outcome: 'success' | 'superseded' }>();
  /** A deployment finished: reached its goal, or was replaced by a newer one (`force`). */
  readonly onDidFinish: Event<{ deployment: Deployment; outcome: 'success' | 'superseded' }> =
    this.onDidFinishEmitter.event;

  /** Start a deployment; running ones of the same app are superseded (the caller checked the lock). */
  start(deployment: Deployment): void {
    for (const d of this.forApp(deployment.appId)) {
      this.byId.delete(d.id);
      this.onDidFinishEmitter.fire({ deployment: d, outcome: 'superseded' });
    }
    this.byId.set(deployment.id, deployment);
  }

  /** Running deployments of an app. */
  forApp(appId: string): Deployment[] {
    return [...this.byId.values()].filter((d) => d.appId === appId);
  }

  list(): Deployment[] {
    return [...this.byId.values()];
  }

  /** Mark the app's running deployments done. */
  completeApp(appId: string): void {
    for (const d of this.forApp(appId)) {
      this.byId.delete(d.id);
      this.onDidFinishEmitter.fire({ deployment: d, outcome: 'success' });
    }
  }

  dispose(): void {
    this.onDidFinishEmitter.dispose();
  }
}
