/**
 * The resident planner and its offer operations: new instances reserve and
 * create their volumes, ended tasks relaunch only on their own reservation,
 * reservations of deleted apps and unknown ones labelled with our framework
 * id are destroyed, and a waiting app names why.
 */
import { parseResources, Resources } from '@agora/common';
import { agora, type Resource } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AppDefinition } from '../../src/model/app-definition.js';
import {
  isResident,
  localVolumesJson,
  MSG_RESIDENT_RESOURCES_CHANGED,
  MSG_RESIDENT_VOLUMES_CHANGED,
  persistenceIdFor,
  persistentVolumesOf,
  type ReservationRecord,
  reservationIdFor,
  residentUpdateErrors,
} from '../../src/model/reservation.js';
import { taskToJson } from '../../src/model/task.js';
import type { OfferView } from '../../src/scheduling/offer-cycle.js';
import { matchOffer } from '../../src/scheduling/offer-matcher.js';
import {
  destroyAndUnreserve,
  launchResources,
  readOfferReservations,
  reserveAndCreate,
} from '../../src/scheduling/resident-operations.js';
import {
  labelledResourcesOf,
  planResidentOffers,
  type ResidentInput,
  type ResidentOffer,
  reservationOf,
} from '../../src/scheduling/resident-planner.js';
import { app as appOf, task } from './fixtures.js';

const FW = 'fw-1';
const DYNAMIC = agora.v1.Resource.ReservationInfo.Type.DYNAMIC;
const OpType = agora.v1.Offer.Operation.Type;

function resident(fields: Record<string, unknown> = {}): AppDefinition {
  return appOf({
    id: '/db',
    cpus: 0.5,
    mem: 64,
    role: 'db',
    portDefinitions: [],
    container: { type: 'MESOS', volumes: [{ containerPath: 'data', mode: 'RW', persistent: { size: 100 } }] },
    ...fields,
  });
}

function record(fields: Partial<ReservationRecord> = {}): ReservationRecord {
  const uuid = fields.uuid ?? '11111111-1111-1111-1111-111111111111';
  return {
    id: reservationIdFor('/db', uuid),
    appId: '/db',
    uuid,
    incarnation: 1,
    agentId: 'agent-1',
    hostname: 'host-1',
    role: 'db',
    resources: 'cpus(db):0.5;mem(db):64',
    hostPorts: [],
    volumes: [{ containerPath: 'data', persistenceId: persistenceIdFor('/db', 'data', uuid), size: 100 }],
    createdAt: '2024-01-01T00:00:00.000Z',
    confirmed: true,
    ...fields,
  };
}

function labels(reservationId: string, frameworkId = FW) {
  return {
    labels: [
      { key: 'marathon_framework_id', value: frameworkId },
      { key: 'marathon_task_id', value: reservationId },
    ],
  };
}

function volumeProto(id: string, size: number, lbl?: ReturnType<typeof labels>): Resource {
  return {
    name: 'disk',
    type: agora.v1.Value.Type.SCALAR,
    scalar: { value: size },
    reservations: [{ type: DYNAMIC, role: 'db', ...(lbl === undefined ? {} : { labels: lbl }) }],
    disk: { persistence: { id }, volume: { container_path: 'data', mode: agora.v1.Volume.Mode.RW } },
  } as Resource;
}

/** An offer from `agentId`: unreserved `text` plus reserved protos. */
function offer(id: string, agentId: string, text: string, reserved: Resource[] = [], host = `host-of-${agentId}`) {
  const protos = [...parseResources(text).toProto(), ...reserved];
  const view: OfferView = { id, agentId, hostname: host, resources: Resources.fromProto(protos), attributes: {} };
  const o: ResidentOffer = { view, ...readOfferReservations(protos) };
  return o;
}

/** The record's reservation as the master offers it: its resources and volumes, with its labels. */
function offered(r: ReservationRecord): Resource[] {
  return [
    ...labelledResourcesOf(r, FW).toProto(),
    ...r.volumes.map((v) => volumeProto(v.persistenceId, v.size, labels(r.id))),
  ] as Resource[];
}

