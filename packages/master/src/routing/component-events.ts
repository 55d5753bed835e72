/**
 * Reactions between components: when an agent goes away its offers are
 * rescinded; when a framework goes away its offers are recovered; whenever
 * resources may have freed up or appeared, an allocation cycle is requested.
 */
import { type Disposable, DisposableStore } from '@agora/common';
import { agora } from '@agora/proto';
import type { OfferRecord } from '../offers/offer-manager.js';
import type { MasterParts } from './parts.js';

const EventType = agora.v1.scheduler.Event.Type;

export function wireComponentEvents(parts: MasterParts): Disposable {
  const { agents, frameworks, offers, allocation, logger } = parts;
  const store = new DisposableStore();
  const rescind = (offer: OfferRecord) => {
    frameworks.send(offer.frameworkId, { type: EventType.RESCIND, rescind: { offer_id: { value: offer.id } } });
  };

  store.add(agents.onDidAddAgent(() => allocation.request()));
  store.add(agents.onDidReactivateAgent(() => allocation.request()));
  store.add(
    agents.onDidDeactivateAgent(({ agent, reason }) => {
      const gone = offers.byAgent(agent.id);
      for (const offer of gone) {
        offers.remove(offer.id);
        rescind(offer);
      }
      if (gone.length > 0) logger.info({ agentId: agent.id, reason, offers: gone.length }, 'offers rescinded');
      allocation.request();
    }),
  );
  store.add(
    frameworks.onDidDeactivateFramework((framework) => {
      // The framework cannot use them any more; they are recovered silently (it is not connected).
      for (const offer of offers.byFramework(framework.id)) offers.remove(offer.id);
      allocation.request();
    }),
  );
  store.add(
    parts.maintenance.onDidChangeUnavailability((agentIds) => {
      // Offers must tell the new maintenance window: rescind the outstanding ones (Mesos does the same).
      for (const agentId of agentIds) {
        for (const offer of offers.byAgent(agentId)) {
          offers.remove(offer.id);
          rescind(offer);
        }
      }
      allocation.request();
    }),
  );
  store.add(
    offers.onDidTimeOutOffer((offer) => {
      rescind(offer);
      allocation.request();
    }),
  );
  return store;
}
