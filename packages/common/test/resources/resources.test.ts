import { ValueType } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  formatResources,
  hasErrorCode,
  parseResources,
  pickPorts,
  rangesResource,
  Resources,
  scalarResource,
} from '../../src/index.js';

function throwsCode(fn: () => unknown, code: string, part?: string): void {
  try {
    fn();
  } catch (err) {
    assert.ok(hasErrorCode(err, code as never), `expected ${code}, got ${String(err)}`);
    if (part !== undefined)
      assert.ok((err as Error).message.includes(part), `message '${(err as Error).message}' names '${part}'`);
    return;
  }
  assert.unreachable(`expected ${code}`);
}

const text = suite('resource text syntax');

text('parses the Mesos example and formats it back', () => {
  const r = parseResources('cpus:24;mem:24576;ports:[21000-24000,30000-34000];bugs(role):{a,b,c}');
  assert.is(r.scalar('cpus'), 24);
  assert.is(r.scalar('mem'), 24576);
  assert.equal(r.ranges('ports'), [
    [21000, 24000],
    [30000, 34000],
  ]);
  assert.equal(r.set('bugs'), ['a', 'b', 'c']);
  assert.is(r.toString(), 'cpus:24;mem:24576;ports:[21000-24000,30000-34000];bugs(role):{a,b,c}');
  assert.is(formatResources(r), r.toString());
});

text('a role in parentheses reserves; the default role applies to the rest', () => {
  const r = parseResources('cpus(web):2;cpus:1;mem:64', 'ops');
  assert.is(r.reservedFor('web').toString(), 'cpus(web):2');
  assert.is(r.reservedFor('ops').toString(), 'cpus(ops):1;mem(ops):64');
  assert.ok(r.unreserved().isEmpty());
  assert.is(parseResources('cpus(*):1').toString(), 'cpus:1');
});

text('whitespace, empty parts and adjacent ranges are accepted; repeated scalars add up', () => {
  const r = parseResources(' cpus : 1 ; ; ports: [ 1-2 , 3-4 ] ; cpus:0.5 ;');
  assert.is(r.toString(), 'cpus:1.5;ports:[1-4]');
  assert.ok(parseResources('').isEmpty());
  assert.ok(parseResources('cpus:0;ports:[];s:{}').isEmpty());
});

text('scalars keep 3 decimals', () => {
  assert.is(parseResources('cpus:0.1;cpus:0.2').scalar('cpus'), 0.3);
  assert.is(parseResources('cpus:0.12345').toString(), 'cpus:0.123');
  assert.is(parseResources('cpus:0.0004').toString(), '');
  assert.is(parseResources('mem:1e3').scalar('mem'), 1000);
});

text('bad text is AGORA_ERR_BAD_RESOURCES naming the bad part', () => {
  const cases: Array<[string, string]> = [
    ['cpus:-1', 'cpus:-1'],
    [':3', ':3'],
    ['cpus', 'cpus'],
    ['cpus:', 'cpus:'],
    ['cpus:abc', 'abc'],
    ['cpus:NaN', 'NaN'],
    ['cpus:Infinity', 'Infinity'],
    ['ports:[1-5,3-8]', '1-5'],
    ['ports:[1-5];ports:[5-6]', 'ports'],
    ['ports:[5-1]', '5-1'],
    ['ports:[a-b]', 'a-b'],
    ['ports:[1-2', 'ports:[1-2'],
    ['s:{a,a}', "'a'"],
    ['s:{a,}', 's:{a,}'],
    ['cpus:1;cpus:[1-2]', 'cpus'],
    ['cpus():1', 'cpus():1'],
    ['cpus(a b):1', 'a b'],
    ['cp us:1', 'cp us'],
  ];
  for (const [bad, part] of cases) throwsCode(() => parseResources(bad), 'AGORA_ERR_BAD_RESOURCES', part);
  throwsCode(() => parseResources('cpus:1', ''), 'AGORA_ERR_BAD_RESOURCES');
});

