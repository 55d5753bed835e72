/**
 * `@region` / `@zone` constraints against the offer's fault domain
 * (`Offer.domain.fault_domain.region/zone.name`), with constructed offers:
 * the domain is read from the offer, each operator sees it, an offer without
 * a domain lacks both fields (every operator refuses it but UNLIKE), and a
 * launched task remembers its region and zone for later placements.
 */
import { parseResources } from '@agora/common';
import { agora } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { placementOfTask } from '../../src/model/task.js';
import { offerView } from '../../src/scheduler/offer-handler.js';
import { type OfferView, runOfferCycle } from '../../src/scheduling/offer-cycle.js';
import { app, task } from './fixtures.js';

function offer(id: string, domain?: { region: string; zone: string }): agora.v1.Offer {
  return agora.v1.Offer.fromObject({
    id: { value: id },
    framework_id: { value: 'fw' },
    agent_id: { value: `agent-${id}` },
    hostname: `host-${id}`,
    resources: parseResources('cpus:4;mem:1024').toProto(),
    ...(domain === undefined
      ? {}
      : { domain: { fault_domain: { region: { name: domain.region }, zone: { name: domain.zone } } } }),
  });
}

const reads = suite('fault domain - read from the offer');

reads('region and zone come from Offer.domain; an offer without one has neither', () => {
  const v = offerView(offer('a', { region: 'eu', zone: 'eu-1' }));
  assert.is(v.region, 'eu');
  assert.is(v.zone, 'eu-1');
  const bare = offerView(offer('b'));
  assert.is(bare.region, undefined);
  assert.is(bare.zone, undefined);
});

const match = suite('fault domain - @region and @zone constraints');

const views = (): OfferView[] => [
  offerView(offer('eu1', { region: 'eu', zone: 'eu-1' })),
  offerView(offer('eu2', { region: 'eu', zone: 'eu-2' })),
  offerView(offer('us1', { region: 'us', zone: 'us-1' })),
  offerView(offer('none')),
];

function placed(constraints: string[][], instances: number): Map<string, number> {
  const a = app({ id: '/a', cpus: 0.1, mem: 16, portDefinitions: [], instances, constraints });
  const cycle = runOfferCycle(views(), [{ app: a, count: instances }], { maxPerOffer: 1 });
  const out = new Map<string, number>();
  for (const l of cycle.launches) out.set(l.offer.id, (out.get(l.offer.id) ?? 0) + l.instances.length);
  return out;
}

match('IS / LIKE on @region take only offers of that region; no domain never matches', () => {
  assert.equal([...placed([['@region', 'IS', 'eu']], 4).keys()].sort(), ['eu1', 'eu2']);
  assert.equal([...placed([['@region', 'LIKE', 'u.']], 4).keys()].sort(), ['us1']);
});

match('UNLIKE on @zone accepts the offer without a domain (a missing field passes UNLIKE only)', () => {
  assert.equal([...placed([['@zone', 'UNLIKE', 'eu-.*']], 4).keys()].sort(), ['none', 'us1']);
});

match('UNIQUE on @zone puts one instance per zone and none where the zone is unknown', () => {
  const p = placed([['@zone', 'UNIQUE']], 4);
  assert.equal([...p.keys()].sort(), ['eu1', 'eu2', 'us1']);
  assert.equal([...p.values()], [1, 1, 1]);
});

match('MAX_PER on @region caps each region', () => {
  const p = placed([['@region', 'MAX_PER', '1']], 5);
  assert.is(
    [...p.values()].reduce((a, b) => a + b, 0),
    2,
  );
  assert.not.ok(p.has('none'));
});

match('a placed task keeps its zone: UNIQUE @zone then refuses that zone', () => {
  const t = task('/a', { region: 'eu', zone: 'eu-1' });
  const p = placementOfTask(t);
  assert.is(p.zone, 'eu-1');
  const a = app({ id: '/a', cpus: 0.1, mem: 16, portDefinitions: [], constraints: [['@zone', 'UNIQUE']] });
  const cycle = runOfferCycle(views(), [{ app: a, count: 3, placed: [p] }], { maxPerOffer: 10 });
  assert.equal(cycle.launches.map((l) => l.offer.id).sort(), ['eu2', 'us1']);
  assert.ok(cycle.refusals.some((r) => r.offerId === 'eu1' && r.reason === 'UNFULFILLED_CONSTRAINT'));
});

reads.run();
match.run();
