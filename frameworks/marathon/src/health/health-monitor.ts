/**
 * Runs the Marathon-side health checks (HTTP, HTTPS, TCP) of every running
 * task, keeps each task's results (`healthCheckResults`), remembers what the
 * agent reports for Mesos-side checks (`TaskStatus.healthy`), and asks for a
 * kill when a check fails `maxConsecutiveFailures` times in a row (the
 * scheduler then replaces the task). Decisions are in `health-policy.ts`.
 *
 * Old tasks of a rolling restart are checked with the checks of the version
 * they run (Marathon keeps one health actor per app version in use).
 * Health state is in memory: after a restart or failover it is re-learned.
 */
import { type Clock, type Disposable, type Logger, toAgoraError } from '@agora/common';
import type { AppDefinition, JsonObject } from '../model/app-definition.js';
import type { TaskRecord } from '../model/task.js';
import {
  applyProbeResult,
  checkPort,
  firstProbeDelayMs,
  type HealthCheckSpec,
  type HealthState,
  healthCheckSpecs,
  healthResultJson,
  httpStatusResult,
  initialHealth,
  isMarathonSide,
  overallHealth,
  type ProbeResult,
} from './health-policy.js';
import { httpGet, tcpConnect } from './probes.js';

export interface HealthMonitorParts {
  app(appId: string): AppDefinition | undefined;
  /** The app as it was at a version (old tasks of a restart). */
  appVersion(appId: string, version: string): Promise<AppDefinition | undefined>;
  tasks(): readonly TaskRecord[];
  /** Kill (and so replace) a task whose check failed too often. */
  kill(taskId: string, reason: string): void;
  clock: Clock;
  logger: Logger;
}

interface Loop {
  taskId: string;
  index: number;
  spec: HealthCheckSpec;
  timer: Disposable | undefined;
  probing: boolean;
}

/** Where to reach a task: its first IP address, else its host name. */
export function taskAddress(task: Pick<TaskRecord, 'host' | 'ipAddresses'>): string {
  return task.ipAddresses[0]?.ipAddress ?? task.host;
}

export async function runProbe(spec: HealthCheckSpec, host: string, port: number): Promise<ProbeResult> {
  const timeoutMs = spec.timeoutSeconds * 1000;
  try {
    if (spec.protocol === 'TCP') {
      await tcpConnect(host, port, timeoutMs);
      return { healthy: true };
    }
    const scheme = spec.protocol === 'HTTPS' ? 'https' : 'http';
    const path = spec.path.startsWith('/') ? spec.path : `/${spec.path}`;
    const hostPart = host.includes(':') ? `[${host}]` : host;
    const answer = await httpGet(`${scheme}://${hostPart}:${port}${path}`, timeoutMs);
    return httpStatusResult(answer.status, spec.protocol === 'HTTP' && spec.ignoreHttp1xx);
  } catch (err) {
    return { healthy: false, cause: err instanceof Error ? err.message : String(err) };
  }
}

export class HealthMonitor {
  private readonly loops = new Map<string, Loop>();
  private readonly states = new Map<string, HealthState[]>();
  private readonly mesosHealthy = new Map<string, boolean>();
  private readonly oldVersions = new Map<string, AppDefinition | null>();
  private closed = false;

  constructor(private readonly parts: HealthMonitorParts) {}

  /** The checks that apply to a task (its version's), [] while an old version is being read. */
  specsFor(task: TaskRecord): HealthCheckSpec[] {
    const app = this.parts.app(task.appId);
    if (app === undefined) return [];
    if (task.version >= app.versionInfo.lastConfigChangeAt) return healthCheckSpecs(app);
    const key = `${task.appId} ${task.version}`;
    const old = this.oldVersions.get(key);
    if (old === undefined) {
      this.oldVersions.set(key, null);
      this.parts
        .appVersion(task.appId, task.version)
        .then((a) => this.oldVersions.set(key, a ?? app))
        .catch(() => this.oldVersions.delete(key));
      return [];
    }
    return healthCheckSpecs(old ?? app);
  }

  /** Start probing new running tasks, stop probing the others (call after every change). */
  sync(): void {
    if (this.closed) return;
    const wanted = new Set<string>();
    const running = new Set<string>();
    for (const task of this.parts.tasks()) {
      if (task.state !== 'TASK_RUNNING' || task.killRequestedAt !== undefined) continue;
      running.add(task.id);
      this.specsFor(task).forEach((spec, index) => {
        if (!isMarathonSide(spec)) return;
        const key = `${task.id}#${index}`;
        wanted.add(key);
        if (this.loops.has(key)) return;
        const loop: Loop = { taskId: task.id, index, spec, timer: undefined, probing: false };
        this.loops.set(key, loop);
        this.schedule(loop, firstProbeDelayMs(spec));
      });
    }
    for (const [key, loop] of this.loops) {
      if (!wanted.has(key)) {
        loop.timer?.dispose();
        this.loops.delete(key);
      }
    }
    for (const id of [...this.states.keys()]) if (!running.has(id)) this.states.delete(id);
    const known = new Set(this.parts.tasks().map((t) => t.id));
    for (const id of [...this.mesosHealthy.keys()]) if (!known.has(id)) this.mesosHealthy.delete(id);
  }

