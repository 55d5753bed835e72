/**
 * Persistent volume planning (CREATE / DESTROY) and the checkpointed form of
 * an agent's reservations and volumes: every refusal has its own code and
 * changes nothing; a volume lives inside its dynamic reservation, or apart on
 * statically reserved disk; the checkpoint round-trips.
 */
import { type AgoraError, makeReservation, parseResources, Resources } from '@agora/common';
import { agora, type Resource } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fromCheckpointed, toCheckpointed } from '../../src/reservations/checkpointed.js';
import type { DynamicReservation } from '../../src/reservations/ledger.js';
import { parseVolumes, planCreate, planDestroy, type VolumeState, volumesOf } from '../../src/reservations/volumes.js';

const test = suite('persistent volumes: CREATE / DESTROY planning and the checkpoint');
const { SCALAR } = agora.v1.Value.Type;
const { DYNAMIC, STATIC } = agora.v1.Resource.ReservationInfo.Type;

const LABELS = [{ key: 'k', value: 'v' }];

function vol(id: string, size: number, role = 'db', path = 'data', labelled = false): agora.v1.Resource.$Properties {
  return {
    name: 'disk',
    type: SCALAR,
    scalar: { value: size },
    reservations: [{ type: DYNAMIC, role, ...(labelled ? { principal: 'ops', labels: { labels: LABELS } } : {}) }],
    disk: { persistence: { id }, volume: { container_path: path, mode: 1 } },
  };
}

function volumes(...list: agora.v1.Resource.$Properties[]): Resources {
  return parseVolumes(list as agora.v1.Resource[], 'create');
}

/** An agent with static `disk(db):50`, and `cpus(db):1;disk(db):100` reserved dynamically. */
function state(): VolumeState {
  const part: DynamicReservation = {
    role: 'db',
    principal: undefined,
    labels: [],
    resources: parseResources('cpus(db):1;disk(db):100'),
  };
  return { parts: [part], staticVolumes: Resources.empty(), total: parseResources('cpus:3;cpus(db):1;disk(db):150') };
}

/** The same, the dynamic reservation made by 'ops' with labels k=v (part of the resources' identity). */
function labelledState(): VolumeState {
  const resources = parseResources('cpus(db):1;disk(db):100').withReservation(makeReservation('ops', LABELS));
  const part: DynamicReservation = { role: 'db', principal: 'ops', labels: LABELS, resources };
  return {
    parts: [part],
    staticVolumes: Resources.empty(),
    total: parseResources('cpus:3;disk(db):50').add(resources),
  };
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as AgoraError).code;
  }
  return 'no error';
}

test('CREATE on dynamically reserved disk puts the volume inside the reservation', () => {
  const s = state();
  const plan = planCreate('a1', s, volumes(vol('v1', 64)), s.total);
  assert.is(plan.state.parts[0]?.resources.toString(), 'cpus(db):1;disk(db):36;disk(db)[v1:data:rw]:64');
  assert.is(plan.state.total.toString(), 'cpus:3;cpus(db):1;disk(db):86;disk(db)[v1:data:rw]:64');
  assert.is(plan.available.toString(), plan.state.total.toString());
  assert.ok(plan.state.staticVolumes.isEmpty());
  assert.is(s.parts[0]?.resources.toString(), 'cpus(db):1;disk(db):100', 'the input state is not changed');
});

test('CREATE on statically reserved disk keeps the volume apart from the reservations', () => {
  const s = state();
  const dyn = planCreate('a1', s, volumes(vol('v1', 100)), s.total);
  const plan = planCreate('a1', dyn.state, volumes(vol('v2', 50, 'db', 'logs')), dyn.available);
  assert.is(plan.state.staticVolumes.toString(), 'disk(db)[v2:logs:rw]:50');
  assert.is(volumesOf(plan.state).volumeList().length, 2);
  assert.is(plan.state.total.withoutVolumes().toString(), 'cpus:3;cpus(db):1');
});

test('every bad CREATE is refused with its code', () => {
  const s = state();
  const made = planCreate('a1', s, volumes(vol('v1', 10)), s.total);
  const cases: Array<[string, () => unknown]> = [
    ['AGORA_ERR_VOLUME_EXISTS', () => planCreate('a1', made.state, volumes(vol('v1', 10, 'db', 'x')), made.available)],
    ['AGORA_ERR_VOLUME_EXISTS', () => volumes(vol('v2', 1), vol('v2', 1, 'db', 'y'))],
    ['AGORA_ERR_INVALID_OPERATION', () => planCreate('a1', s, volumes(vol('v1', 500)), s.total)],
    ['AGORA_ERR_INVALID_OPERATION', () => planCreate('a1', s, volumes(vol('v1', 10)), parseResources('cpus:1'))],
    ['AGORA_ERR_INVALID_VOLUME', () => planCreate('a1', s, volumes(vol('v1', 120)), s.total)],
    ['AGORA_ERR_INVALID_VOLUME', () => volumes({ ...vol('v1', 1), reservations: [], role: '*' })],
    ['AGORA_ERR_INVALID_VOLUME', () => volumes({ ...vol('v1', 1), disk: { persistence: { id: 'v1' } } })],
    ['AGORA_ERR_INVALID_VOLUME', () => volumes({ ...vol('v1', 1), name: 'mem' })],
    ['AGORA_ERR_INVALID_VOLUME', () => volumes(vol('v1', 1, 'db', '/abs'))],
    ['AGORA_ERR_INVALID_VOLUME', () => parseVolumes([], 'create')],
    [
      'AGORA_ERR_INVALID_VOLUME',
      () =>
        planCreate(
          'a1',
          s,
          volumes({
            ...vol('v1', 1),
            disk: { persistence: { id: 'v1', principal: 'eve' }, volume: vol('v1', 1).disk!.volume! },
          }),
          s.total,
          { framework: 'ops' },
        ),
    ],
  ];
  for (const [expected, fn] of cases) assert.is(code(fn), expected);
});

