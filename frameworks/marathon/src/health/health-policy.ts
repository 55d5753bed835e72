/**
 * Health checks: the app's `healthChecks` JSON with Marathon's defaults, the
 * state Marathon keeps per task and check, and what one probe result does to
 * it. PURE.
 *
 * Semantics (Marathon's `HealthCheckActor`, with one deliberate difference):
 * - a success sets `consecutiveFailures = 0` (and `firstSuccess` once);
 * - a failure before the first success and within `gracePeriodSeconds` of the
 *   task running is ignored;
 * - otherwise a failure increments `consecutiveFailures`, and when it
 *   *reaches* `maxConsecutiveFailures` (> 0) the task is killed and replaced.
 *   Marathon's documentation says "after maxConsecutiveFailures", its code
 *   compares the count *before* the increment and so kills on the (max+1)-th
 *   failure; Agora follows the documentation (kill on the max-th). `0` never
 *   kills.
 * - `alive` = a success exists and is later than the last failure.
 */
import type { JsonObject, JsonValue } from '../model/app-definition.js';

export type HealthProtocol = 'HTTP' | 'HTTPS' | 'TCP' | 'COMMAND' | 'MESOS_HTTP' | 'MESOS_HTTPS' | 'MESOS_TCP';

export interface HealthCheckSpec {
  protocol: HealthProtocol;
  /** HTTP(S) path; Marathon-side checks use '/' when absent. */
  path: string;
  portIndex?: number;
  port?: number;
  gracePeriodSeconds: number;
  intervalSeconds: number;
  timeoutSeconds: number;
  /** 0 = never kill (Marathon-side). */
  maxConsecutiveFailures: number;
  /** Mesos-side only. */
  delaySeconds: number;
  ignoreHttp1xx: boolean;
  /** COMMAND: the shell command. */
  command?: string;
}

export const HEALTH_DEFAULTS = {
  protocol: 'HTTP' as HealthProtocol,
  gracePeriodSeconds: 300,
  intervalSeconds: 60,
  timeoutSeconds: 20,
  maxConsecutiveFailures: 3,
  delaySeconds: 15,
} as const;

const PROTOCOLS: ReadonlySet<string> = new Set([
  'HTTP',
  'HTTPS',
  'TCP',
  'COMMAND',
  'MESOS_HTTP',
  'MESOS_HTTPS',
  'MESOS_TCP',
]);