/** A scalar dynamically reserved for 'db', labelled. */
function labelledScalar(name: string, value: number, lbl: ReturnType<typeof labels>): Resource {
  return {
    name,
    type: agora.v1.Value.Type.SCALAR,
    scalar: { value },
    reservations: [{ type: DYNAMIC, role: 'db', labels: lbl }],
  } as Resource;
}

function input(fields: Partial<ResidentInput>): ResidentInput {
  return {
    offers: [],
    demand: [],
    reservations: [],
    busy: new Set(),
    appExists: () => true,
    frameworkId: FW,
    ...fields,
  };
}

const model = suite('resident apps: model');

model('persistent volumes make an app resident; persistence ids are Marathon’s', () => {
  const a = resident();
  assert.ok(isResident(a));
  assert.not.ok(isResident(appOf({ id: '/plain' })));
  assert.equal(persistentVolumesOf(a), [{ containerPath: 'data', size: 100 }]);
  assert.is(persistenceIdFor('/group/db', 'data', 'u-1'), 'group_db#data#u-1');
  assert.is(reservationIdFor('/group/db', 'u-1'), 'group_db.instance-u-1');
  const r = record();
  const json = taskToJson(task('/db', { localVolumes: localVolumesJson(r.volumes) as never }));
  assert.equal(json['localVolumes'], [{ containerPath: 'data', persistenceId: r.volumes[0]!.persistenceId }]);
  assert.equal(taskToJson(task('/plain'))['localVolumes'], []);
});

model('a resident app may not change its volumes, resources or host ports (Marathon’s messages)', () => {
  const a = resident();
  assert.equal(residentUpdateErrors(a, resident({ instances: 3, cmd: 'other' })), []);
  assert.equal(residentUpdateErrors(a, resident({ cpus: 1 })), [MSG_RESIDENT_RESOURCES_CHANGED]);
  assert.equal(residentUpdateErrors(a, resident({ portDefinitions: [{ port: 0 }] })), [MSG_RESIDENT_RESOURCES_CHANGED]);
  const bigger = resident({
    container: { type: 'MESOS', volumes: [{ containerPath: 'data', mode: 'RW', persistent: { size: 200 } }] },
  });
  assert.equal(residentUpdateErrors(a, bigger), [MSG_RESIDENT_VOLUMES_CHANGED]);
  assert.equal(residentUpdateErrors(appOf({ id: '/plain' }), appOf({ id: '/plain', cpus: 3 })), []);
});

const planner = suite('resident planner');

planner('a new instance reserves its resources plus its volumes’ disk from unreserved resources', () => {
  const a = resident();
  const plan = planResidentOffers(
    input({ offers: [offer('o1', 'agent-1', 'cpus:2;mem:512;disk:1000')], demand: [{ app: a, count: 1, placed: [] }] }),
  );
  assert.is(plan.actions.length, 1);
  const action = plan.actions[0]!;
  if (action.kind !== 'reserve') throw new Error(action.kind);
  assert.is(action.instance.resources.toString(), 'cpus:0.5;mem:64;disk:100');
  assert.is(reservationOf(action.instance, 'db', 100).toString(), 'cpus(db):0.5;mem(db):64');
  assert.equal([...plan.used], ['o1']);
});

planner('an app in role * cannot reserve: it waits with UNFULFILLED_ROLE', () => {
  const a = resident({ role: '*' });
  const plan = planResidentOffers(
    input({ offers: [offer('o1', 'agent-1', 'cpus:2;mem:512;disk:1000')], demand: [{ app: a, count: 1, placed: [] }] }),
  );
  assert.equal(plan.actions, []);
  assert.equal(plan.refusals, [{ appId: '/db', offerId: 'o1', reason: 'UNFULFILLED_ROLE' }]);
});

planner('a too small offer is refused with the matcher’s reason (volume disk included)', () => {
  const plan = planResidentOffers(
    input({
      offers: [offer('o1', 'agent-1', 'cpus:2;mem:512;disk:50')],
      demand: [{ app: resident(), count: 1, placed: [] }],
    }),
  );
  assert.equal(
    plan.refusals.map((r) => r.reason),
    ['INSUFFICIENT_DISK'],
  );
});

