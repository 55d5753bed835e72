import { parseResources, Resources } from '@agora/common';
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { matchOffer } from '../../src/scheduling/offer-matcher.js';
import { runOfferCycle } from '../../src/scheduling/offer-cycle.js';
import { app } from './fixtures.js';

const res = (text: string): Resources => parseResources(text);

const fits = suite('offer matcher - placing instances in an offer');

fits('one instance takes cpus, mem and a port', () => {
  const r = matchOffer(app({ id: '/web', cpus: 0.5, mem: 64 }), 1, res('cpus:2;mem:1024;ports:[31000-31009]'));
  assert.is(r.launches.length, 1);
  assert.is(r.refusal, undefined);
  assert.is(r.launches[0]!.resources.toString(), 'cpus:0.5;mem:64;ports:[31000-31000]');
  assert.equal(r.launches[0]!.hostPorts, [31000]);
  assert.is(r.remaining.toString(), 'cpus:1.5;mem:960;ports:[31001-31009]');
});

fits('several instances from one offer, each from what the previous left, then a named reason', () => {
  const r = matchOffer(app({ id: '/web', cpus: 1, mem: 128 }), 5, res('cpus:2.5;mem:1024;ports:[31000-31009]'));
  assert.is(r.launches.length, 2);
  assert.is(r.refusal, 'INSUFFICIENT_CPUS');
  assert.equal(
    r.launches.map((l) => l.hostPorts),
    [[31000], [31001]],
  );
});

fits('the per-offer limit caps the launches', () => {
  const r = matchOffer(app({ id: '/w', cpus: 0.1, mem: 1, portDefinitions: [] }), 10, res('cpus:10;mem:1000'), {
    maxPerOffer: 3,
  });
  assert.is(r.launches.length, 3);
  assert.is(r.refusal, undefined);
});

fits('apps without ports take none; disk only when asked', () => {
  const r = matchOffer(app({ id: '/w', cpus: 0.1, mem: 16, portDefinitions: [] }), 1, res('cpus:1;mem:100;disk:50'));
  assert.is(r.launches[0]!.resources.toString(), 'cpus:0.1;mem:16');
  const d = matchOffer(
    app({ id: '/w', cpus: 0.1, mem: 16, disk: 10, portDefinitions: [] }),
    1,
    res('cpus:1;mem:100;disk:50'),
  );
  assert.is(d.launches[0]!.resources.toString(), 'cpus:0.1;mem:16;disk:10');
});

const refusals = suite('offer matcher - every refusal is named');

refusals('each missing resource has its reason', () => {
  const cases: Array<[Record<string, unknown>, string, string]> = [
    [{ cpus: 4 }, 'cpus:2;mem:1024;ports:[1-10]', 'INSUFFICIENT_CPUS'],
    [{ mem: 2048 }, 'cpus:2;mem:1024;ports:[1-10]', 'INSUFFICIENT_MEMORY'],
    [{ disk: 10 }, 'cpus:2;mem:1024;ports:[1-10]', 'INSUFFICIENT_DISK'],
    [{ gpus: 1 }, 'cpus:2;mem:1024;ports:[1-10]', 'INSUFFICIENT_GPUS'],
    [{ portDefinitions: [{ port: 0 }, { port: 0 }] }, 'cpus:2;mem:1024;ports:[1-1]', 'INSUFFICIENT_PORTS'],
    [
      { container: { type: 'DOCKER', docker: { image: 'nginx' } } },
      'cpus:2;mem:1024;ports:[1-10]',
      'UNSUPPORTED_CONTAINER',
    ],
    [{ role: 'web', acceptedResourceRoles: ['web'] }, 'cpus:2;mem:1024;ports:[1-10]', 'UNFULFILLED_ROLE'],
  ];
  for (const [body, offer, reason] of cases) {
    const r = matchOffer(app({ id: '/a', cpus: 1, mem: 128, ...body }), 1, res(offer));
    assert.is(r.launches.length, 0, reason);
    assert.is(r.refusal, reason);
  }
});

const ports = suite('offer matcher - host ports');

ports('requirePorts takes the declared ports, or refuses', () => {
  const a = app({ id: '/a', cpus: 0.1, mem: 16, requirePorts: true, portDefinitions: [{ port: 31005 }, { port: 0 }] });
  const r = matchOffer(a, 2, res('cpus:1;mem:100;ports:[31000-31009]'));
  assert.is(r.launches.length, 1);
  assert.equal(r.launches[0]!.hostPorts, [31005, 31000]);
  assert.is(r.refusal, 'INSUFFICIENT_PORTS');
  assert.is(matchOffer(a, 1, res('cpus:1;mem:100;ports:[32000-32009]')).refusal, 'INSUFFICIENT_PORTS');
});

ports('without requirePorts declared ports are service ports and host ports are picked', () => {
  const a = app({ id: '/a', cpus: 0.1, mem: 16, portDefinitions: [{ port: 8080 }] });
  assert.equal(matchOffer(a, 1, res('cpus:1;mem:100;ports:[31000-31009]')).launches[0]!.hostPorts, [31000]);
});

