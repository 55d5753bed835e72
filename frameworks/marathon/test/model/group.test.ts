/** Group bodies: relative ids, children only, scaleBy/version special forms, dependency cycles. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { findDependencyCycle, groupsOf, parseGroupUpdate, resolveId } from '../../src/model/group.js';

const test = suite('groups - parsing group updates');

test('relative ids resolve against the parent, .. included', () => {
  assert.is(resolveId('db', '/shop'), '/shop/db');
  assert.is(resolveId('../x', '/shop/web'), '/shop/x');
  assert.is(resolveId('/abs', '/shop'), '/abs');
  const r = parseGroupUpdate(
    { id: 'shop', groups: [{ id: 'web', dependencies: ['../db'], apps: [{ id: 'a', cmd: 'x' }] }] },
    '/',
  );
  assert.ok(r.ok);
  if (!r.ok || r.update.kind !== 'tree') return;
  const ids = groupsOf(r.update.root).map((g) => g.id);
  assert.equal(ids, ['/shop', '/shop/web']);
  const web = groupsOf(r.update.root)[1]!;
  assert.equal(web.dependencies, ['/shop/db']);
  assert.is(web.apps?.[0]?.spec.id, '/shop/web/a');
});

test('only scaleBy, or a version, are the special forms (version wins)', () => {
  const s = parseGroupUpdate({ scaleBy: 2 }, '/g');
  assert.equal(s.ok && s.update, { kind: 'scale', id: '/g', scaleBy: 2 });
  const v = parseGroupUpdate({ version: '2020-01-01T00:00:00.000Z', scaleBy: 2 }, '/g');
  assert.equal(v.ok && v.update, { kind: 'rollback', id: '/g', version: '2020-01-01T00:00:00.000Z' });
});

test('invalid apps inside groups report nested paths', () => {
  const r = parseGroupUpdate({ id: 'g', groups: [{ id: 'h', apps: [{ id: 'a', cmd: 'x', args: ['y'] }] }] }, '/');
  assert.not.ok(r.ok);
  if (r.ok) return;
  assert.equal(
    r.violations.map((v) => v.path),
    ['/groups(0)/apps(0)'],
  );
  const t = parseGroupUpdate({ id: 'g', apps: [{ id: 'a', cmd: 'x', instances: 'two' }] }, '/');
  assert.not.ok(t.ok);
  if (t.ok) return;
  assert.is(t.kind, 'json');
  assert.equal(t.violations, [{ path: '/apps(0)/instances', errors: ['error.expected.jsnumber'] }]);
  const g = parseGroupUpdate({ id: 'g', groups: [{ id: '/elsewhere/h' }] }, '/');
  assert.not.ok(g.ok);
});

test('dependency cycles through apps and groups are found; a DAG is not', () => {
  assert.is(
    findDependencyCycle(
      [
        { id: '/a', dependencies: ['/b'] },
        { id: '/b', dependencies: [] },
      ],
      [],
    ),
    undefined,
  );
  assert.ok(
    findDependencyCycle(
      [
        { id: '/a', dependencies: ['/b'] },
        { id: '/b', dependencies: ['/a'] },
      ],
      [],
    ),
  );
  const viaGroups = findDependencyCycle(
    [
      { id: '/g1/a', dependencies: [] },
      { id: '/g2/b', dependencies: [] },
    ],
    [
      { id: '/g1', dependencies: ['/g2'] },
      { id: '/g2', dependencies: ['/g1'] },
    ],
  );
  assert.ok(viaGroups);
  assert.is(
    findDependencyCycle([{ id: '/g1/a', dependencies: ['/g1'] }], [{ id: '/g1', dependencies: [] }]),
    undefined,
  );
});

test.run();
