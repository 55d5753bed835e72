/**
 * Runs readiness checks during deployments: every running task of the
 * current configuration that a running deployment started (staged after
 * it began) for an app it is scaling or restarting is probed (HTTP(S) GET on the port named `portName`) every
 * `intervalSeconds` until it answers one of `httpStatusCodesForReady`. A new
 * task counts toward a deployment only once ready; outside deployments
 * readiness does not gate anything (Marathon's rule).
 */
import { type Clock, type Disposable, type Logger, toAgoraError } from '@agora/common';
import { httpGet } from '../health/probes.js';
import { taskAddress } from '../health/health-monitor.js';
import type { AppDefinition } from '../model/app-definition.js';
import type { TaskRecord } from '../model/task.js';
import {
  isReadyStatus,
  type ReadinessCheckSpec,
  type ReadinessResult,
  readinessCheckSpecs,
  readinessPort,
} from './readiness-policy.js';

export interface ReadinessMonitorParts {
  app(appId: string): AppDefinition | undefined;
  tasks(): readonly TaskRecord[];
  /** Apps a running deployment is scaling, starting or restarting now → when that deployment started (ISO-8601). */
  deployingApps(): ReadonlyMap<string, string>;
  clock: Clock;
  logger: Logger;
}

interface Loop {
  key: string;
  taskId: string;
  spec: ReadinessCheckSpec;
  timer: Disposable | undefined;
}

export class ReadinessMonitor {
  private readonly loops = new Map<string, Loop>();
  private readonly results = new Map<string, ReadinessResult>();
  private closed = false;

  constructor(private readonly parts: ReadinessMonitorParts) {}

  /** Start probing tasks that need it, stop the others (call after every change). */
  sync(): void {
    if (this.closed) return;
    const deploying = this.parts.deployingApps();
    const wanted = new Set<string>();
    const live = new Set<string>();
    for (const task of this.parts.tasks()) {
      live.add(task.id);
      const app = this.parts.app(task.appId);
      const since = app === undefined ? undefined : deploying.get(app.id);
      if (app === undefined || since === undefined || task.stagedAt < since) continue; // only tasks of the deployment
      if (task.state !== 'TASK_RUNNING' || task.version < app.versionInfo.lastConfigChangeAt) continue;
      for (const spec of readinessCheckSpecs(app)) {
        const key = `${task.id}#${spec.name}`;
        if (this.results.get(key)?.ready === true) continue;
        wanted.add(key);
        if (this.loops.has(key)) continue;
        const loop: Loop = { key, taskId: task.id, spec, timer: undefined };
        this.loops.set(key, loop);
        this.schedule(loop, 0);
      }
    }
    for (const [key, loop] of this.loops) {
      if (!wanted.has(key)) {
        loop.timer?.dispose();
        this.loops.delete(key);
      }
    }
    for (const [key, r] of this.results) if (!live.has(r.taskId)) this.results.delete(key);
  }

  /** Ready for deployments: no readiness checks, not deploying, or every check answered ready. */
  isReady(task: TaskRecord): boolean {
    const app = this.parts.app(task.appId);
    if (app === undefined || app.readinessChecks.length === 0) return true;
    const since = this.parts.deployingApps().get(app.id);
    if (since === undefined) return true;
    // Readiness gates only the tasks the deployment starts: older ones (old configuration, or kept by a scale) count.
    if (task.version < app.versionInfo.lastConfigChangeAt || task.stagedAt < since) return true;
    return readinessCheckSpecs(app).every((s) => this.results.get(`${task.id}#${s.name}`)?.ready === true);
  }

  /** `readinessCheckResults` of an app's tasks. */
  resultsFor(appId: string): ReadinessResult[] {
    const ids = new Set(
      this.parts
        .tasks()
        .filter((t) => t.appId === appId)
        .map((t) => t.id),
    );
    return [...this.results.values()].filter((r) => ids.has(r.taskId)).map((r) => ({ ...r }));
  }

  close(): void {
    this.closed = true;
    for (const loop of this.loops.values()) loop.timer?.dispose();
    this.loops.clear();
  }

  private schedule(loop: Loop, delayMs: number): void {
    loop.timer = this.parts.clock.setTimeout(() => {
      loop.timer = undefined;
      void this.probe(loop);
    }, delayMs);
  }

  private async probe(loop: Loop): Promise<void> {
    if (this.closed || this.loops.get(loop.key) !== loop) return;
    let ready = false;
    try {
      const task = this.parts.tasks().find((t) => t.id === loop.taskId);
      const app = task === undefined ? undefined : this.parts.app(task.appId);
      if (task === undefined || app === undefined) return;
      const port = readinessPort(loop.spec, app.portDefinitions, task.ports);
      const result: ReadinessResult = { name: loop.spec.name, taskId: task.id, ready: false };
      if (port !== undefined) {
        const scheme = loop.spec.protocol === 'HTTPS' ? 'https' : 'http';
        const path = loop.spec.path.startsWith('/') ? loop.spec.path : `/${loop.spec.path}`;
        try {
          const answer = await httpGet(
            `${scheme}://${taskAddress(task)}:${port}${path}`,
            loop.spec.timeoutSeconds * 1000,
          );
          result.ready = isReadyStatus(loop.spec, answer.status);
          if (loop.spec.preserveLastResponse) result.lastResponse = answer;
        } catch {
          result.ready = false;
        }
      }
      ready = result.ready;
      if (!this.closed) this.results.set(loop.key, result);
    } catch (err) {
      this.parts.logger.warn({ err: toAgoraError(err).toJSON(), taskId: loop.taskId }, 'readiness probe error');
    } finally {
      if (ready) this.loops.delete(loop.key);
      else if (!this.closed && this.loops.get(loop.key) === loop) this.schedule(loop, loop.spec.intervalSeconds * 1000);
    }
  }
}