function num(o: JsonObject, key: string, fallback: number): number {
  const v = o[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

/** One `healthChecks[i]` with defaults filled in (the validator has checked it). */
export function healthCheckSpec(json: JsonObject): HealthCheckSpec {
  const protocol = typeof json['protocol'] === 'string' && PROTOCOLS.has(json['protocol']) ? json['protocol'] : 'HTTP';
  const spec: HealthCheckSpec = {
    protocol: protocol as HealthProtocol,
    path: typeof json['path'] === 'string' && json['path'] !== '' ? json['path'] : '/',
    gracePeriodSeconds: num(json, 'gracePeriodSeconds', HEALTH_DEFAULTS.gracePeriodSeconds),
    intervalSeconds: num(json, 'intervalSeconds', HEALTH_DEFAULTS.intervalSeconds),
    timeoutSeconds: num(json, 'timeoutSeconds', HEALTH_DEFAULTS.timeoutSeconds),
    maxConsecutiveFailures: num(json, 'maxConsecutiveFailures', HEALTH_DEFAULTS.maxConsecutiveFailures),
    delaySeconds: num(json, 'delaySeconds', HEALTH_DEFAULTS.delaySeconds),
    ignoreHttp1xx: json['ignoreHttp1xx'] === true,
  };
  if (typeof json['port'] === 'number') spec.port = json['port'];
  else spec.portIndex = num(json, 'portIndex', 0);
  const command = json['command'] as JsonValue | undefined;
  if (typeof command === 'object' && command !== null && !Array.isArray(command)) {
    const value = command['value'];
    if (typeof value === 'string') spec.command = value;
  }
  return spec;
}

export function healthCheckSpecs(app: { healthChecks: readonly JsonObject[] }): HealthCheckSpec[] {
  return app.healthChecks.map(healthCheckSpec);
}

/** HTTP, HTTPS and TCP are probed by Marathon; the others by the agent. */
export function isMarathonSide(spec: Pick<HealthCheckSpec, 'protocol'>): boolean {
  return spec.protocol === 'HTTP' || spec.protocol === 'HTTPS' || spec.protocol === 'TCP';
}

/** The host port a check addresses, from the task's host ports; undefined when none. */
export function checkPort(
  spec: Pick<HealthCheckSpec, 'port' | 'portIndex'>,
  hostPorts: readonly number[],
): number | undefined {
  if (spec.port !== undefined) return spec.port;
  return hostPorts[spec.portIndex ?? 0];
}

/** First Marathon-side probe after min(interval, 5 s), then every interval. */
export function firstProbeDelayMs(spec: Pick<HealthCheckSpec, 'intervalSeconds'>): number {
  return Math.min(spec.intervalSeconds, 5) * 1000;
}

export interface HealthState {
  /** ISO-8601 */
  firstSuccess?: string;
  lastSuccess?: string;
  lastFailure?: string;
  lastFailureCause?: string;
  consecutiveFailures: number;
}

export type ProbeResult = { healthy: true } | { healthy: false; cause: string } | { ignored: true };

export interface ProbeContext {
  /** Epoch ms of the result. */
  now: number;
  /** Epoch ms the task started running (grace period start). */
  runningSince: number;
  spec: Pick<HealthCheckSpec, 'gracePeriodSeconds' | 'maxConsecutiveFailures'>;
}

export interface ProbeOutcome {
  state: HealthState;
  /** Kill and replace the task now. */
  kill: boolean;
  /** The failure counted (not ignored by the grace period). */
  counted: boolean;
}

export function initialHealth(): HealthState {
  return { consecutiveFailures: 0 };
}

/** Apply one probe result. */
export function applyProbeResult(state: HealthState, result: ProbeResult, ctx: ProbeContext): ProbeOutcome {
  if ('ignored' in result) return { state, kill: false, counted: false };
  const at = new Date(ctx.now).toISOString();
  if (result.healthy) {
    return {
      state: { ...state, firstSuccess: state.firstSuccess ?? at, lastSuccess: at, consecutiveFailures: 0 },
      kill: false,
      counted: false,
    };
  }
  const inGrace = state.firstSuccess === undefined && ctx.now < ctx.runningSince + ctx.spec.gracePeriodSeconds * 1000;
  if (inGrace) return { state, kill: false, counted: false };
  const next: HealthState = {
    ...state,
    lastFailure: at,
    lastFailureCause: result.cause,
    consecutiveFailures: state.consecutiveFailures + 1,
  };
  const max = ctx.spec.maxConsecutiveFailures;
  return { state: next, kill: max > 0 && next.consecutiveFailures >= max, counted: true };
}

/** Marathon's `alive`: undefined while there is no result yet. */
export function isAlive(state: HealthState): boolean | undefined {
  if (state.lastSuccess === undefined) return state.lastFailure === undefined ? undefined : false;
  return state.lastFailure === undefined || state.lastSuccess > state.lastFailure;
}

/** One entry of a task's `healthCheckResults`. */
export function healthResultJson(state: HealthState, instanceId: string): JsonObject {
  return {
    alive: isAlive(state) === true,
    consecutiveFailures: state.consecutiveFailures,
    firstSuccess: state.firstSuccess ?? null,
    lastFailure: state.lastFailure ?? null,
    lastSuccess: state.lastSuccess ?? null,
    lastFailureCause: state.lastFailureCause ?? null,
    instanceId,
  };
}

/**
 * Whether a task counts as healthy given its checks' states: every check
 * alive. `undefined` when some check has no result yet (Marathon counts such
 * a task neither healthy nor unhealthy).
 */
export function overallHealth(states: readonly HealthState[]): boolean | undefined {
  let unknown = false;
  for (const s of states) {
    const alive = isAlive(s);
    if (alive === false) return false;
    if (alive === undefined) unknown = true;
  }
  return unknown ? undefined : true;
}

/** HTTP status → probe result (Marathon: 200–399 healthy; 1xx ignored with `ignoreHttp1xx`). */
export function httpStatusResult(status: number, ignoreHttp1xx: boolean): ProbeResult {
  if (status >= 200 && status < 400) return { healthy: true };
  if (status >= 100 && status < 200 && ignoreHttp1xx) return { ignored: true };
  return { healthy: false, cause: `HTTP ${status}` };
}
