/**
 * Persistent volumes in the resource algebra: a disk resource with
 * `disk.persistence` + `disk.volume` is its own identity — never merged with
 * plain disk or with another volume — and the text / proto forms show it as
 * Mesos does.
 */
import { hasErrorCode, parseResources, Resources } from '@agora/common';
import fc from 'fast-check';
import { agora } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const test = suite('resources: persistent volumes are their own identity');
const { SCALAR } = agora.v1.Value.Type;

function volume(id: string, size: number, role = 'db', path = 'data', mode = 1): agora.v1.Resource.$Properties {
  return {
    name: 'disk',
    type: SCALAR,
    scalar: { value: size },
    role,
    disk: { persistence: { id, principal: 'ops' }, volume: { container_path: path, mode } },
  };
}

test('a volume is not merged with plain disk of the same role, nor with another volume', () => {
  const r = Resources.fromProto([
    { name: 'disk', type: SCALAR, scalar: { value: 100 }, role: 'db' },
    volume('v1', 64),
    volume('v2', 32, 'db', 'logs'),
  ]);
  assert.is(r.toProto().length, 3);
  assert.is(r.scalar('disk'), 196);
  assert.is(r.volumes().scalar('disk'), 96);
  assert.is(r.withoutVolumes().toString(), 'disk(db):100');
  assert.is(r.toString(), 'disk(db):100;disk(db)[v1:data:rw]:64;disk(db)[v2:logs:rw]:32');
});

test('contains and subtract respect the identity: plain disk does not cover a volume', () => {
  const plain = parseResources('disk(db):64');
  const vol = Resources.fromProto([volume('v1', 64)]);
  assert.not.ok(plain.contains(vol));
  assert.not.ok(vol.contains(plain));
  assert.ok(vol.contains(vol));
  assert.not.ok(vol.contains(Resources.fromProto([volume('v2', 64)])), 'another id is another volume');
  assert.not.ok(vol.contains(Resources.fromProto([volume('v1', 64, 'db', 'other')])), 'another path differs');
  assert.throws(
    () => plain.subtract(vol),
    (e: unknown) => hasErrorCode(e, 'AGORA_ERR_BAD_RESOURCES'),
  );
  assert.is(plain.add(vol).subtract(vol).toString(), 'disk(db):64');
  assert.is(plain.add(vol).subtractSaturating(plain).toString(), 'disk(db)[v1:data:rw]:64');
  const half = Resources.fromProto([volume('v1', 32)]);
  assert.not.ok(vol.contains(half), 'a volume is whole: part of it is not contained');
  assert.ok(vol.subtractSaturating(half).equals(vol), 'nor can part of it be taken away');
});

test('withoutVolumeInfo and withVolume convert between plain disk and a volume', () => {
  const vol = Resources.fromProto([volume('v1', 64)]);
  assert.is(vol.withoutVolumeInfo().toString(), 'disk(db):64');
  const back = parseResources('disk(db):64').withVolume(vol.volumeList()[0]!.volume);
  assert.ok(back.equals(vol));
  assert.throws(() => parseResources('cpus(db):1').withVolume(vol.volumeList()[0]!.volume));
});

test('the proto form keeps disk.persistence and disk.volume (mode RO)', () => {
  const vol = Resources.fromProto([volume('v1', 64, 'db', 'data', 2)]);
  const [p] = vol.toProto();
  assert.equal(p?.disk, {
    persistence: { id: 'v1', principal: 'ops' },
    volume: { container_path: 'data', mode: 2 },
  });
  assert.is(vol.toString(), 'disk(db)[v1:data:ro]:64');
  const list = vol.volumeList();
  assert.equal(
    list.map((v) => [v.role, v.volume.id, v.volume.mode, v.size]),
    [['db', 'v1', 'RO', 64]],
  );
});

test("Mesos' JSON model shows disk.persistence.id, disk.volume.container_path and mode", () => {
  const vol = Resources.fromProto([volume('v1', 64, 'db', 'data', 2)]);
  assert.equal(vol.toMesosJsonList(), [
    {
      name: 'disk',
      role: 'db',
      type: 'SCALAR',
      scalar: { value: 64 },
      disk: { persistence: { id: 'v1', principal: 'ops' }, volume: { container_path: 'data', mode: 'RO' } },
    },
  ]);
  assert.equal(parseResources('ports(db):[1-2]').toMesosJsonList(), [
    { name: 'ports', role: 'db', type: 'RANGES', ranges: { range: [{ begin: 1, end: 2 }] } },
  ]);
});