ports('random host ports come from the random source', () => {
  let seed = 7;
  const random = (): number => {
    seed = (seed * 16807) % 2147483647;
    return (seed - 1) / 2147483646;
  };
  const a = app({ id: '/a', cpus: 0.1, mem: 16, portDefinitions: [{ port: 0 }, { port: 0 }] });
  const r = matchOffer(a, 3, res('cpus:1;mem:100;ports:[31000-31999]'), { random });
  const all = r.launches.flatMap((l) => l.hostPorts);
  assert.is(all.length, 6);
  assert.is(new Set(all).size, 6);
  assert.ok(all.every((p) => p >= 31000 && p <= 31999));
  assert.not.equal(all, [31000, 31001, 31002, 31003, 31004, 31005]);
});

const roles = suite('offer matcher - roles');

roles('reserved resources of the app role are used first, then unreserved', () => {
  const a = app({ id: '/a', cpus: 1.5, mem: 16, role: 'web', portDefinitions: [] });
  const r = matchOffer(a, 1, res('cpus:2;cpus(web):1;mem:100'));
  assert.is(r.launches[0]!.resources.toString(), 'cpus:0.5;cpus(web):1;mem:16');
});

roles('acceptedResourceRoles limits what is used', () => {
  const a = app({ id: '/a', cpus: 1, mem: 16, acceptedResourceRoles: ['*'], role: 'web', portDefinitions: [] });
  const r = matchOffer(a, 2, res('cpus:1;cpus(web):4;mem:100'));
  assert.is(r.launches.length, 1);
  assert.is(r.launches[0]!.resources.toString(), 'cpus:1;mem:16');
  assert.is(r.refusal, 'INSUFFICIENT_CPUS');
});

roles('resources of other roles are never used', () => {
  const a = app({ id: '/a', cpus: 1, mem: 16, portDefinitions: [] });
  assert.is(matchOffer(a, 1, res('cpus(db):8;mem(db):1000')).refusal, 'UNFULFILLED_ROLE');
});

roles(
  'a stored app whose acceptedResourceRoles name another role (before validation refused it) uses none of it',
  () => {
    const a = app({ id: '/a', cpus: 1, mem: 16, portDefinitions: [], role: 'web' });
    const stale = { ...a, acceptedResourceRoles: ['db', 'web'] };
    const r = matchOffer(stale, 2, res('cpus(db):8;mem(db):1000;cpus(web):1;mem(web):100'));
    assert.is(r.launches.length, 1);
    assert.is(r.launches[0]!.resources.toString(), 'cpus(web):1;mem(web):16');
    assert.is(r.refusal, 'INSUFFICIENT_CPUS');
  },
);

const props = suite('offer matcher - properties');

props('launches never exceed the offer and never share a port', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 40 }).map((n) => n / 10),
      fc.integer({ min: 1, max: 512 }),
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 0, max: 20 }),
      (cpus, mem, nPorts, wanted, portCount) => {
        const offer = res(`cpus:4;mem:2048${portCount > 0 ? `;ports:[31000-${31000 + portCount - 1}]` : ''}`);
        const a = app({ id: '/p', cpus, mem, portDefinitions: Array.from({ length: nPorts }, () => ({ port: 0 })) });
        const r = matchOffer(a, wanted, offer, { maxPerOffer: 100 });
        const used = r.launches.reduce((acc, l) => acc.add(l.resources), Resources.empty());
        assert.ok(offer.contains(used));
        assert.ok(used.add(r.remaining).equals(offer));
        const hostPorts = r.launches.flatMap((l) => l.hostPorts);
        assert.is(new Set(hostPorts).size, hostPorts.length);
        assert.ok(r.launches.length <= wanted);
        assert.ok(r.launches.length === wanted || r.refusal !== undefined);
      },
    ),
    { numRuns: 300 },
  );
});

const cycle = suite('offer cycle - sharing offers between apps');

cycle('apps are served in order, each from what the previous left; unused offers are returned', () => {
  const a = app({ id: '/a', cpus: 1, mem: 100, portDefinitions: [] });
  const b = app({ id: '/b', cpus: 1, mem: 100, portDefinitions: [] });
  const offers = [
    { id: 'o1', agentId: 's1', hostname: 'h1', resources: res('cpus:1.5;mem:1000') },
    { id: 'o2', agentId: 's2', hostname: 'h2', resources: res('cpus:1;mem:1000') },
    { id: 'o3', agentId: 's3', hostname: 'h3', resources: res('cpus:0.1;mem:1000') },
  ];
  const r = runOfferCycle(offers, [
    { app: a, count: 1 },
    { app: b, count: 1 },
  ]);
  assert.equal(
    r.launches.map((l) => [l.offer.id, l.app.id, l.instances.length]),
    [
      ['o1', '/a', 1],
      ['o2', '/b', 1],
    ],
  );
  assert.equal(
    r.unused.map((o) => o.id),
    ['o3'],
  );
  assert.ok(r.refusals.some((x) => x.appId === '/b' && x.offerId === 'o1' && x.reason === 'INSUFFICIENT_CPUS'));
});

fits.run();
refusals.run();
ports.run();
roles.run();
props.run();
cycle.run();
