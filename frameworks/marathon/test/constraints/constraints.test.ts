/**
 * Placement constraints: each operator's rule (including a missing
 * attribute), Marathon's value formatting and validation messages, the
 * operator registry, GROUP_BY-aware scale-down, and the offer matcher with
 * constraints (property tests: UNIQUE never places two instances on one host,
 * MAX_PER never exceeds its limit, whatever the offers).
 */
import { parseResources } from '@agora/common';
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type Constraint,
  constraintAccepts,
  constraintErrors,
  parseConstraint,
  selectVictims,
} from '../../src/constraints/constraints.js';
import {
  attributeValues,
  fieldValue,
  formatScalar,
  type PlacementView,
  VALUE_TYPE,
} from '../../src/constraints/field-values.js';
import { CONSTRAINT_OPERATORS, defineOperators, OPERATORS } from '../../src/constraints/operators.js';
import { parseAppDefinition } from '../../src/model/app-parser.js';
import { runOfferCycle, type OfferView } from '../../src/scheduling/offer-cycle.js';
import { matchOffer } from '../../src/scheduling/offer-matcher.js';
import { app } from '../scheduling/fixtures.js';

const at = (hostname: string, attributes: Record<string, string> = {}): PlacementView => ({ hostname, attributes });
const c = (entry: string[]): Constraint => {
  const parsed = parseConstraint(entry);
  if (parsed === undefined) throw new Error(`bad constraint ${JSON.stringify(entry)}`);
  return parsed;
};

const values = suite('constraints - field values as Marathon formats them');

values('scalars use 0.### with half-even rounding', () => {
  assert.is(formatScalar(1), '1');
  assert.is(formatScalar(0.8), '0.8');
  assert.is(formatScalar(1.00051), '1.001');
  assert.is(formatScalar(1.0005), '1');
  assert.is(formatScalar(2.5), '2.5');
  assert.is(formatScalar(0.0025), '0.002');
  assert.is(formatScalar(0.0035), '0.004');
});

values('ranges and sets are sorted; text is as is', () => {
  const attrs = attributeValues([
    {
      name: 'ports',
      type: VALUE_TYPE.RANGES,
      ranges: {
        range: [
          { begin: 5, end: 6 },
          { begin: 1, end: 2 },
        ],
      },
    },
    { name: 'disks', type: VALUE_TYPE.SET, set: { item: ['ssd', 'hdd'] } },
    { name: 'rack', type: VALUE_TYPE.TEXT, text: { value: 'r-1' } },
    { name: 'level', type: VALUE_TYPE.SCALAR, scalar: { value: 3.0 } },
  ]);
  assert.equal(attrs, { ports: '[1-2,5-6]', disks: '{hdd,ssd}', rack: 'r-1', level: '3' });
});

values('hostname, @hostname, @region, @zone and attributes are the fields', () => {
  const p: PlacementView = { hostname: 'h1', attributes: { rack: 'r1' }, region: 'eu', zone: 'eu-1' };
  assert.is(fieldValue('hostname', p), 'h1');
  assert.is(fieldValue('@hostname', p), 'h1');
  assert.is(fieldValue('@region', p), 'eu');
  assert.is(fieldValue('@zone', p), 'eu-1');
  assert.is(fieldValue('rack', p), 'r1');
  assert.is(fieldValue('missing', p), undefined);
});

const ops = suite('constraints - each operator');

ops('UNIQUE refuses a value already used', () => {
  const u = c(['hostname', 'UNIQUE']);
  assert.ok(constraintAccepts(u, at('a'), [at('b')]));
  assert.not.ok(constraintAccepts(u, at('a'), [at('b'), at('a')]));
});

ops('CLUSTER with a value requires it; without, follows the first instance', () => {
  assert.ok(constraintAccepts(c(['rack', 'CLUSTER', 'r1']), at('a', { rack: 'r1' }), []));
  assert.not.ok(constraintAccepts(c(['rack', 'CLUSTER', 'r1']), at('a', { rack: 'r2' }), []));
  const free = c(['rack', 'CLUSTER']);
  assert.ok(constraintAccepts(free, at('a', { rack: 'r2' }), []));
  assert.ok(constraintAccepts(free, at('a', { rack: 'r2' }), [at('x', { rack: 'r2' })]));
  assert.not.ok(constraintAccepts(free, at('a', { rack: 'r3' }), [at('x', { rack: 'r2' })]));
});

ops('GROUP_BY keeps groups within one of each other; with n it waits for n values', () => {
  const g = c(['rack', 'GROUP_BY']);
  const placed = [at('x', { rack: 'r1' }), at('y', { rack: 'r1' }), at('z', { rack: 'r2' })];
  assert.not.ok(constraintAccepts(g, at('a', { rack: 'r1' }), placed));
  assert.ok(constraintAccepts(g, at('a', { rack: 'r2' }), placed));
  assert.ok(constraintAccepts(g, at('a', { rack: 'r3' }), placed));
  const g3 = c(['rack', 'GROUP_BY', '3']);
  const two = [at('x', { rack: 'r1' }), at('z', { rack: 'r2' })];
  assert.not.ok(constraintAccepts(g3, at('a', { rack: 'r1' }), two), 'only 2 of 3 values seen: no stacking');
  assert.ok(constraintAccepts(g3, at('a', { rack: 'r3' }), two));
});

