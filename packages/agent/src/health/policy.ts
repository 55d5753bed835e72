/**
 * Health checking, the decision (pure: no I/O). Mesos' rules
 * (`src/checks/health_checker.cpp`, `docs/health-checks.md`):
 *
 * - the first probe runs `delay` after the task starts, then one every `interval`; a probe taking longer
 *   than `timeout` is a failure;
 * - until the first success, failures within `grace_period` of the start are ignored;
 * - a success resets the failure count; each other failure counts, and at `consecutive_failures` the task
 *   is killed;
 * - the framework hears of a result only when health changes (first success, healthy → unhealthy,
 *   unhealthy → healthy).
 */

/** Mesos' `HealthCheck` defaults (seconds in the proto, milliseconds here). */
export const HEALTH_CHECK_DEFAULTS = {
  delayMs: 15_000,
  intervalMs: 10_000,
  timeoutMs: 20_000,
  consecutiveFailures: 3,
  gracePeriodMs: 10_000,
} as const;

export interface HealthPolicyConfig {
  delayMs: number;
  intervalMs: number;
  timeoutMs: number;
  gracePeriodMs: number;
  consecutiveFailures: number;
}

/** The proto's numeric fields, as given (null or undefined = unset). */
export interface HealthCheckTimings {
  delay_seconds?: number | null;
  interval_seconds?: number | null;
  timeout_seconds?: number | null;
  grace_period_seconds?: number | null;
  consecutive_failures?: number | null;
}

function seconds(value: number | null | undefined, fallbackMs: number): number {
  if (value === null || value === undefined || !Number.isFinite(value) || value < 0) return fallbackMs;
  return Math.round(value * 1000);
}

/** The policy's config from a HealthCheck, with Mesos' defaults for unset fields. */
export function healthPolicyConfig(check: HealthCheckTimings): HealthPolicyConfig {
  const d = HEALTH_CHECK_DEFAULTS;
  const failures = check.consecutive_failures;
  return {
    delayMs: seconds(check.delay_seconds, d.delayMs),
    intervalMs: Math.max(1, seconds(check.interval_seconds, d.intervalMs)),
    timeoutMs: Math.max(1, seconds(check.timeout_seconds, d.timeoutMs)),
    gracePeriodMs: seconds(check.grace_period_seconds, d.gracePeriodMs),
    consecutiveFailures:
      failures === null || failures === undefined || !Number.isInteger(failures) || failures < 1
        ? d.consecutiveFailures
        : failures,
  };
}

export interface HealthState {
  /** When checking started (the task's start), ms since the epoch. */
  readonly startedAtMs: number;
  /** Last health reported to the framework; undefined before the first report. */
  readonly healthy: boolean | undefined;
  readonly consecutiveFailures: number;
  /** A probe has succeeded at least once (the grace period no longer applies). */
  readonly everHealthy: boolean;
  /** The task is to be (or has been) killed; no further decisions. */
  readonly killed: boolean;
}

export function initialHealthState(startedAtMs: number): HealthState {
  return { startedAtMs, healthy: undefined, consecutiveFailures: 0, everHealthy: false, killed: false };
}

export interface HealthDecision {
  state: HealthState;
  /** Tell the framework (TASK_RUNNING with `healthy`). */
  report?: boolean;
  /** Kill the task. */
  kill?: boolean;
  /** Whether the failure was ignored (grace period). */
  ignored?: boolean;
}

/** The next state and what to do after one probe result. */
export function decideHealth(
  config: HealthPolicyConfig,
  state: HealthState,
  ok: boolean,
  nowMs: number,
): HealthDecision {
  if (state.killed) return { state };
  if (ok) {
    const next: HealthState = { ...state, consecutiveFailures: 0, everHealthy: true, healthy: true };
    return state.healthy === true ? { state: next } : { state: next, report: true };
  }
  if (!state.everHealthy && nowMs - state.startedAtMs < config.gracePeriodMs) {
    return { state, ignored: true };
  }
  const failures = state.consecutiveFailures + 1;
  const kill = failures >= config.consecutiveFailures;
  const next: HealthState = { ...state, consecutiveFailures: failures, healthy: false, killed: kill };
  const decision: HealthDecision = { state: next };
  if (state.healthy !== false) decision.report = true;
  if (kill) decision.kill = true;
  return decision;
}
