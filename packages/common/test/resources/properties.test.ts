import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseResources, Resources, rangesResource, scalarResource } from '../../src/index.js';

const role = fc.constantFrom('*', 'web', 'db');
const scalar = fc
  .tuple(fc.constantFrom('cpus', 'mem', 'disk', 'gpus'), fc.integer({ min: 0, max: 100_000 }), role)
  .map(([name, millis, r]) => scalarResource(name, millis / 1000, r));
/** Ranges within [0, 200], possibly overlapping (rangesResource merges only disjoint input, so dedupe first). */
const ranges = fc
  .tuple(
    fc.constantFrom('ports', 'ephemeral'),
    fc.uniqueArray(fc.integer({ min: 0, max: 200 }), { maxLength: 30 }),
    role,
  )
  .map(([name, nums, r]) =>
    rangesResource(
      name,
      nums.map((n): [number, number] => [n, n]),
      r,
    ),
  );
const set = fc
  .tuple(
    fc.constantFrom('bugs', 'gpus_ids'),
    fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { maxLength: 5 }),
    role,
  )
  .map(([name, items, r]) => parseResources(`${name}${r === '*' ? '' : `(${r})`}:{${items.join(',')}}`));
const resources = fc
  .array(fc.oneof(scalar, ranges, set), { maxLength: 8 })
  .map((parts) => parts.reduce((acc, p) => acc.add(p), Resources.empty()));

/** `a` and a part of it (each entry scaled down / a subset of it). */
const withPart = resources.chain((a) =>
  fc
    .array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: a.entries().length, maxLength: a.entries().length })
    .map((fractions) => {
      let part = Resources.empty();
      a.entries().forEach((e, i) => {
        const f = fractions[i]!;
        if (e.kind === 'scalar') part = part.add(scalarResource(e.name, Math.floor((e.millis * f) / 1) / 1000, e.role));
        if (e.kind === 'ranges') {
          const picked = e.ranges.flatMap(([b, end]) => {
            const out: Array<[number, number]> = [];
            for (let n = b; n <= end; n++) if ((n * 7919) % 100 < f * 100) out.push([n, n]);
            return out;
          });
          part = part.add(rangesResource(e.name, picked, e.role));
        }
        if (e.kind === 'set') {
          const items = e.items.filter((_, j) => j < e.items.length * f);
          if (items.length > 0) part = part.add(parseResources(`${e.name}(${e.role}):{${items.join(',')}}`));
        }
      });
      return { a, part };
    }),
);

const props = suite('resource algebra properties');

props('parse ∘ format is the identity', () => {
  fc.assert(
    fc.property(resources, (r) => {
      assert.ok(parseResources(r.toString()).equals(r));
      assert.ok(Resources.fromProto(r.toProto()).equals(r));
    }),
  );
});

props('a part is contained, and (a − part) + part = a', () => {
  fc.assert(
    fc.property(withPart, ({ a, part }) => {
      assert.ok(a.contains(part));
      const rest = a.subtract(part);
      assert.ok(rest.add(part).equals(a), `${rest} + ${part} != ${a}`);
      assert.ok(a.contains(rest));
    }),
  );
});

props('after a + b, the sum contains a and b', () => {
  fc.assert(
    fc.property(resources, resources, (a, b) => {
      let sum: Resources;
      try {
        sum = a.add(b);
      } catch {
        return; // same name with different types: refused, which is checked in unit tests
      }
      assert.ok(sum.contains(a));
      assert.ok(sum.contains(b));
    }),
  );
});

props('(a + b) − b = a for scalars', () => {
  const scalars = fc.array(scalar, { maxLength: 6 }).map((ps) => ps.reduce((acc, p) => acc.add(p), Resources.empty()));
  fc.assert(fc.property(scalars, scalars, (a, b) => assert.ok(a.add(b).subtract(b).equals(a))));
});

props('subtractSaturating never goes negative and stays within a', () => {
  fc.assert(
    fc.property(resources, resources, (a, b) => {
      const rest = a.subtractSaturating(b);
      assert.ok(a.contains(rest));
      for (const e of rest.entries()) if (e.kind === 'scalar') assert.ok(e.millis > 0);
      for (const name of rest.names()) assert.ok(rest.scalar(name) >= 0);
    }),
  );
});

props('ranges are kept merged, sorted and non-adjacent', () => {
  fc.assert(
    fc.property(resources, resources, (a, b) => {
      for (const r of [a, a.subtractSaturating(b)]) {
        for (const e of r.entries()) {
          if (e.kind !== 'ranges') continue;
          for (let i = 0; i < e.ranges.length; i++) {
            const [lo, hi] = e.ranges[i]!;
            assert.ok(lo <= hi);
            if (i > 0) assert.ok(lo > e.ranges[i - 1]![1] + 1, `not merged: ${r}`);
          }
        }
      }
    }),
  );
});

props.run();