planner('an ended task relaunches only on the agent holding its reservation and volume', () => {
  const r = record();
  const reserved = offered(r);
  const plan = planResidentOffers(
    input({
      offers: [offer('other', 'agent-2', 'cpus:8;mem:4096;disk:4000'), offer('own', 'agent-1', 'cpus:1', reserved)],
      demand: [{ app: resident(), count: 1, placed: [] }],
      reservations: [r],
    }),
  );
  assert.equal(
    plan.refusals.map((x) => [x.offerId, x.reason]),
    [['other', 'NO_CORRESPONDING_RESERVATION_FOUND']],
  );
  assert.equal(
    plan.actions.map((a) => [a.kind, a.kind === 'forget' ? '' : a.offerId]),
    [['relaunch', 'own']],
  );
});

planner('a reservation whose volume is not offered (its task still runs) is not relaunched', () => {
  const r = record();
  const plan = planResidentOffers(
    input({
      offers: [offer('own', 'agent-1', 'cpus:1;mem:100;disk:500', labelledResourcesOf(r, FW).toProto() as Resource[])],
      demand: [{ app: resident(), count: 1, placed: [] }],
      reservations: [r],
    }),
  );
  assert.equal(plan.actions, []);
  assert.equal(plan.refusals[0]?.reason, 'NO_CORRESPONDING_RESERVATION_FOUND');
});

planner('reservations kept after a scale-down are reused before anything new is reserved', () => {
  const a = resident({ instances: 1 });
  const r1 = record({ uuid: '11111111-1111-1111-1111-111111111111' });
  const r2 = record({ uuid: '22222222-2222-2222-2222-222222222222', agentId: 'agent-2' });
  const own = offered(r2);
  const plan = planResidentOffers(
    input({
      offers: [offer('o2', 'agent-2', 'cpus:4;mem:1024;disk:1000', own)],
      demand: [{ app: a, count: 1, placed: [] }],
      reservations: [r1, r2],
    }),
  );
  assert.equal(
    plan.actions.map((x) => (x.kind === 'relaunch' ? x.reservation.id : x.kind)),
    [r2.id],
  );
});

planner('the reservation of a deleted app is destroyed and unreserved; one whose volume is gone is forgotten', () => {
  const r = record();
  const reserved = offered(r);
  const gone = planResidentOffers(
    input({ offers: [offer('o1', 'agent-1', 'cpus:1', reserved)], reservations: [r], appExists: () => false }),
  );
  const d = gone.actions[0]!;
  if (d.kind !== 'destroy') throw new Error(d.kind);
  assert.is(d.reservation?.id, r.id);
  assert.is(d.volumes.volumeList()[0]?.volume.id, r.volumes[0]!.persistenceId);
  assert.is(d.unreserve.withReservation(undefined).toString(), 'cpus(db):0.5;mem(db):64;disk(db):100');
  const ops = destroyAndUnreserve(d.volumes, d.unreserve);
  assert.equal(
    ops.map((o) => o.type),
    [OpType.DESTROY, OpType.UNRESERVE],
  );
  for (const x of [...(ops[0]!.destroy!.volumes as Resource[]), ...(ops[1]!.unreserve!.resources as Resource[])]) {
    assert.equal(x.reservations?.[0]?.labels, labels(r.id), 'DESTROY and UNRESERVE name the labelled reservation');
  }

  const busy = planResidentOffers(
    input({
      offers: [offer('o1', 'agent-1', 'cpus:1', reserved)],
      reservations: [r],
      appExists: () => false,
      busy: new Set([r.id]),
    }),
  );
  assert.equal(busy.actions, [], 'its task still runs: wait');

  const forgotten = planResidentOffers(
    input({ offers: [offer('o1', 'agent-1', 'cpus:1')], reservations: [r], appExists: () => false }),
  );
  assert.equal(
    forgotten.actions.map((a) => a.kind),
    ['forget'],
  );
  assert.equal([...forgotten.used], [], 'forgetting uses no offer');
});