test('DESTROY turns the volume back into reserved disk; refused when unknown, in use or not available', () => {
  const s = state();
  const made = planCreate('a1', s, volumes(vol('v1', 64)), s.total);
  const v1 = volumes(vol('v1', 64));
  assert.is(
    code(() => planDestroy('a1', made.state, v1, made.available, v1)),
    'AGORA_ERR_VOLUME_IN_USE',
  );
  assert.is(
    code(() => planDestroy('a1', made.state, volumes(vol('v9', 64)), made.available, Resources.empty())),
    'AGORA_ERR_UNKNOWN_VOLUME',
  );
  assert.is(
    code(() => planDestroy('a1', made.state, volumes(vol('v1', 32)), made.available, Resources.empty())),
    'AGORA_ERR_UNKNOWN_VOLUME',
    'a different size is not that volume',
  );
  assert.is(
    code(() => planDestroy('a1', made.state, v1, parseResources('cpus:1'), Resources.empty())),
    'AGORA_ERR_INVALID_OPERATION',
  );
  const gone = planDestroy('a1', made.state, v1, made.available, Resources.empty());
  assert.is(gone.state.parts[0]?.resources.toString(), 'cpus(db):1;disk(db):100');
  assert.ok(gone.state.total.equals(s.total));
});

test('CREATE on a labelled reservation must name its principal and labels', () => {
  const s = labelledState();
  assert.is(
    code(() => planCreate('a1', s, volumes(vol('v1', 100)), s.total)),
    'AGORA_ERR_INVALID_OPERATION',
  );
  const plan = planCreate('a1', s, volumes(vol('v1', 100, 'db', 'data', true)), s.total);
  assert.is(plan.state.parts[0]?.resources.toString(), 'cpus(db, ops, {k: v}):1;disk(db, ops, {k: v})[v1:data:rw]:100');
  assert.ok(plan.state.staticVolumes.isEmpty());
  // DESTROY names it the same way; a volume without the labels is not that volume.
  assert.is(
    code(() => planDestroy('a1', plan.state, volumes(vol('v1', 100)), plan.available, Resources.empty())),
    'AGORA_ERR_UNKNOWN_VOLUME',
  );
  const gone = planDestroy(
    'a1',
    plan.state,
    volumes(vol('v1', 100, 'db', 'data', true)),
    plan.available,
    Resources.empty(),
  );
  assert.ok(gone.state.total.equals(s.total));
});

test('the checkpoint carries DYNAMIC reservations with principal and labels, STATIC volumes, and round-trips', () => {
  const s = labelledState();
  const dyn = planCreate('a1', s, volumes(vol('v1', 100, 'db', 'data', true)), s.total);
  const plan = planCreate('a1', dyn.state, volumes(vol('v2', 50, 'db', 'logs')), dyn.available);
  const list = toCheckpointed(plan.state.parts, plan.state.staticVolumes);
  assert.equal(
    list.map((r) => [
      r.name,
      r.reservations?.[0]?.type,
      r.reservations?.[0]?.principal ?? null,
      r.disk?.persistence?.id ?? null,
    ]),
    [
      ['cpus', DYNAMIC, 'ops', null],
      ['disk', DYNAMIC, 'ops', 'v1'],
      ['disk', STATIC, null, 'v2'],
    ],
  );
  const wire = list.map((r) => agora.v1.Resource.decode(agora.v1.Resource.encode(r).finish()));
  const back = fromCheckpointed(wire);
  assert.equal(back.ignored, []);
  assert.is(back.parts.length, 1);
  assert.is(back.parts[0]?.principal, 'ops');
  assert.equal(back.parts[0]?.labels, [{ key: 'k', value: 'v' }]);
  assert.ok(back.parts[0]?.resources.equals(plan.state.parts[0]!.resources));
  assert.ok(back.staticVolumes.equals(plan.state.staticVolumes));
});

test('bad checkpointed entries are ignored and listed', () => {
  const list: Resource[] = [
    { name: 'cpus', type: SCALAR, scalar: { value: 1 }, role: '*' },
    { name: 'cpus', type: SCALAR, scalar: { value: -1 }, reservations: [{ type: DYNAMIC, role: 'db' }] },
    { name: 'disk', type: SCALAR, scalar: { value: 5 }, reservations: [{ type: STATIC, role: 'db' }] },
    { name: 'mem', type: SCALAR, scalar: { value: 5 }, reservations: [{ type: DYNAMIC, role: 'db' }] },
  ];
  const back = fromCheckpointed(list);
  assert.is(back.ignored.length, 3);
  assert.is(back.parts[0]?.resources.toString(), 'mem(db):5');
});

test.run();
