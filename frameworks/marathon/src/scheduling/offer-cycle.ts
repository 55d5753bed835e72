/**
 * One pass over a batch of offers: which instances of which apps go where.
 * Apps are served in the order given (the caller puts them in queue order);
 * each offer is shared by as many apps as fit, each app taking from what the
 * previous ones left. PURE.
 */
import type { Resources } from '@agora/common';
import type { PlacementView } from '../constraints/field-values.js';
import type { AppDefinition } from '../model/app-definition.js';
import { type InstanceLaunch, type MatchOptions, matchOffer, type RefusalReason } from './offer-matcher.js';

export interface OfferView {
  id: string;
  agentId: string;
  hostname: string;
  resources: Resources;
  /** Agent attributes, name → formatted value (for constraints). */
  attributes?: Readonly<Record<string, string>>;
  region?: string;
  zone?: string;
  /**
   * The role the offer is allocated to (`allocation_info.role`, MULTI_ROLE):
   * only apps of that role may use it (Marathon 1.9+). Absent: any app.
   */
  allocationRole?: string;
}

/** The placement constraints read from an offer. */
export function placementOfOffer(offer: OfferView): PlacementView {
  const p: PlacementView = { hostname: offer.hostname, attributes: offer.attributes ?? {} };
  if (offer.region !== undefined) p.region = offer.region;
  if (offer.zone !== undefined) p.zone = offer.zone;
  return p;
}

export interface Demand {
  app: AppDefinition;
  /** Instances to launch now. */
  count: number;
  /** Where the app's live instances are (for constraints). @default [] */
  placed?: readonly PlacementView[];
}

export interface OfferLaunch {
  offer: OfferView;
  app: AppDefinition;
  instances: InstanceLaunch[];
}

export interface OfferCycleResult {
  launches: OfferLaunch[];
  /** Offers nothing was launched from. */
  unused: OfferView[];
  /** Why an app could not (or no longer) use an offer. */
  refusals: Array<{ appId: string; offerId: string; reason: RefusalReason }>;
}

export function runOfferCycle(
  offers: readonly OfferView[],
  demand: readonly Demand[],
  options: MatchOptions = {},
): OfferCycleResult {
  const left = new Map(demand.map((d) => [d.app.id, d.count]));
  const placed = new Map(demand.map((d) => [d.app.id, [...(d.placed ?? [])]]));
  const launches: OfferLaunch[] = [];
  const unused: OfferView[] = [];
  const refusals: OfferCycleResult['refusals'] = [];
  for (const offer of offers) {
    let remaining = offer.resources;
    let used = false;
    const at = placementOfOffer(offer);
    for (const { app } of demand) {
      const wanted = left.get(app.id) ?? 0;
      if (wanted <= 0) continue;
      if (offer.allocationRole !== undefined && offer.allocationRole !== app.role) {
        refusals.push({ appId: app.id, offerId: offer.id, reason: 'UNFULFILLED_ROLE' });
        continue;
      }
      const appPlaced = placed.get(app.id) ?? [];
      const result = matchOffer(app, wanted, remaining, { ...options, placement: { offer: at, placed: appPlaced } });
      if (result.launches.length > 0) {
        for (let i = 0; i < result.launches.length; i++) appPlaced.push(at);
        launches.push({ offer, app, instances: result.launches });
        left.set(app.id, wanted - result.launches.length);
        remaining = result.remaining;
        used = true;
      }
      if (result.refusal !== undefined) refusals.push({ appId: app.id, offerId: offer.id, reason: result.refusal });
    }
    if (!used) unused.push(offer);
  }
  return { launches, unused, refusals };
}
