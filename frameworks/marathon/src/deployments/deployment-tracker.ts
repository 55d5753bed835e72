/**
 * Deployments in progress, and their executor's bookkeeping. Every change
 * through the API creates one (Marathon: "every state-changing call creates a
 * deployment"). A deployment is a list of steps (see `deployment-plan.ts`);
 * the scheduler drives the apps of the current step toward their goal and
 * asks `advance()` at every review whether each action of the current step is
 * done; the deployment then moves to the next step, and finishes after the
 * last. Apps named only in later steps are *held* (the scheduler neither
 * launches nor kills for them), which gives the dependency order.
 *
 * Running deployments are written to the store (when a repository is given)
 * with their current step, and `load()` brings them back after a restart or
 * a failover so they resume where they were.
 */
import { Emitter, type Event, type Logger, silentLogger, toAgoraError } from '@agora/common';
import type { AppDefinition, JsonObject } from '../model/app-definition.js';
import { SerialQueue } from '../util/serial-queue.js';
import {
  affectedApps,
  type DeploymentAction,
  type DeploymentActionRef,
  type DeploymentStep,
  stepsForAction,
} from './deployment-plan.js';

export type { DeploymentAction, DeploymentActionRef, DeploymentStep } from './deployment-plan.js';

/** What the app manager hands over when a change starts a deployment. */
export interface Deployment {
  readonly id: string;
  readonly appId: string;
  readonly action: DeploymentAction;
  /** The app version the deployment brings (for a stop: the time of the delete). */
  readonly version: string;
  /** ISO-8601 */
  readonly createdAt: string;
  /** The app before the change (absent when the change created it); used for rollback. */
  readonly original?: AppDefinition | undefined;
  /** Steps, when the caller planned them; else derived from `action`. */
  readonly steps?: readonly DeploymentStep[];
  /** Every affected app's definition before the change (null: it did not exist); else `{[appId]: original}`. */
  readonly originals?: Readonly<Record<string, AppDefinition | null>>;
}

/** A running deployment as stored. */
export interface DeploymentRecord {
  id: string;
  version: string;
  createdAt: string;
  affectedApps: string[];
  steps: DeploymentStep[];
  /** 0-based index of the step in progress. */
  currentStep: number;
  /** app id → its definition before the deployment (null: it did not exist). */
  originals: Record<string, AppDefinition | null>;
  /** The app id and action of a one-app deployment (the legacy view). */
  appId: string;
  action: DeploymentAction;
}

/** Where running deployments are kept (the store's deployment repository). */
export interface DeploymentRepositoryLike {
  list(): Promise<DeploymentRecord[]>;
  put(record: DeploymentRecord): Promise<void>;
  delete(id: string): Promise<void>;
}

export type DeploymentOutcome = 'success' | 'superseded' | 'canceled';

export interface ReadinessResultView {
  name: string;
  taskId: string;
  ready: boolean;
  lastResponse?: { status: number; contentType: string; body: string };
}

export class DeploymentTracker {
  private readonly byId = new Map<string, DeploymentRecord>();
  /** Readiness results of an app's tasks (set by the readiness monitor's owner). */
  readinessOf: (appId: string) => ReadinessResultView[] = () => [];
  private readonly writes = new SerialQueue();
  private readonly onDidFinishEmitter = new Emitter<{ deployment: DeploymentRecord; outcome: DeploymentOutcome }>();
  private readonly onDidAdvanceEmitter = new Emitter<DeploymentRecord>();
  /** A deployment finished: reached its goal, was replaced by a newer one (`force`), or was canceled. */
  readonly onDidFinish: Event<{ deployment: DeploymentRecord; outcome: DeploymentOutcome }> =
    this.onDidFinishEmitter.event;
  /** A deployment moved to its next step. */
  readonly onDidAdvance: Event<DeploymentRecord> = this.onDidAdvanceEmitter.event;

  constructor(
    private readonly repository?: DeploymentRepositoryLike,
    private readonly logger: Logger = silentLogger(),
  ) {}

  /** Read the running deployments from the store (at start or on election). */
  async load(): Promise<number> {
    if (this.repository === undefined) return 0;
    const stored = await this.repository.list();
    this.byId.clear();
    for (const d of stored) this.byId.set(d.id, d);
    return stored.length;
  }

  /** Start a deployment; running ones touching the same apps are superseded (the caller checked the lock). */
  start(deployment: Deployment): DeploymentRecord {
    const record = recordOf(deployment);
    for (const d of this.supersededBy(record)) this.finish(d, 'superseded');
    this.byId.set(record.id, record);
    this.persist(record);
    return record;
  }

  /**
   * Start a deployment whose record is written by `write` together with the
   * change it belongs to (one atomic store write, in order with this
   * tracker's own writes). `write` gets the record and the ids of the
   * running deployments it supersedes (to delete in the same write). When
   * `write` fails, nothing changes here.
   */
  async startWith(
    deployment: Deployment,
    write: (record: DeploymentRecord, superseded: readonly string[]) => Promise<void>,
  ): Promise<DeploymentRecord> {
    const record = recordOf(deployment);
    await this.writes.run(() =>
      write(
        structuredClone(record),
        this.supersededBy(record).map((d) => d.id),
      ),
    );
    for (const d of this.supersededBy(record)) this.finish(d, 'superseded');
    this.byId.set(record.id, record);
    return record;
  }