text('the JSON array form parses like Mesos --resources', () => {
  const r = parseResources(
    '[{"name":"cpus","type":"SCALAR","scalar":{"value":2}},' +
      '{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":1,"end":3}]},"role":"web"}]',
  );
  assert.is(r.toString(), 'cpus:2;ports(web):[1-3]');
  throwsCode(() => parseResources('[{"name":"cpus"'), 'AGORA_ERR_BAD_RESOURCES', 'JSON');
  throwsCode(() => parseResources('[{"name":"cpus","type":"TEXT"}]'), 'AGORA_ERR_BAD_RESOURCES', 'TEXT');
});

text.run();

const algebra = suite('resource algebra');

algebra('add, subtract and contains work per name and role', () => {
  const a = parseResources('cpus:4;mem:1024;ports:[31000-31009];cpus(web):1');
  const b = parseResources('cpus:1.5;ports:[31000-31001]');
  assert.ok(a.contains(b));
  assert.not.ok(b.contains(a));
  const rest = a.subtract(b);
  assert.is(rest.toString(), 'cpus:2.5;cpus(web):1;mem:1024;ports:[31002-31009]');
  assert.ok(rest.add(b).equals(a));
  assert.not.ok(a.contains(parseResources('cpus(web):2')));
  assert.not.ok(a.contains(parseResources('cpus(db):0.1')));
  assert.ok(a.contains(Resources.empty()));
});

algebra('subtract refuses what is not contained; subtractSaturating never goes negative', () => {
  const a = parseResources('cpus:1;ports:[1-5]');
  throwsCode(() => a.subtract(parseResources('cpus:2')), 'AGORA_ERR_BAD_RESOURCES', 'cpus:2');
  throwsCode(() => a.subtract(parseResources('ports:[5-6]')), 'AGORA_ERR_BAD_RESOURCES');
  assert.is(a.subtractSaturating(parseResources('cpus:2;ports:[4-9];mem:5')).toString(), 'ports:[1-3]');
});

algebra('adding resources of another type under the same name is an error', () => {
  throwsCode(() => parseResources('cpus:1').add(parseResources('cpus(web):[1-2]')), 'AGORA_ERR_BAD_RESOURCES', 'cpus');
});

algebra('roles: reservedFor, unreserved, allocatableTo, withRole', () => {
  const r = parseResources('cpus:1;cpus(web):2;cpus(db):4;mem(web):10');
  assert.is(r.scalar('cpus'), 7);
  assert.is(r.unreserved().toString(), 'cpus:1');
  assert.is(r.allocatableTo('web').toString(), 'cpus:1;cpus(web):2;mem(web):10');
  assert.is(r.allocatableTo('*').toString(), 'cpus:1');
  assert.is(r.withRole('x').toString(), 'cpus(x):7;mem(x):10');
  assert.equal(r.roles(), ['*', 'db', 'web']);
  assert.equal(r.names(), ['cpus', 'mem']);
});

algebra('toProto is one merged entry per (name, role) and fromProto reads it back', () => {
  const r = parseResources('ports:[3-4];ports:[1-2];cpus:1;cpus(web):1');
  const list = r.toProto();
  assert.equal(list, [
    { name: 'cpus', type: ValueType.SCALAR, scalar: { value: 1 }, role: '*' },
    { name: 'cpus', type: ValueType.SCALAR, scalar: { value: 1 }, role: 'web' },
    { name: 'ports', type: ValueType.RANGES, ranges: { range: [{ begin: 1, end: 4 }] }, role: '*' },
  ]);
  assert.ok(Resources.fromProto(list).equals(r));
});

