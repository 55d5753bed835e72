/**
 * Launch backoff (Marathon's `RateLimiter`): after a task of an app fails,
 * the next launch of that app waits `backoffSeconds · backoffFactor^(n−1)`
 * seconds after the n-th consecutive failure, capped by
 * `maxLaunchDelaySeconds`. The delay belongs to one configuration of the app
 * (its `lastConfigChangeAt`): a new configuration starts without delay. It
 * is forgotten when no failure happened for `maxLaunchDelaySeconds` (Marathon's
 * periodic clean-up), i.e. once the app has run that long without failing.
 * KILLED tasks do not count as failures. PURE: time is an input.
 */
import type { AppDefinition } from '../model/app-definition.js';

export interface BackoffState {
  /** The app configuration this delay belongs to (`versionInfo.lastConfigChangeAt`). */
  readonly configVersion: string;
  /** Consecutive failures counted. */
  readonly failures: number;
  /** The current delay in ms. */
  readonly delayMs: number;
  /** Epoch ms of the last failure. */
  readonly lastFailureAt: number;
}

type BackoffParams = Pick<AppDefinition, 'backoffSeconds' | 'backoffFactor' | 'maxLaunchDelaySeconds' | 'versionInfo'>;

/** Whether `state` still applies to `app` at `now` (same configuration, not expired). */
export function isBackoffActive(
  state: BackoffState | undefined,
  app: BackoffParams,
  now: number,
): state is BackoffState {
  if (state === undefined || state.configVersion !== app.versionInfo.lastConfigChangeAt) return false;
  return now <= state.lastFailureAt + app.maxLaunchDelaySeconds * 1000;
}

/** The state after one more failure at `now`. */
export function recordFailure(state: BackoffState | undefined, app: BackoffParams, now: number): BackoffState {
  const maxMs = app.maxLaunchDelaySeconds * 1000;
  const previous = isBackoffActive(state, app, now) ? state : undefined;
  const delayMs =
    previous === undefined
      ? Math.min(app.backoffSeconds * 1000, maxMs)
      : Math.min(maxMs, previous.delayMs * app.backoffFactor);
  return {
    configVersion: app.versionInfo.lastConfigChangeAt,
    failures: (previous?.failures ?? 0) + 1,
    delayMs,
    lastFailureAt: now,
  };
}

/** Epoch ms before which the app may not launch (0 = launch now). */
export function launchAllowedAt(state: BackoffState | undefined, app: BackoffParams, now: number): number {
  return isBackoffActive(state, app, now) ? state.lastFailureAt + state.delayMs : 0;
}
