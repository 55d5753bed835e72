/**
 * Dynamic reservations in the resource algebra: a reservation's principal and
 * labels (`reservations[]`, last entry, DYNAMIC) are part of a resource's
 * identity, as in Mesos — differently labelled reservations of one role are
 * never merged, contains/subtract name exactly one — while the role views and
 * the quantities the allocator sums ignore them.
 */
import { hasErrorCode, makeReservation, parseResources, Resources } from '@agora/common';
import { agora } from '@agora/proto';
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const test = suite('resources: a dynamic reservation’s principal and labels are part of its identity');
const { SCALAR, RANGES } = agora.v1.Value.Type;
const { STATIC, DYNAMIC } = agora.v1.Resource.ReservationInfo.Type;

function reserved(
  name: string,
  value: number,
  role: string,
  principal?: string,
  labels?: Record<string, string>,
): agora.v1.Resource.$Properties {
  return {
    name,
    type: SCALAR,
    scalar: { value },
    reservations: [
      {
        type: DYNAMIC,
        role,
        ...(principal === undefined ? {} : { principal }),
        ...(labels === undefined
          ? {}
          : { labels: { labels: Object.entries(labels).map(([key, v]) => ({ key, value: v })) } }),
      },
    ],
  };
}

test('two reservations of one role with different labels stay apart; the quantities sum them', () => {
  const r = Resources.fromProto([
    reserved('cpus', 1, 'r', 'p', { id: 'a' }),
    reserved('cpus', 2, 'r', 'p', { id: 'b' }),
    reserved('cpus', 0.5, 'r', 'p', { id: 'a' }),
    reserved('mem', 64, 'r'),
  ]);
  assert.is(r.toProto().filter((x) => x.name === 'cpus').length, 2);
  assert.is(r.toString(), 'cpus(r, p, {id: a}):1.5;cpus(r, p, {id: b}):2;mem(r):64');
  assert.is(r.scalar('cpus'), 3.5);
  assert.equal(Object.fromEntries(r.scalars()), { cpus: 3.5, mem: 64 });
  assert.equal(r.roles(), ['r']);
  assert.is(r.reservedFor('r').scalar('cpus'), 3.5);
  assert.is(r.allocatableTo('r').equals(r), true);
  assert.equal(r.toMesosJson(), { cpus: 3.5, gpus: 0, mem: 64, disk: 0 });
});

test('contains and subtract name exactly one reservation', () => {
  const r = Resources.fromProto([
    reserved('cpus', 1, 'r', 'p', { id: 'a' }),
    reserved('cpus', 2, 'r', 'p', { id: 'b' }),
  ]);
  const a = Resources.fromProto([reserved('cpus', 1, 'r', 'p', { id: 'a' })]);
  assert.ok(r.contains(a));
  assert.not.ok(r.contains(Resources.fromProto([reserved('cpus', 1.5, 'r', 'p', { id: 'a' })])));
  assert.not.ok(r.contains(parseResources('cpus(r):1')), 'a role-only resource is not a labelled one');
  assert.not.ok(r.contains(Resources.fromProto([reserved('cpus', 1, 'r', 'q', { id: 'a' })])), 'other principal');
  assert.not.ok(r.contains(Resources.fromProto([reserved('cpus', 1, 'r', 'p')])), 'no labels');
  assert.is(r.subtract(a).toString(), 'cpus(r, p, {id: b}):2');
  try {
    r.subtract(parseResources('cpus(r):1'));
    assert.unreachable('subtracting a role-only cpu must fail');
  } catch (err) {
    assert.ok(hasErrorCode(err, 'AGORA_ERR_BAD_RESOURCES'));
  }
  assert.is(r.subtractSaturating(parseResources('cpus(r):3')).equals(r), true);
});

test('toProto/fromProto round-trip the reservation (last entry of reservations[]); STATIC and none carry nothing', () => {
  const list = [
    reserved('cpus', 1, 'r', 'p', { id: 'a', team: 'x' }),
    reserved('cpus', 1, 'r', undefined, { id: 'b' }),
    reserved('mem', 32, 'r', 'p'),
    reserved('mem', 16, 'r'),
    { name: 'disk', type: SCALAR, scalar: { value: 8 }, reservations: [{ type: STATIC, role: 'r' }] },
    {
      name: 'ports',
      type: RANGES,
      ranges: { range: [{ begin: 1, end: 2 }] },
      reservations: [{ type: DYNAMIC, role: 'r', principal: 'p' }],
    },
  ];
  const r = Resources.fromProto(list);
  const back = Resources.fromProto(r.toProto());
  assert.ok(back.equals(r));
  assert.is(back.toString(), r.toString());
  const protos = r.toProto();
  const labelled = protos.find((x) => x.name === 'cpus' && x.reservations?.[0]?.principal === 'p')!;
  assert.equal(labelled.reservations, [
    {
      type: DYNAMIC,
      role: 'r',
      principal: 'p',
      labels: {
        labels: [
          { key: 'id', value: 'a' },
          { key: 'team', value: 'x' },
        ],
      },
    },
  ]);
  assert.is(labelled.role, 'r', 'the legacy role is kept');
  const plain = protos.filter((x) => x.reservations === undefined).map((x) => `${x.name}(${x.role})`);
  assert.equal(plain, ['mem(r)', 'disk(r)'], 'STATIC and unlabelled DYNAMIC carry no identity');
  assert.is(r.reservedFor('r').withoutReservationIdentity().toString(), 'mem(r):16;disk(r):8');
});