ops('LIKE and UNLIKE match the whole value', () => {
  assert.ok(constraintAccepts(c(['rack', 'LIKE', 'r[0-9]']), at('a', { rack: 'r1' }), []));
  assert.not.ok(constraintAccepts(c(['rack', 'LIKE', 'r']), at('a', { rack: 'r1' }), []));
  assert.not.ok(constraintAccepts(c(['rack', 'UNLIKE', 'r[0-9]']), at('a', { rack: 'r1' }), []));
  assert.ok(constraintAccepts(c(['rack', 'UNLIKE', 'r']), at('a', { rack: 'r1' }), []));
});

ops('MAX_PER caps the instances per value', () => {
  const m = c(['rack', 'MAX_PER', '2']);
  assert.ok(constraintAccepts(m, at('a', { rack: 'r1' }), [at('x', { rack: 'r1' })]));
  assert.not.ok(constraintAccepts(m, at('a', { rack: 'r1' }), [at('x', { rack: 'r1' }), at('y', { rack: 'r1' })]));
});

ops('IS compares text exactly and scalars as 0.###', () => {
  assert.ok(constraintAccepts(c(['rack', 'IS', 'r1']), at('a', { rack: 'r1' }), []));
  assert.not.ok(constraintAccepts(c(['rack', 'IS', 'r1']), at('a', { rack: 'r10' }), []));
  for (const v of ['0.8', '0.80', '0.8001']) {
    assert.ok(constraintAccepts(c(['level', 'IS', v]), at('a', { level: '0.8' }), []), v);
  }
});

ops('a missing attribute fails every operator except UNLIKE', () => {
  const cases: string[][] = [
    ['rack', 'UNIQUE'],
    ['rack', 'CLUSTER', 'r1'],
    ['rack', 'GROUP_BY'],
    ['rack', 'LIKE', 'r.*'],
    ['rack', 'MAX_PER', '3'],
    ['rack', 'IS', 'r1'],
  ];
  for (const entry of cases) assert.not.ok(constraintAccepts(c(entry), at('a'), []), entry.join(' '));
  assert.ok(constraintAccepts(c(['rack', 'UNLIKE', 'r.*']), at('a'), []));
});

ops('operators are case-insensitive', () => {
  assert.is(c(['hostname', 'unique']).operator, 'UNIQUE');
});

const validation = suite('constraints - validation messages (reference §3)');

validation('bad constraints get Marathon messages', () => {
  assert.equal(constraintErrors(['hostname']), ['Each constraint must have either 2 or 3 fields']);
  assert.equal(constraintErrors(['a', 'b', 'c', 'd']), ['Each constraint must have either 2 or 3 fields']);
  assert.equal(constraintErrors(['hostname', 'FOO']), [
    'operator must be one of the following UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER, UNLIKE or IS',
  ]);
  assert.equal(constraintErrors(['hostname', 'UNIQUE', 'x']), ['UNIQUE does not accept a value']);
  assert.equal(constraintErrors(['rack', 'GROUP_BY', 'x']), [
    'GROUP BY must define an integer value or else no value at all',
  ]);
  assert.equal(constraintErrors(['rack', 'LIKE']), ['LIKE and UNLIKE require a non-empty, regular expression value']);
  assert.equal(constraintErrors(['rack', 'UNLIKE', '([']), ["'([' is not a valid regular expression"]);
  assert.equal(constraintErrors(['rack', 'MAX_PER', 'two']), ['MAX_PER requires an integer value']);
  assert.ok(constraintErrors(['rack', 'IS', 'a b'])[0]?.startsWith('IS only supports Mesos text and float values'));
  assert.equal(constraintErrors(['', 'UNIQUE']), ['missing field for constraint declaration']);
  assert.equal(constraintErrors(['rack', 'GROUP_BY', '3']), []);
});

validation('an app with a bad constraint is rejected at /constraints(i)', () => {
  const r = parseAppDefinition({
    id: '/a',
    cmd: 'x',
    constraints: [
      ['hostname', 'UNIQUE'],
      ['rack', 'MAX_PER'],
    ],
  });
  assert.not.ok(r.ok);
  if (r.ok) return;
  assert.equal(r.violations, [{ path: '/constraints(1)', errors: ['MAX_PER requires an integer value'] }]);
});

validation('the registry refuses an operator defined twice and one left out', () => {
  const all = OPERATORS.map((o) => [o, CONSTRAINT_OPERATORS[o]] as const);
  assert.throws(() => defineOperators([...all, ['UNIQUE', CONSTRAINT_OPERATORS.UNIQUE]]), /defined twice/);
  assert.throws(() => defineOperators(all.slice(1)), /without an evaluator: UNIQUE/);
  assert.ok(defineOperators(all).IS !== undefined);
});

const scaleDown = suite('constraints - scale-down honours GROUP_BY');

