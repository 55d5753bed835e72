/**
 * The launch queue's bookkeeping: each app's launch backoff and why recent
 * offers did not fit it (for `/v2/queue` and the CLI, later). It decides
 * nothing about resources; the offer cycle asks it which apps may launch now.
 * No I/O: time is passed in.
 */
import type { AppDefinition } from '../model/app-definition.js';
import { type BackoffState, isBackoffActive, launchAllowedAt, recordFailure } from './backoff.js';
import { REFUSAL_REASONS, type RefusalReason } from './offer-matcher.js';

export interface QueueStats {
  /** Offers looked at for this app since it last launched. */
  processedOffers: number;
  /** Offers (or their remains) refused, per reason, since the app last launched. */
  refusals: Record<RefusalReason, number>;
  /** Epoch ms of the last launch from an offer. */
  lastLaunchAt?: number;
}

function emptyRefusals(): Record<RefusalReason, number> {
  return Object.fromEntries(REFUSAL_REASONS.map((r) => [r, 0])) as Record<RefusalReason, number>;
}

export class LaunchQueue {
  private readonly backoff = new Map<string, BackoffState>();
  private readonly stats = new Map<string, QueueStats>();

  /** A task of the app failed at `now`: raise its delay. */
  recordFailure(app: AppDefinition, now: number): BackoffState {
    const next = recordFailure(this.backoff.get(app.id), app, now);
    this.backoff.set(app.id, next);
    return next;
  }

  /** Forget the app's delay and statistics (app deleted, or restarted by the user). */
  reset(appId: string): void {
    this.backoff.delete(appId);
    this.stats.delete(appId);
  }

  /** Epoch ms before which the app may not launch (0: now). */
  launchAllowedAt(app: AppDefinition, now: number): number {
    return launchAllowedAt(this.backoff.get(app.id), app, now);
  }

  /** The app's delay, when one applies at `now`. */
  backoffOf(app: AppDefinition, now: number): BackoffState | undefined {
    const state = this.backoff.get(app.id);
    return isBackoffActive(state, app, now) ? state : undefined;
  }

  noteOffer(appId: string, launched: number, refusal: RefusalReason | undefined, now: number): void {
    const s = this.stats.get(appId) ?? { processedOffers: 0, refusals: emptyRefusals() };
    if (launched > 0) {
      s.processedOffers = 0;
      s.refusals = emptyRefusals();
      s.lastLaunchAt = now;
    } else {
      s.processedOffers += 1;
    }
    if (refusal !== undefined) s.refusals[refusal] += 1;
    this.stats.set(appId, s);
  }

  statsOf(appId: string): QueueStats | undefined {
    const s = this.stats.get(appId);
    return s === undefined ? undefined : { ...s, refusals: { ...s.refusals } };
  }
}
