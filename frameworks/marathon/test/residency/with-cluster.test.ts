/**
 * Resident apps on a real cluster: an in-process master, an agent running
 * real task processes, Marathon with its state in a real Redis. A resident
 * app reserves resources and creates its persistent volume (RESERVE + CREATE
 * + LAUNCH in one ACCEPT); a killed task is replaced on the same agent and
 * sees the data the first one wrote, also after Marathon restarts; deleting
 * the app destroys the volume and unreserves everything. A reservation
 * labelled with Marathon's framework id that no record knows is destroyed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RedisServer, startRedis, waitFor } from '@agora/testkit';
import { Redis } from 'ioredis';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { client } from '../api/harness.js';
import { type Cluster, startCluster } from '../support/cluster.js';

const ROLE = 'db';
const APP = '/resident/db';

interface TaskJson {
  id: string;
  slaveId: string;
  state: string;
  localVolumes: Array<{ containerPath: string; persistenceId: string }>;
}

let redis: RedisServer | undefined;
let cluster: Cluster | undefined;
const http = client(() => cluster!.marathon!.url);

async function tasksOf(id: string): Promise<TaskJson[]> {
  const r = await http.get(`/v2/apps${id}/tasks`);
  assert.is(r.status, 200, r.text);
  return r.body.tasks;
}

async function runningTask(id: string, not?: string): Promise<TaskJson> {
  return waitFor(async () => (await tasksOf(id)).find((t) => t.state === 'TASK_RUNNING' && t.id !== not), {
    timeoutMs: 30_000,
    intervalMs: 100,
    message: `a running task of ${id}`,
  });
}

async function masterState(): Promise<{
  slaves: Array<{ id: string; reserved_resources_full: Record<string, Array<Record<string, unknown>>> }>;
}> {
  const res = await fetch(`${cluster!.master.url}/state`);
  return (await res.json()) as never;
}

async function reservedOnAgent(): Promise<Array<Record<string, unknown>>> {
  const state = await masterState();
  return state.slaves.flatMap((s) => s.reserved_resources_full[ROLE] ?? []);
}

function volumeDir(persistenceId: string): string {
  return join(cluster!.work, 'agent', 'volumes', 'roles', ROLE, persistenceId);
}

async function form(path: string, fields: Record<string, string>): Promise<{ status: number; text: string }> {
  const res = await fetch(`${cluster!.master.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, text: await res.text() };
}

const test = suite('resident apps: reservations and persistent volumes on a real cluster');

test.before(async () => {
  redis = await startRedis();
  cluster = await startCluster({
    prefix: 'agora-marathon-resident',
    agents: [{ resources: 'cpus:2;mem:1024;disk:500;ports:[31300-31309]' }],
    marathon: { redis: redis.url, role: ROLE },
  });
});

test.after(async () => {
  await cluster?.close();
  await redis?.stop();
});

test('a resident task is replaced on its reservation with its data; deleting the app gives everything back', async () => {
  const app = {
    id: APP,
    cmd: 'cat data/log.txt > data/seen-$MESOS_TASK_ID 2>/dev/null; echo "$MESOS_TASK_ID" >> data/log.txt; exec sleep 1000',
    cpus: 0.1,
    mem: 32,
    instances: 1,
    portDefinitions: [],
    container: { type: 'MESOS', volumes: [{ containerPath: 'data', mode: 'RW', persistent: { size: 16 } }] },
  };
  const created = await http.post('/v2/apps', app);
  assert.is(created.status, 201, created.text);
  assert.is(created.body.unreachableStrategy, 'disabled');
  assert.equal(created.body.residency, { relaunchEscalationTimeoutSeconds: 3600, taskLostBehavior: 'WAIT_FOREVER' });

  const first = await runningTask(APP);
  assert.is(first.localVolumes.length, 1);
  const volume = first.localVolumes[0]!;
  assert.is(volume.containerPath, 'data');
  assert.match(volume.persistenceId, /^resident_db#data#[0-9a-f-]{36}$/);
  const dir = volumeDir(volume.persistenceId);
  await waitFor(() => (existsSync(join(dir, 'log.txt')) ? true : undefined), {
    timeoutMs: 10_000,
    message: 'the first task wrote into its volume',
  });
  const reserved = await reservedOnAgent();
  assert.ok(
    reserved.some((r) => r['name'] === 'cpus'),
    `cpus reserved for ${ROLE}: ${JSON.stringify(reserved)}`,
  );

  // Its resources and volumes cannot change (422 with Marathon's message, nothing changes).
  const changed = await http.put(`/v2/apps${APP}`, { cpus: 0.2 });
  assert.is(changed.status, 422, changed.text);
  assert.match(changed.text, 'Resident Tasks may not change resource requirements!');
  assert.is((await http.get(`/v2/apps${APP}`)).body.app.cpus, 0.1);

  // Kill the task: the replacement runs on the same agent, on the same volume, and sees the first line.
  assert.is((await http.delete(`/v2/apps${APP}/tasks/${first.id}`)).status, 200);
  const second = await runningTask(APP, first.id);
  assert.is(second.slaveId, first.slaveId);
  assert.equal(second.localVolumes, first.localVolumes);
  assert.match(second.id, /\._app\.2$/);
  const seen = await waitFor(
    () =>
      existsSync(join(dir, `seen-${second.id}`)) ? readFileSync(join(dir, `seen-${second.id}`), 'utf8') : undefined,
    { timeoutMs: 10_000, message: 'the second task read the log' },
  );
  assert.is(seen, `${first.id}\n`);

  // Marathon restarts: the reservation is loaded from Redis; the next replacement still uses it.
  await cluster!.marathon!.close();
  await cluster!.startMarathon();
  await waitFor(async () => ((await tasksOf(APP)).some((t) => t.id === second.id) ? true : undefined), {
    timeoutMs: 10_000,
    message: 'the running task known after the restart',
  });
  assert.is((await http.delete(`/v2/apps${APP}/tasks/${second.id}`)).status, 200);
  const third = await runningTask(APP, second.id);
  assert.equal(third.localVolumes, first.localVolumes);
  assert.is(readFileSync(join(dir, 'log.txt'), 'utf8').trim().split('\n').length >= 2, true);

  // Delete the app: the task is killed, the volume destroyed, the resources unreserved, the record forgotten.
  assert.is((await http.delete(`/v2/apps${APP}`)).status, 200);
  await waitFor(async () => (!existsSync(dir) && (await reservedOnAgent()).length === 0 ? true : undefined), {
    timeoutMs: 30_000,
    intervalMs: 200,
    message: 'volume directory removed and nothing reserved',
  });
  const r = new Redis(redis!.url);
  try {
    assert.is(await r.hlen('agora:marathon:reservations'), 0, 'no reservation record left');
  } finally {
    r.disconnect();
  }
});

test('a reservation and volume labelled with our framework id that no record knows are destroyed', async () => {
  const info = await http.get('/v2/info');
  const frameworkId = info.body.frameworkId as string;
  assert.ok(frameworkId, 'marathon is registered');
  const agentId = (await masterState()).slaves[0]!.id;
  const labels = {
    labels: [
      { key: 'marathon_framework_id', value: frameworkId },
      { key: 'marathon_task_id', value: 'resident_gone.instance-00000000-0000-0000-0000-000000000000' },
    ],
  };
  const reservation = [{ type: 'DYNAMIC', role: ROLE, labels }];
  const reserve = [
    { name: 'cpus', type: 'SCALAR', scalar: { value: 0.2 }, reservations: reservation },
    { name: 'disk', type: 'SCALAR', scalar: { value: 8 }, reservations: reservation },
  ];
  const reply = await form('/reserve', { slaveId: agentId, resources: JSON.stringify(reserve) });
  assert.is(reply.status, 202, reply.text);
  const persistenceId = 'resident_gone#data#00000000-0000-0000-0000-000000000000';
  const volume = {
    name: 'disk',
    type: 'SCALAR',
    scalar: { value: 8 },
    reservations: reservation,
    disk: { persistence: { id: persistenceId }, volume: { container_path: 'data', mode: 'RW' } },
  };
  const made = await form('/create-volumes', { slaveId: agentId, volumes: JSON.stringify([volume]) });
  assert.is(made.status, 202, made.text);
  await waitFor(() => (existsSync(volumeDir(persistenceId)) ? true : undefined), {
    timeoutMs: 10_000,
    message: 'the agent created the volume',
  });
  // A resident app asks for offers; the orphaned reservation and volume are destroyed on the way.
  const app = {
    id: '/resident/other',
    cmd: 'exec sleep 1000',
    cpus: 0.1,
    mem: 32,
    portDefinitions: [],
    container: { type: 'MESOS', volumes: [{ containerPath: 'data', mode: 'RW', persistent: { size: 8 } }] },
  };
  assert.is((await http.post('/v2/apps', app)).status, 201);
  await waitFor(() => (existsSync(volumeDir(persistenceId)) ? undefined : true), {
    timeoutMs: 30_000,
    message: 'the unknown volume destroyed',
  });
  await runningTask('/resident/other');
  assert.is((await http.delete('/v2/apps/resident/other')).status, 200);
  await waitFor(async () => ((await reservedOnAgent()).length === 0 ? true : undefined), {
    timeoutMs: 30_000,
    intervalMs: 200,
    message: 'nothing reserved at the end',
  });
});

test('wipe=true gives up the instance’s reservation and volume; the app gets a new instance with a new volume', async () => {
  const app = {
    id: '/resident/wiped',
    cmd: 'echo x >> data/log.txt; exec sleep 1000',
    cpus: 0.1,
    mem: 32,
    portDefinitions: [],
    container: { type: 'MESOS', volumes: [{ containerPath: 'data', mode: 'RW', persistent: { size: 8 } }] },
  };
  assert.is((await http.post('/v2/apps', app)).status, 201);
  const first = await runningTask(app.id);
  const oldVolume = first.localVolumes[0]!.persistenceId;
  await waitFor(() => (existsSync(volumeDir(oldVolume)) ? true : undefined), { message: 'volume created' });
  const wiped = await http.delete(`/v2/apps${app.id}/tasks/${first.id}?wipe=true`);
  assert.is(wiped.status, 200, wiped.text);
  const next = await runningTask(app.id, first.id);
  assert.match(next.id, /\._app\.1$/, 'a new instance, not a relaunch');
  assert.is.not(next.localVolumes[0]!.persistenceId, oldVolume);
  await waitFor(() => (existsSync(volumeDir(oldVolume)) ? undefined : true), {
    timeoutMs: 30_000,
    message: 'the wiped volume destroyed',
  });
  const r = new Redis(redis!.url);
  try {
    assert.is(await r.hlen('agora:marathon:reservations'), 1, 'only the new instance’s reservation is kept');
  } finally {
    r.disconnect();
  }
  assert.is((await http.delete(`/v2/apps${app.id}`)).status, 200);
  await waitFor(async () => ((await reservedOnAgent()).length === 0 ? true : undefined), {
    timeoutMs: 30_000,
    intervalMs: 200,
    message: 'nothing reserved at the end',
  });
});

test('a reservation stored before a crash whose ACCEPT was never sent is dropped; the instance is reserved anew', async () => {
  const app = {
    id: '/resident/crash',
    cmd: 'exec sleep 1000',
    cpus: 0.1,
    mem: 32,
    portDefinitions: [],
    container: { type: 'MESOS', volumes: [{ containerPath: 'data', mode: 'RW', persistent: { size: 8 } }] },
  };
  assert.is((await http.post('/v2/apps', app)).status, 201);
  const first = await runningTask(app.id);
  await cluster!.marathon!.close();
  // As if Marathon stored a second instance's reservation and task, then died before sending the ACCEPT.
  const uuid = '0badc0de-0000-4000-8000-000000000000';
  const phantom = `resident_crash.instance-${uuid}`;
  const r = new Redis(redis!.url);
  try {
    const stored = JSON.parse((await r.hget('agora:marathon:apps', app.id))!);
    await r.hset('agora:marathon:apps', app.id, JSON.stringify({ ...stored, instances: 2 }));
    await r.hset(
      'agora:marathon:reservations',
      phantom,
      JSON.stringify({
        id: phantom,
        appId: app.id,
        uuid,
        incarnation: 1,
        agentId: first.slaveId,
        hostname: 'localhost',
        role: ROLE,
        resources: `cpus(${ROLE}):0.1;mem(${ROLE}):32`,
        hostPorts: [],
        volumes: [{ containerPath: 'data', persistenceId: `resident_crash#data#${uuid}`, size: 8 }],
        createdAt: new Date().toISOString(),
        confirmed: false,
      }),
    );
    await r.hset(
      `agora:marathon:tasks:${app.id}`,
      `${phantom}._app.1`,
      JSON.stringify({
        ...first,
        id: `${phantom}._app.1`,
        appId: app.id,
        agentId: first.slaveId,
        state: 'TASK_STAGING',
        stagedAt: new Date().toISOString(),
        reservationId: phantom,
        localVolumes: [{ containerPath: 'data', persistenceId: `resident_crash#data#${uuid}` }],
      }),
    );
    await cluster!.startMarathon();
    // Reconciliation reports the task unknown: the unconfirmed reservation is dropped, a real one is made.
    const running = await waitFor(
      async () => {
        const tasks = (await tasksOf(app.id)).filter((t) => t.state === 'TASK_RUNNING');
        return tasks.length === 2 ? tasks : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, message: 'two running instances' },
    );
    assert.not.ok(running.some((t) => t.id.includes(uuid)));
    const ids = await r.hkeys('agora:marathon:reservations');
    assert.not.ok(ids.includes(phantom), 'the phantom reservation is forgotten');
    assert.is(ids.filter((id) => id.startsWith('resident_crash.')).length, 2);
  } finally {
    r.disconnect();
  }
  assert.is((await http.delete(`/v2/apps${app.id}`)).status, 200);
  await waitFor(async () => ((await reservedOnAgent()).length === 0 ? true : undefined), {
    timeoutMs: 30_000,
    intervalMs: 200,
    message: 'nothing reserved at the end',
  });
});

test.run();