scaleDown('victims come from the largest group first', () => {
  const items = ['a1', 'a2', 'a3', 'b1', 'c1'];
  const rack = (s: string): PlacementView => at(s, { rack: s[0]! });
  const victims = selectVictims(items, 2, [c(['rack', 'GROUP_BY'])], rack);
  assert.equal(victims, ['a1', 'a2']);
  for (let k = 0; k <= items.length; k++) {
    const victims = new Set(selectVictims(items, k, [c(['rack', 'GROUP_BY'])], rack));
    assert.is(victims.size, k);
    const left = items.filter((i) => !victims.has(i));
    const sizes = ['a', 'b', 'c'].map((g) => left.filter((i) => i.startsWith(g)).length).filter((n) => n > 0);
    const spread = sizes.length === 0 ? 0 : Math.max(...sizes) - Math.min(...sizes);
    assert.ok(spread <= Math.max(1, 2 - k), `${k}: ${left.join(',')}`);
  }
  assert.equal(selectVictims(items, 2, [], rack), ['a1', 'a2']);
});

const matcher = suite('constraints - in the offer matcher');
const res = parseResources('cpus:8;mem:8192;ports:[31000-31100]');

matcher('an unmet constraint is a named refusal', () => {
  const a = app({ id: '/u', cpus: 0.1, mem: 16, constraints: [['hostname', 'UNIQUE']] });
  const r = matchOffer(a, 3, res, { placement: { offer: at('h1'), placed: [at('h1')] } });
  assert.is(r.launches.length, 0);
  assert.is(r.refusal, 'UNFULFILLED_CONSTRAINT');
});

matcher('UNIQUE places one instance per offer of a host', () => {
  const a = app({ id: '/u', cpus: 0.1, mem: 16, constraints: [['hostname', 'UNIQUE']] });
  const r = matchOffer(a, 3, res, { placement: { offer: at('h1'), placed: [] } });
  assert.is(r.launches.length, 1);
  assert.is(r.refusal, 'UNFULFILLED_CONSTRAINT');
});

const offerOn = (i: number, host: string, rack: string): OfferView => ({
  id: `o${i}`,
  agentId: `agent-${host}`,
  hostname: host,
  resources: res,
  attributes: { rack },
});

const offersArb = fc.array(
  fc.record({ host: fc.constantFrom('h1', 'h2', 'h3', 'h4'), rack: fc.constantFrom('r1', 'r2') }),
  { minLength: 1, maxLength: 12 },
);

matcher('property: UNIQUE never places two instances on one host', () => {
  fc.assert(
    fc.property(
      offersArb,
      fc.integer({ min: 1, max: 10 }),
      fc.array(fc.constantFrom('h1', 'h2', 'h3')),
      (offers, n, placedHosts) => {
        const a = app({ id: '/u', cpus: 0.1, mem: 16, instances: n, constraints: [['hostname', 'UNIQUE']] });
        const placed = [...new Set(placedHosts)].map((h) => at(h));
        const cycle = runOfferCycle(
          offers.map((o, i) => offerOn(i, o.host, o.rack)),
          [{ app: a, count: n, placed }],
        );
        const hosts = [...placed.map((p) => p.hostname)];
        for (const l of cycle.launches) for (let i = 0; i < l.instances.length; i++) hosts.push(l.offer.hostname);
        assert.is(new Set(hosts).size, hosts.length, `duplicate host in ${hosts.join(',')}`);
      },
    ),
  );
});

matcher('property: MAX_PER never exceeds its limit per value', () => {
  fc.assert(
    fc.property(offersArb, fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 4 }), (offers, n, k) => {
      const a = app({ id: '/m', cpus: 0.1, mem: 16, instances: n, constraints: [['rack', 'MAX_PER', String(k)]] });
      const cycle = runOfferCycle(
        offers.map((o, i) => offerOn(i, o.host, o.rack)),
        [{ app: a, count: n }],
      );
      const perRack = new Map<string, number>();
      for (const l of cycle.launches) {
        const rack = l.offer.attributes?.['rack'] ?? '';
        perRack.set(rack, (perRack.get(rack) ?? 0) + l.instances.length);
      }
      for (const count of perRack.values()) assert.ok(count <= k);
    }),
  );
});

matcher('property: GROUP_BY keeps groups within one of each other when every value offers', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 12 }), (n) => {
      const a = app({ id: '/g', cpus: 0.1, mem: 16, instances: n, constraints: [['rack', 'GROUP_BY']] });
      const offers = Array.from({ length: n }, (_, i) => [
        offerOn(2 * i, `a${i}`, 'r1'),
        offerOn(2 * i + 1, `b${i}`, 'r2'),
      ]).flat();
      const cycle = runOfferCycle(offers, [{ app: a, count: n }], { maxPerOffer: 1 });
      const per = { r1: 0, r2: 0 } as Record<string, number>;
      for (const l of cycle.launches) per[l.offer.attributes?.['rack'] ?? '']! += l.instances.length;
      assert.is(per['r1']! + per['r2']!, n);
      assert.ok(Math.abs(per['r1']! - per['r2']!) <= 1, JSON.stringify(per));
    }),
  );
});

values.run();
ops.run();
validation.run();
scaleDown.run();
matcher.run();