  /** A status update carried `healthy` (Mesos-side check run by the agent). */
  noteMesosHealth(taskId: string, healthy: boolean): void {
    this.mesosHealthy.set(taskId, healthy);
  }

  /** true / false, or undefined while some check has not answered yet. Without checks: running. */
  health(task: TaskRecord): boolean | undefined {
    const specs = this.specsFor(task);
    if (specs.length === 0) {
      const app = this.parts.app(task.appId);
      if (app !== undefined && app.healthChecks.length > 0) return undefined; // old version still loading
      return task.state === 'TASK_RUNNING' ? true : undefined;
    }
    if (task.state !== 'TASK_RUNNING') return undefined;
    const states = this.states.get(task.id) ?? [];
    const marathonSide: HealthState[] = [];
    let unknown = false;
    specs.forEach((spec, i) => {
      if (isMarathonSide(spec)) marathonSide.push(states[i] ?? initialHealth());
      else {
        const h = this.mesosHealthy.get(task.id);
        if (h === false) marathonSide.push({ consecutiveFailures: 1, lastFailure: '1' });
        else if (h === undefined) unknown = true;
      }
    });
    const overall = overallHealth(marathonSide);
    if (overall === false) return false;
    return unknown || overall === undefined ? undefined : true;
  }

  /** Healthy for deployments: running, and every check alive. */
  isHealthy(task: TaskRecord): boolean {
    return this.health(task) === true;
  }

  /** The task's `healthCheckResults`. */
  resultsJson(task: TaskRecord): JsonObject[] {
    const specs = this.specsFor(task);
    const states = this.states.get(task.id) ?? [];
    const out: JsonObject[] = [];
    specs.forEach((spec, i) => {
      if (isMarathonSide(spec)) {
        const s = states[i];
        if (s !== undefined) out.push(healthResultJson(s, task.id));
      } else {
        const h = this.mesosHealthy.get(task.id);
        if (h !== undefined) {
          out.push({
            alive: h,
            consecutiveFailures: h ? 0 : 1,
            firstSuccess: null,
            lastFailure: null,
            lastSuccess: null,
            lastFailureCause: null,
            instanceId: task.id,
          });
        }
      }
    });
    return out;
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
    const key = `${loop.taskId}#${loop.index}`;
    if (this.closed || this.loops.get(key) !== loop || loop.probing) return;
    loop.probing = true;
    try {
      const task = this.parts.tasks().find((t) => t.id === loop.taskId);
      if (task === undefined || task.state !== 'TASK_RUNNING') return;
      const port = checkPort(loop.spec, task.ports);
      const result: ProbeResult =
        port === undefined
          ? { healthy: false, cause: `no port at index ${loop.spec.portIndex ?? 0}` }
          : await runProbe(loop.spec, taskAddress(task), port);
      if (this.closed || this.loops.get(key) !== loop) return;
      const states = this.states.get(task.id) ?? [];
      const before = states[loop.index] ?? initialHealth();
      const runningSince = Date.parse(task.startedAt ?? task.stagedAt);
      const outcome = applyProbeResult(before, result, { now: this.parts.clock.now(), runningSince, spec: loop.spec });
      states[loop.index] = outcome.state;
      this.states.set(task.id, states);
      if (outcome.counted) {
        this.parts.logger.info(
          {
            taskId: task.id,
            check: loop.index,
            failures: outcome.state.consecutiveFailures,
            cause: outcome.state.lastFailureCause,
          },
          'health check failed',
        );
      }
      if (outcome.kill) {
        this.parts.logger.warn(
          { taskId: task.id, check: loop.index },
          'too many failed health checks; killing the task',
        );
        this.parts.kill(task.id, 'FAILED_HEALTH_CHECKS');
      }
    } catch (err) {
      this.parts.logger.warn({ err: toAgoraError(err).toJSON(), taskId: loop.taskId }, 'health probe error');
    } finally {
      loop.probing = false;
      if (!this.closed && this.loops.get(key) === loop) this.schedule(loop, loop.spec.intervalSeconds * 1000);
    }
  }
}