test('labels are compared as a set (order does not matter); a label needs a key', () => {
  const ab = Resources.fromProto([reserved('cpus', 1, 'r', undefined, { a: '1', b: '2' })]);
  const ba = Resources.fromProto([
    {
      name: 'cpus',
      type: SCALAR,
      scalar: { value: 1 },
      reservations: [
        {
          type: DYNAMIC,
          role: 'r',
          labels: {
            labels: [
              { key: 'b', value: '2' },
              { key: 'a', value: '1' },
            ],
          },
        },
      ],
    },
  ]);
  assert.ok(ab.equals(ba));
  try {
    makeReservation(undefined, [{ key: '' }]);
    assert.unreachable('an empty key must fail');
  } catch (err) {
    assert.ok(hasErrorCode(err, 'AGORA_ERR_BAD_RESOURCES'));
  }
  assert.is(makeReservation('', []), undefined);
});

test('withRole drops the identity; withReservation sets it; byReservation groups by it', () => {
  const r = Resources.fromProto([
    reserved('cpus', 1, 'r', 'p', { id: 'a' }),
    reserved('cpus', 2, 'r', 'p', { id: 'b' }),
  ]);
  assert.is(r.withRole('*').toString(), 'cpus:3');
  assert.is(r.withRole('s').toString(), 'cpus(s):3');
  const id = makeReservation('p', [{ key: 'id', value: 'a' }]);
  const tagged = parseResources('cpus(r):1;mem(r):8').withReservation(id);
  assert.is(tagged.toString(), 'cpus(r, p, {id: a}):1;mem(r, p, {id: a}):8');
  assert.ok(r.add(tagged).contains(Resources.fromProto([reserved('cpus', 2, 'r', 'p', { id: 'a' })])));
  assert.is(tagged.withReservation(undefined).toString(), 'cpus(r):1;mem(r):8');
  try {
    parseResources('cpus:1').withReservation(id);
    assert.unreachable('unreserved resources cannot carry a reservation');
  } catch (err) {
    assert.ok(hasErrorCode(err, 'AGORA_ERR_BAD_RESOURCES'));
  }
  const groups = r.add(parseResources('mem(r):4')).byReservation();
  assert.equal(
    groups.map((g) => [g.role, g.reservation?.labels?.[0]?.value ?? null, g.resources.toString()]),
    [
      ['r', 'a', 'cpus(r, p, {id: a}):1'],
      ['r', 'b', 'cpus(r, p, {id: b}):2'],
      ['r', null, 'mem(r):4'],
    ],
  );
  const json = r.toMesosJsonList();
  assert.equal(json[0]?.['reservations'], [
    { type: 'DYNAMIC', role: 'r', principal: 'p', labels: { labels: [{ key: 'id', value: 'a' }] } },
  ]);
});

test('property: add then subtract of labelled reservations gives back the start; totals ignore the labels', () => {
  const entry = fc.record({
    name: fc.constantFrom('cpus', 'mem'),
    value: fc.integer({ min: 1, max: 50 }),
    label: fc.option(fc.constantFrom('a', 'b', 'c'), { nil: undefined }),
  });
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 8 }), fc.array(entry, { maxLength: 8 }), (xs, ys) => {
      const of = (list: typeof xs) =>
        Resources.fromProto(
          list.map((e) =>
            reserved(e.name, e.value, 'r', undefined, e.label === undefined ? undefined : { id: e.label }),
          ),
        );
      const a = of(xs);
      const b = of(ys);
      const sum = a.add(b);
      assert.ok(sum.contains(a) && sum.contains(b));
      assert.ok(sum.subtract(b).equals(a));
      assert.is(sum.scalar('cpus'), a.scalar('cpus') + b.scalar('cpus'));
      assert.ok(sum.withRole('r').equals(a.withRole('r').add(b.withRole('r'))));
    }),
    { numRuns: 200 },
  );
});

test.run();