planner('a wiped reservation is destroyed once its task is gone and no longer counts: a new one is reserved', () => {
  const r = record({ wipe: true });
  const reserved = offered(r);
  const plan = planResidentOffers(
    input({
      offers: [offer('o1', 'agent-1', 'cpus:4;mem:1024;disk:1000', reserved)],
      demand: [{ app: resident(), count: 1, placed: [] }],
      reservations: [r],
    }),
  );
  assert.equal(
    plan.actions.map((a) => a.kind),
    ['destroy', 'reserve'],
  );
});

planner('unknown volumes and reservations labelled with our framework id are destroyed; others are left alone', () => {
  const ours = volumeProto('x#data#1', 10, labels('x.instance-1'));
  const theirs = volumeProto('y#data#2', 10, labels('y.instance-2', 'other-fw'));
  const plain = volumeProto('z', 10);
  const cpus = labelledScalar('cpus', 0.25, labels('x.instance-1'));
  const known = record();
  const knownCpus = labelledScalar('mem', 16, labels(known.id));
  const plan = planResidentOffers(
    input({
      offers: [offer('o1', 'agent-9', 'cpus:1', [ours, theirs, plain, cpus, knownCpus])],
      reservations: [known],
    }),
  );
  const destroyed = plan.actions.map((a) =>
    a.kind === 'destroy'
      ? `${a.volumes
          .volumeList()
          .map((v) => v.volume.id)
          .join(',')}|${a.unreserve}`
      : a.kind,
  );
  const x = '{marathon_framework_id: fw-1, marathon_task_id: x.instance-1}';
  assert.equal(destroyed, [`x#data#1|disk(db, ${x}):10`, `|cpus(db, ${x}):0.25`]);
});

planner(
  'several instances’ reservations on one agent: each relaunches on its own; an unknown one is cleaned up',
  () => {
    const a = resident({ instances: 2 });
    const r1 = record({ uuid: '11111111-1111-1111-1111-111111111111', incarnation: 1 });
    const r2 = record({ uuid: '22222222-2222-2222-2222-222222222222', incarnation: 1 });
    const stray = record({ uuid: '33333333-3333-3333-3333-333333333333' });
    // r1's task still runs (its volume and resources are not offered); r2's ended; `stray` is known to no record.
    const reserved = [...offered(r2), ...offered(stray), ...parseResources('cpus(db):0.5;mem(db):64').toProto()];
    const plan = planResidentOffers(
      input({
        offers: [offer('o1', 'agent-1', 'cpus:1', reserved as Resource[])],
        demand: [{ app: a, count: 1, placed: [] }],
        reservations: [r1, r2],
        busy: new Set([r1.id]),
      }),
    );
    const summary = plan.actions.map((x) =>
      x.kind === 'relaunch'
        ? `relaunch ${x.reservation.id}`
        : x.kind === 'destroy'
          ? `destroy ${x.volumes.volumeList().map((v) => v.volume.id)} ${x.unreserve.byReservation().length}`
          : x.kind,
    );
    assert.equal(summary, [
      `destroy ${stray.volumes[0]!.persistenceId} 1`,
      'destroy  1',
      'destroy  1',
      `relaunch ${r2.id}`,
    ]);
    const unreserved = plan.actions
      .slice(1, 3)
      .reduce((acc, x) => (x.kind === 'destroy' ? acc.add(x.unreserve) : acc), Resources.empty());
    assert.ok(unreserved.equals(labelledResourcesOf(stray, FW)), 'exactly the stray reservation is unreserved');

    // Role-only reserved resources (no labels) are not r2's: without its own labelled resources it does not relaunch.
    const unlabelled = [...parseResources('cpus(db):0.5;mem(db):64').toProto(), ...offered(r2).slice(2)];
    const none = planResidentOffers(
      input({
        offers: [offer('o1', 'agent-1', 'cpus:1', unlabelled as Resource[])],
        demand: [{ app: a, count: 1, placed: [] }],
        reservations: [r1, r2],
        busy: new Set([r1.id]),
      }),
    );
    assert.not.ok(none.actions.some((x) => x.kind === 'relaunch'));
  },
);