algebra('fromProto validates and defaults the role', () => {
  assert.is(
    Resources.fromProto([{ name: 'cpus', type: ValueType.SCALAR, scalar: { value: 2 }, role: null }]).toString(),
    'cpus:2',
  );
  assert.is(
    Resources.fromProto([
      { name: 'cpus', type: ValueType.SCALAR, scalar: { value: 2 }, reservations: [{ role: 'a' }, { role: 'a/b' }] },
    ]).toString(),
    'cpus(a/b):2',
  );
  throwsCode(
    () => Resources.fromProto([{ name: '', type: ValueType.SCALAR, scalar: { value: 1 } }]),
    'AGORA_ERR_BAD_RESOURCES',
    'empty',
  );
  throwsCode(
    () => Resources.fromProto([{ name: 'cpus', type: ValueType.SCALAR, scalar: { value: -1 } }]),
    'AGORA_ERR_BAD_RESOURCES',
    'negative',
  );
  throwsCode(() => Resources.fromProto([{ name: 'cpus', type: ValueType.SCALAR }]), 'AGORA_ERR_BAD_RESOURCES', 'cpus');
  throwsCode(
    () =>
      Resources.fromProto([
        {
          name: 'p',
          type: ValueType.RANGES,
          ranges: {
            range: [
              { begin: 1, end: 3 },
              { begin: 2, end: 2 },
            ],
          },
        },
      ]),
    'AGORA_ERR_BAD_RESOURCES',
    'overlapping',
  );
});

algebra('toMesosJson is the /state form', () => {
  assert.equal(parseResources('cpus:2;cpus(web):1;mem:64;ports:[1-2,5-6];s:{b,a}').toMesosJson(), {
    cpus: 3,
    gpus: 0,
    mem: 64,
    disk: 0,
    ports: '[1-2,5-6]',
    s: '{a,b}',
  });
});

algebra('scalarResource and rangesResource build single resources and validate', () => {
  assert.is(scalarResource('cpus', 0.5, 'web').toString(), 'cpus(web):0.5');
  assert.is(
    rangesResource('ports', [
      [5, 6],
      [1, 2],
    ]).toString(),
    'ports:[1-2,5-6]',
  );
  throwsCode(() => scalarResource('cpus', -1), 'AGORA_ERR_BAD_RESOURCES', 'cpus');
  throwsCode(() => scalarResource('', 1), 'AGORA_ERR_BAD_RESOURCES');
  throwsCode(
    () =>
      rangesResource('ports', [
        [1, 3],
        [3, 4],
      ]),
    'AGORA_ERR_BAD_RESOURCES',
    'overlapping',
  );
});

algebra.run();

const ports = suite('pickPorts');

ports('picks the lowest ports first, keeping their roles', () => {
  const r = parseResources('ports:[31000-31001,31005-31005];ports(web):[40000-40009];cpus:1');
  const p = pickPorts(r, 4)!;
  assert.equal(p.ports, [31000, 31001, 31005, 40000]);
  assert.is(p.resources.toString(), 'ports:[31000-31001,31005-31005];ports(web):[40000-40000]');
  assert.ok(r.contains(p.resources));
  assert.equal(pickPorts(r, 0), { ports: [], resources: Resources.empty() });
});

ports('random picks are distinct, inside the ranges, and follow the random source', () => {
  const r = parseResources('ports:[31000-31099]');
  let seed = 7;
  const random = () => {
    seed = (seed * 16807) % 2147483647;
    return (seed - 1) / 2147483646;
  };
  const p = pickPorts(r, 30, random)!;
  assert.is(new Set(p.ports).size, 30);
  for (const port of p.ports) assert.ok(port >= 31000 && port <= 31099);
  assert.ok(r.contains(p.resources));
  assert.is(
    p.resources.ranges('ports').reduce((n, [b, e]) => n + e - b + 1, 0),
    30,
  );
  assert.not.equal(
    p.ports,
    p.ports.slice().sort((a, b) => a - b),
    'random order is not just ascending',
  );
});

ports('too few ports is undefined', () => {
  assert.is(pickPorts(parseResources('ports:[1-2]'), 3), undefined);
  assert.is(pickPorts(parseResources('cpus:1'), 1), undefined);
});

ports.run();