  private supersededBy(record: DeploymentRecord): DeploymentRecord[] {
    return [...new Set(record.affectedApps.flatMap((a) => this.forApp(a)))];
  }

  get(id: string): DeploymentRecord | undefined {
    return this.byId.get(id);
  }

  /** Running deployments that touch an app. */
  forApp(appId: string): DeploymentRecord[] {
    return [...this.byId.values()].filter((d) => d.affectedApps.includes(appId));
  }

  list(): DeploymentRecord[] {
    return [...this.byId.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  /** App ids of every running deployment. */
  appIds(): string[] {
    return [...new Set([...this.byId.values()].flatMap((d) => d.affectedApps))];
  }

  /**
   * The app waits for an earlier step of a running deployment: its scale or
   * restart comes in a later step (StartApplication only creates it at 0
   * instances). The scheduler leaves a held app alone.
   */
  isHeld(appId: string): boolean {
    for (const d of this.byId.values()) {
      const now = d.steps[d.currentStep]?.actions ?? [];
      if (now.some((a) => a.app === appId && a.action !== 'StartApplication')) continue;
      if (d.steps.slice(d.currentStep + 1).some((s) => s.actions.some((a) => a.app === appId))) return true;
    }
    return false;
  }

  /** Actions of the current step of every running deployment. */
  currentActions(): Array<{ deployment: DeploymentRecord; action: DeploymentActionRef }> {
    return [...this.byId.values()].flatMap((d) =>
      (d.steps[d.currentStep]?.actions ?? []).map((action) => ({ deployment: d, action })),
    );
  }

  /** Move every deployment whose current step is done to its next step (or finish it). */
  advance(isDone: (action: DeploymentActionRef) => boolean): void {
    for (const d of [...this.byId.values()]) {
      let moved = false;
      while (d.currentStep < d.steps.length && d.steps[d.currentStep]!.actions.every(isDone)) {
        d.currentStep++;
        moved = true;
      }
      if (d.currentStep >= d.steps.length) this.finish(d, 'success');
      else if (moved) {
        this.persist(d);
        this.onDidAdvanceEmitter.fire(d);
      }
    }
  }

  /** Mark the app's running deployments done (one-app deployments; legacy). */
  completeApp(appId: string): void {
    for (const d of this.forApp(appId)) this.finish(d, 'success');
  }

  /** `DELETE /v2/deployments/{id}?force=true`: drop it (the apps keep their current definitions). */
  cancel(id: string): DeploymentRecord | undefined {
    const d = this.byId.get(id);
    if (d !== undefined) this.finish(d, 'canceled');
    return d;
  }

  /** Wait until every store write queued so far is done. */
  flush(): Promise<void> {
    return this.writes.drain();
  }

  dispose(): void {
    this.onDidFinishEmitter.dispose();
    this.onDidAdvanceEmitter.dispose();
  }

  private finish(d: DeploymentRecord, outcome: DeploymentOutcome): void {
    if (!this.byId.delete(d.id)) return;
    this.unpersist(d.id);
    this.onDidFinishEmitter.fire({ deployment: d, outcome });
  }

  private persist(d: DeploymentRecord): void {
    const repo = this.repository;
    if (repo === undefined) return;
    const snapshot: DeploymentRecord = structuredClone(d);
    void this.writes
      .run(async () => {
        if (this.byId.has(snapshot.id)) await repo.put(snapshot);
      })
      .catch((err: unknown) =>
        this.logger.error({ err: toAgoraError(err).toJSON(), deploymentId: d.id }, 'cannot store a deployment'),
      );
  }

  private unpersist(id: string): void {
    const repo = this.repository;
    if (repo === undefined) return;
    void this.writes
      .run(() => repo.delete(id))
      .catch((err: unknown) =>
        this.logger.error({ err: toAgoraError(err).toJSON(), deploymentId: id }, 'cannot delete a deployment'),
      );
  }
}

function recordOf(deployment: Deployment): DeploymentRecord {
  const steps = [...(deployment.steps ?? stepsForAction(deployment.action, deployment.appId))];
  return {
    id: deployment.id,
    version: deployment.version,
    createdAt: deployment.createdAt,
    affectedApps: affectedApps(steps),
    steps,
    currentStep: 0,
    originals: { ...(deployment.originals ?? { [deployment.appId]: deployment.original ?? null }) },
    appId: deployment.appId,
    action: deployment.action,
  };
}

/** Marathon's DeploymentInfo JSON (`GET /v2/deployments`); currentStep is 1-based. */
export function deploymentToJson(
  d: DeploymentRecord,
  readiness: (appId: string) => ReadinessResultView[] = () => [],
): JsonObject {
  const current = d.steps[d.currentStep]?.actions ?? [];
  return {
    id: d.id,
    version: d.version,
    affectedApps: [...d.affectedApps],
    affectedPods: [],
    steps: d.steps.map((s) => ({ actions: s.actions.map((a) => ({ action: a.action, app: a.app })) })),
    currentActions: current.map((a) => ({
      action: a.action,
      app: a.app,
      readinessCheckResults: readiness(a.app).map((r) => ({ ...r }) as unknown as JsonObject),
    })),
    currentStep: Math.min(d.currentStep + 1, d.steps.length),
    totalSteps: d.steps.length,
  };
}
