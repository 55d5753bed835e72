/**
 * The launch queue's bookkeeping: each app's launch backoff and why recent
 * offers did not fit it (for `/v2/queue` and the CLI, later). It decides
 * nothing about resources; the offer cycle asks it which apps may launch now.
 * No I/O: time is passed in.
 */
import type { AppDefinition } from '../model/app-definition.js';
import { type BackoffState, isBackoffActive, launchAllowedAt, recordFailure } from './backoff.js';
import type { OfferView } from './offer-cycle.js';
import { REFUSAL_REASONS, type RefusalReason } from './offer-matcher.js';

/** How many refused offers per app are remembered (`/v2/queue?embed=lastUnusedOffers`). */
export const LAST_UNUSED_OFFERS = 10;

export interface UnusedOffer {
  offer: OfferView;
  reason: RefusalReason;
  /** Epoch ms */
  at: number;
}

export interface QueueStats {
  /** Offers looked at for this app since it last launched. */
  processedOffers: number;
  /** Offers (or their remains) refused, per reason, since the app last launched. */
  refusals: Record<RefusalReason, number>;
  /** Epoch ms of the last launch from an offer. */
  lastLaunchAt?: number;
  /** Epoch ms of the last offer refused. */
  lastRefusalAt?: number;
  /** Epoch ms of the first offer refused since the last launch (the app waits since then). */
  waitingSince?: number;
  /** The last offers refused, newest last. */
  lastUnusedOffers?: UnusedOffer[];
}

/** Marathon's names of the refusal reasons (`NoOfferMatchReason`), for `/v2/queue`. */
export const MARATHON_REASON_NAMES: Readonly<Record<RefusalReason, string>> = {
  UNFULFILLED_ROLE: 'UnfulfilledRole',
  UNSUPPORTED_CONTAINER: 'UnsupportedContainer',
  UNFULFILLED_CONSTRAINT: 'UnfulfilledConstraint',
  NO_CORRESPONDING_RESERVATION_FOUND: 'NoCorrespondingReservationFound',
  INSUFFICIENT_CPUS: 'InsufficientCpus',
  INSUFFICIENT_MEMORY: 'InsufficientMemory',
  INSUFFICIENT_DISK: 'InsufficientDisk',
  INSUFFICIENT_GPUS: 'InsufficientGpus',
  INSUFFICIENT_PORTS: 'InsufficientPorts',
};

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

  noteOffer(appId: string, launched: number, refusal: RefusalReason | undefined, now: number, offer?: OfferView): void {
    const s = this.stats.get(appId) ?? { processedOffers: 0, refusals: emptyRefusals() };
    if (launched > 0) {
      s.processedOffers = 0;
      s.refusals = emptyRefusals();
      s.lastLaunchAt = now;
      delete s.waitingSince;
    } else {
      s.processedOffers += 1;
      s.waitingSince ??= now;
    }
    if (refusal !== undefined) {
      s.refusals[refusal] += 1;
      s.lastRefusalAt = now;
      if (offer !== undefined) {
        s.lastUnusedOffers = [...(s.lastUnusedOffers ?? []), { offer, reason: refusal, at: now }].slice(
          -LAST_UNUSED_OFFERS,
        );
      }
    }
    this.stats.set(appId, s);
  }

  statsOf(appId: string): QueueStats | undefined {
    const s = this.stats.get(appId);
    if (s === undefined) return undefined;
    const copy: QueueStats = { ...s, refusals: { ...s.refusals } };
    if (s.lastUnusedOffers !== undefined) copy.lastUnusedOffers = [...s.lastUnusedOffers];
    return copy;
  }
}