test('the text form parses back: disk(role)[id:path(:ro)]:size', () => {
  const r = parseResources('cpus:1;disk(db)[v1:data]:64;disk(db)[v2:a/b:ro]:8;disk(db):10');
  assert.is(r.toString(), 'cpus:1;disk(db):10;disk(db)[v1:data:rw]:64;disk(db)[v2:a/b:ro]:8');
  assert.ok(parseResources(r.toString()).equals(r));
  for (const bad of ['disk[v1:data]:64', 'disk(db)[v1]:64', 'disk(db)[v1:/abs]:64', 'disk(db)[v1:data:xx]:64']) {
    assert.throws(
      () => parseResources(bad),
      (e: unknown) => hasErrorCode(e, 'AGORA_ERR_BAD_RESOURCES'),
      bad,
    );
  }
});

test('bad volumes are refused: unreserved, no volume, not disk, bad id or path, twice', () => {
  const bad: Array<[string, agora.v1.Resource.$Properties[]]> = [
    ['unreserved', [volume('v1', 1, '*')]],
    ['no volume', [{ ...volume('v1', 1), disk: { persistence: { id: 'v1' } } }]],
    ['no persistence', [{ ...volume('v1', 1), disk: { volume: { container_path: 'x', mode: 1 } } }]],
    ['not disk', [{ ...volume('v1', 1), name: 'mem' }]],
    ['bad id', [volume('../x', 1)]],
    ['absolute path', [volume('v1', 1, 'db', '/data')]],
    ['dotdot path', [volume('v1', 1, 'db', 'a/../../x')]],
    [
      'host path',
      [
        {
          ...volume('v1', 1),
          disk: { persistence: { id: 'v1' }, volume: { container_path: 'x', mode: 1, host_path: '/tmp' } },
        },
      ],
    ],
    ['listed twice', [volume('v1', 1), volume('v1', 1)]],
  ];
  for (const [why, list] of bad) {
    assert.throws(
      () => Resources.fromProto(list),
      (e: unknown) => hasErrorCode(e, 'AGORA_ERR_BAD_RESOURCES'),
      why,
    );
  }
});

test('reservedFor and allocatableTo keep volumes with their role', () => {
  const r = Resources.fromProto([volume('v1', 64), { name: 'disk', type: SCALAR, scalar: { value: 5 }, role: '*' }]);
  assert.is(r.allocatableTo('db').toString(), 'disk:5;disk(db)[v1:data:rw]:64');
  assert.is(r.allocatableTo('web').toString(), 'disk:5');
  assert.is(r.reservedFor('db').volumes().volumeList().length, 1);
});

test('property: volumes and plain disk never mix — (a + v) - v = a, and only a whole volume is contained', () => {
  const plainDisk = fc
    .tuple(fc.constantFrom('*', 'db', 'web'), fc.integer({ min: 1, max: 1000 }))
    .map(([role, size]) => parseResources(`disk${role === '*' ? '' : `(${role})`}:${size}`));
  const aVolume = fc
    .tuple(fc.constantFrom('v1', 'v2', 'v3'), fc.constantFrom('db', 'web'), fc.integer({ min: 1, max: 1000 }))
    .map(([id, role, size]) => Resources.fromProto([volume(id, size, role)]));
  fc.assert(
    fc.property(fc.array(plainDisk, { maxLength: 4 }), aVolume, (plains, v) => {
      const a = plains.reduce((acc, p) => acc.add(p), Resources.empty());
      if (a.contains(v)) return false; // plain disk never contains a volume
      const sum = a.add(v);
      if (!sum.subtract(v).equals(a)) return false;
      if (!sum.volumes().equals(v) || !sum.withoutVolumes().equals(a)) return false;
      const half = v.withoutVolumeInfo().scalar('disk') / 2;
      const part = Resources.fromProto([volume(v.volumeList()[0]!.volume.id, half, v.roles()[0]!)]);
      return !sum.contains(part) || half === v.scalar('disk');
    }),
    { numRuns: 300 },
  );
});

test.run();
