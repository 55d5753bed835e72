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
 *
 * Events (with `events`): `add_health_check_event` / `remove_health_check_event`
 * when the first task of an app version starts / the last stops being probed
 * for a check, `failed_health_check_event` per counted failure,
 * `health_status_changed_event` when a check's `alive` flips,
 * `instance_health_changed_event` when the instance's overall health changes,
 * `unhealthy_instance_kill_event` before a kill for failed checks.
 */
import { type Clock, type Disposable, type Logger, toAgoraError } from '@agora/common';
import type { EventPublisher } from '../events/types.js';
import { instanceIdOf } from '../events/types.js';
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
  isAlive,
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
  /** Where the health events are published (none when absent). */
  events?: EventPublisher;
}

interface Loop {
  taskId: string;
  index: number;
  spec: HealthCheckSpec;
  /** The check as defined in the app (events' `healthCheck`). */
  json: JsonObject;
  /** `${appId} ${version}#${index}`: the check of one app version. */
  checkKey: string;
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
  /** Checks of app versions being run (published with add/remove_health_check_event). */
  private readonly activeChecks = new Map<string, string>();
  /** Last published instance health per task. */
  private readonly instanceHealth = new Map<string, boolean | null>();
  private closed = false;

  constructor(private readonly parts: HealthMonitorParts) {}

  /** The checks that apply to a task (its version's), [] while an old version is being read. */
  specsFor(task: TaskRecord): HealthCheckSpec[] {
    const app = this.definitionFor(task);
    return app === undefined ? [] : healthCheckSpecs(app);
  }

  /** The app definition whose checks apply to a task, undefined while an old version is being read. */
  private definitionFor(task: TaskRecord): AppDefinition | undefined {
    const app = this.parts.app(task.appId);
    if (app === undefined) return undefined;
    if (task.version >= app.versionInfo.lastConfigChangeAt) return app;
    const key = `${task.appId} ${task.version}`;
    const old = this.oldVersions.get(key);
    if (old === undefined) {
      this.oldVersions.set(key, null);
      this.parts
        .appVersion(task.appId, task.version)
        .then((a) => this.oldVersions.set(key, a ?? app))
        .catch(() => this.oldVersions.delete(key));
      return undefined;
    }
    return old ?? app;
  }

  /** Start probing new running tasks, stop probing the others (call after every change). */
  sync(): void {
    if (this.closed) return;
    const wanted = new Set<string>();
    const running = new Set<string>();
    for (const task of this.parts.tasks()) {
      if (task.state !== 'TASK_RUNNING' || task.killRequestedAt !== undefined) continue;
      running.add(task.id);
      const app = this.definitionFor(task);
      if (app === undefined) continue;
      healthCheckSpecs(app).forEach((spec, index) => {
        if (!isMarathonSide(spec)) return;
        const key = `${task.id}#${index}`;
        wanted.add(key);
        if (this.loops.has(key)) return;
        const json = app.healthChecks[index] ?? {};
        const checkKey = `${task.appId} ${task.version}#${index}`;
        const loop: Loop = { taskId: task.id, index, spec, json, checkKey, timer: undefined, probing: false };
        this.loops.set(key, loop);
        if (!this.activeChecks.has(checkKey)) {
          this.activeChecks.set(checkKey, task.appId);
          this.parts.events?.publish({
            eventType: 'add_health_check_event',
            appId: task.appId,
            version: task.version,
            healthCheck: json,
          });
        }
        this.schedule(loop, firstProbeDelayMs(spec));
      });
    }
    for (const [key, loop] of this.loops) {
      if (!wanted.has(key)) {
        loop.timer?.dispose();
        this.loops.delete(key);
      }
    }
    const inUse = new Set([...this.loops.values()].map((l) => l.checkKey));
    for (const [checkKey, appId] of [...this.activeChecks]) {
      if (inUse.has(checkKey)) continue;
      this.activeChecks.delete(checkKey);
      this.parts.events?.publish({ eventType: 'remove_health_check_event', appId });
    }
    for (const id of [...this.instanceHealth.keys()]) if (!running.has(id)) this.instanceHealth.delete(id);
    for (const id of [...this.states.keys()]) if (!running.has(id)) this.states.delete(id);
    const known = new Set(this.parts.tasks().map((t) => t.id));
    for (const id of [...this.mesosHealthy.keys()]) if (!known.has(id)) this.mesosHealthy.delete(id);
  }

  /** A status update carried `healthy` (Mesos-side check run by the agent). */
  noteMesosHealth(taskId: string, healthy: boolean): void {
    this.mesosHealthy.set(taskId, healthy);
    const task = this.parts.tasks().find((t) => t.id === taskId);
    if (task !== undefined) this.publishInstanceHealth(task);
  }

  /** `instance_health_changed_event` when the task's overall health differs from the last one published. */
  private publishInstanceHealth(task: TaskRecord): void {
    if (this.parts.events === undefined || task.state !== 'TASK_RUNNING') return;
    const healthy = this.health(task) ?? null;
    const before = this.instanceHealth.get(task.id);
    if (before === healthy || (before === undefined && healthy === null)) return;
    this.instanceHealth.set(task.id, healthy);
    this.parts.events.publish({
      eventType: 'instance_health_changed_event',
      instanceId: instanceIdOf(task.id),
      runSpecId: task.appId,
      healthy,
      runSpecVersion: task.version,
    });
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
      const events = this.parts.events;
      if (outcome.counted) {
        events?.publish({
          eventType: 'failed_health_check_event',
          appId: task.appId,
          taskId: instanceIdOf(task.id),
          healthCheck: loop.json,
        });
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
      const alive = isAlive(outcome.state) === true;
      if ((isAlive(before) === true) !== alive) {
        events?.publish({
          eventType: 'health_status_changed_event',
          appId: task.appId,
          instanceId: instanceIdOf(task.id),
          version: task.version,
          alive,
        });
      }
      this.publishInstanceHealth(task);
      if (outcome.kill) {
        this.parts.logger.warn(
          { taskId: task.id, check: loop.index },
          'too many failed health checks; killing the task',
        );
        events?.publish({
          eventType: 'unhealthy_instance_kill_event',
          appId: task.appId,
          taskId: task.id,
          instanceId: instanceIdOf(task.id),
          version: task.version,
          reason: outcome.state.lastFailureCause ?? 'failed health checks',
          host: task.host,
          slaveId: task.agentId,
          ...(outcome.state.lastFailure === undefined ? {} : { timestamp: outcome.state.lastFailure }),
        });
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