planner('an ordinary app of the role does not take a labelled reservation (and does not fail on one)', () => {
  const r = record();
  const view = offer('o1', 'agent-1', 'cpus:1;mem:512', [
    ...offered(r),
    ...parseResources('cpus(db):0.25').toProto(),
  ] as Resource[]).view;
  const plain = appOf({ id: '/web', cpus: 1.25, mem: 32, role: 'db', portDefinitions: [] });
  const result = matchOffer(plain, 1, view.resources);
  assert.equal(
    result.launches.map((l) => l.resources.toString()),
    ['cpus:1;cpus(db):0.25;mem:32'],
    'unreserved and the unlabelled reservation of the role, not the instance’s',
  );
  const tooBig = matchOffer({ ...plain, cpus: 1.5 }, 1, view.resources);
  assert.is(tooBig.refusal, 'INSUFFICIENT_CPUS');
});

planner('an unconfirmed reservation whose volumes an offer carries is seen', () => {
  const r = record({ confirmed: false });
  const plan = planResidentOffers(
    input({
      offers: [offer('o1', 'agent-1', 'cpus:1', [volumeProto(r.volumes[0]!.persistenceId, 100)])],
      reservations: [r],
    }),
  );
  assert.equal(
    plan.seen.map((x) => x.id),
    [r.id],
  );
});

planner('constraints hold for new reservations (UNIQUE hostname)', () => {
  const a = resident({ instances: 2, constraints: [['hostname', 'UNIQUE']] });
  const plan = planResidentOffers(
    input({
      offers: [offer('o1', 'agent-1', 'cpus:8;mem:4096;disk:4000', [], 'h1')],
      demand: [{ app: a, count: 2, placed: [{ hostname: 'h1', attributes: {} }] }],
    }),
  );
  assert.equal(plan.actions, []);
  assert.equal(plan.refusals[0]?.reason, 'UNFULFILLED_CONSTRAINT');
});

const ops = suite('resident offer operations');

ops('RESERVE + CREATE carry Marathon’s labels; the task launches on the reserved resources and its volume', () => {
  const r = record();
  const [reserve, create] = reserveAndCreate(r, FW);
  assert.is(reserve?.type, OpType.RESERVE);
  const reserved = reserve!.reserve!.resources as Resource[];
  assert.is(
    Resources.fromProto(reserved).withReservation(undefined).toString(),
    'cpus(db):0.5;mem(db):64;disk(db):100',
  );
  assert.is(Resources.fromProto(reserved).byReservation().length, 1, 'one reservation, labelled');
  for (const x of reserved) {
    assert.equal(x.reservations?.[0]?.labels, labels(r.id));
    assert.is(x.role, undefined);
  }
  assert.is(create?.type, OpType.CREATE);
  const volume = (create!.create!.volumes as Resource[])[0]!;
  assert.is(volume.disk?.persistence?.id, r.volumes[0]!.persistenceId);
  assert.is(volume.disk?.volume?.container_path, 'data');
  const launch = Resources.fromProto(launchResources(r, FW));
  assert.ok(launch.withoutVolumes().equals(labelledResourcesOf(r, FW)), 'the task names its labelled reservation');
  assert.is(launch.volumeList()[0]?.volume.id, r.volumes[0]!.persistenceId);
});

ops('an offer’s volumes and labelled reservations are read with their labels', () => {
  const read = readOfferReservations([
    volumeProto('a#data#1', 5, labels('a.instance-1')),
    labelledScalar('cpus', 1, labels('a.instance-1')),
    ...parseResources('mem:10').toProto(),
  ]);
  assert.equal(
    read.volumes.map((v) => [v.persistenceId, v.role, v.frameworkId]),
    [['a#data#1', 'db', FW]],
  );
  assert.equal(
    read.labelled.map((l) => [l.reservationId, l.resources.toString()]),
    [['a.instance-1', 'cpus(db, {marathon_framework_id: fw-1, marathon_task_id: a.instance-1}):1']],
  );
});

model.run();
planner.run();
ops.run();
