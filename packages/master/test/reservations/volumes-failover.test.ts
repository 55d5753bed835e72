/**
 * Dynamic reservations and persistent volumes survive a master failover, all
 * real: ZooKeeper, two in-process masters, a real agent process. They live on
 * the agent (its checkpoint, sent in Reregister), not in the leader's memory:
 * the leader and the agent are both stopped; the agent restarts from its
 * checkpoint, the new leader rebuilds the reservations and the volume when
 * the agent re-registers, offers them to the role again, and a task on the
 * volume finds the data written before the failover. Two reservations of the
 * role told apart by their labels come back as two (the checkpoint carries
 * each reservation's labels), and a task consumes the one it names.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '@agora/common';
import { agora, TaskState } from '@agora/proto';
import { removeTempDir, startZooKeeper, tempDir } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createMaster } from '../../src/index.js';
import { type AgentProcess, startAgentProcess } from '../support/agent-process.js';
import { CallType, OperationType, type SchedulerPeer, subscribeScheduler, waitFor } from '../support/harness.js';
import { acknowledgeAll, asTestMaster, db, nextOfferWith, volume } from './volume-helpers.js';

const test = suite('reservations and volumes across a master failover');
const DYNAMIC = agora.v1.Resource.ReservationInfo.Type.DYNAMIC;

/** `cpus` reserved for 'db' with the label `id`. */
function labelledCpus(value: number, id: string): agora.v1.Resource.$Properties {
  return {
    ...db('cpus', value),
    reservations: [{ type: DYNAMIC, role: 'db', labels: { labels: [{ key: 'id', value: id }] } }],
  };
}

function labelOf(r: agora.v1.Resource): string {
  return r.reservations.at(-1)?.labels?.labels.find((l) => l.key === 'id')?.value ?? '-';
}

function task(
  id: string,
  agentId: string,
  command: string,
  extra: agora.v1.Resource.$Properties[] = [],
): agora.v1.TaskInfo.$Properties {
  return {
    name: id,
    task_id: { value: id },
    agent_id: { value: agentId },
    resources: [db('cpus', 0.1, '*'), db('mem', 32, '*'), volume('v1', 40, 'data'), ...extra],
    command: { value: command, shell: true },
  };
}

function accept(s: SchedulerPeer, offerId: string, operations: agora.v1.Offer.Operation.$Properties[]) {
  return {
    type: CallType.ACCEPT,
    framework_id: { value: s.frameworkId },
    accept: { offer_ids: [{ value: offerId }], operations, filters: { refuse_seconds: 0 } },
  };
}

test('the new leader offers the reservation and the volume again, with the data', async () => {
  const zk = await startZooKeeper();
  const dir = await tempDir('agora-volumes-failover');
  const url = zk.url('/agora-volumes');
  const options = { port: 0, host: '127.0.0.1', zk: url, zkSessionTimeoutMs: 4000, allocationIntervalMs: 100 };
  const a = createMaster(options, { logger: silentLogger() });
  const b = createMaster(options, { logger: silentLogger() });
  const peers: SchedulerPeer[] = [];
  let agent: AgentProcess | undefined;
  const agentDir = join(dir, 'agent');
  const volumeDir = join(agentDir, 'volumes', 'roles', 'db', 'v1');
  try {
    await a.start();
    await waitFor(() => (a.isLeader ? true : undefined), { message: 'the first master leads', timeoutMs: 15_000 });
    await b.start();
    agent = await startAgentProcess(url, agentDir, 'cpus:2;mem:512;disk:200;ports:[42300-42310]');

    const s1 = await subscribeScheduler(asTestMaster(a), { roles: ['db'] });
    peers.push(s1);
    acknowledgeAll(s1);
    const first = await nextOfferWith(s1, () => true, 'an offer from the first leader');
    const agentId = first.agent_id.value;
    s1.send(
      accept(s1, first.id.value, [
        {
          type: OperationType.RESERVE,
          reserve: { resources: [db('cpus', 0.5), db('disk', 40), labelledCpus(0.2, 'a'), labelledCpus(0.3, 'b')] },
        },
        { type: OperationType.CREATE, create: { volumes: [volume('v1', 40, 'data')] } },
        { type: OperationType.LAUNCH, launch: { task_infos: [task('writer', agentId, 'echo before > data/f')] } },
      ]),
    );
    await s1.next(
      (e) => e.update?.status.task_id.value === 'writer' && e.update.status.state === TaskState.TASK_FINISHED,
      'writer finished',
      30_000,
    );
    assert.ok(existsSync(join(volumeDir, 'f')));

    // The agent is killed too, and comes back while the leader is gone: what it sends the new leader comes from
    // its checkpoint on disk.
    await agent.stop();
    await a.close(); // the leader goes away
    agent = await startAgentProcess(url, agentDir, 'cpus:2;mem:512;disk:200;ports:[42300-42310]');
    await waitFor(() => (b.isLeader ? true : undefined), { message: 'the standby leads', timeoutMs: 20_000 });

    const s2 = await subscribeScheduler(asTestMaster(b), { id: s1.frameworkId, roles: ['db'] });
    peers.push(s2);
    acknowledgeAll(s2);
    const offer = await nextOfferWith(
      s2,
      (o) => o.resources.some((r) => r.disk?.persistence?.id === 'v1'),
      'the volume offered by the new leader',
    );
    const vol = offer.resources.find((r) => r.disk?.persistence?.id === 'v1')!;
    assert.is(vol.scalar?.value, 40);
    assert.is(vol.reservations?.[0]?.type, DYNAMIC);
    assert.is(vol.reservations?.[0]?.role, 'db');
    const cpus = offer.resources.filter((r) => r.name === 'cpus' && r.role === 'db');
    assert.equal(
      cpus.map((r) => [labelOf(r), r.scalar?.value, r.reservations?.[0]?.type]),
      [
        ['-', 0.5, DYNAMIC],
        ['a', 0.2, DYNAMIC],
        ['b', 0.3, DYNAMIC],
      ],
      'the dynamic cpus reservations are back, the labelled ones apart',
    );

    s2.send(
      accept(s2, offer.id.value, [
        {
          type: OperationType.LAUNCH,
          launch: {
            task_infos: [task('reader', agentId, 'grep -q before data/f && touch data/seen', [labelledCpus(0.2, 'a')])],
          },
        },
      ]),
    );
    await s2.next(
      (e) => e.update?.status.task_id.value === 'reader' && e.update.status.state === TaskState.TASK_FINISHED,
      'the reader found the data',
      30_000,
    );
    assert.ok(existsSync(join(volumeDir, 'seen')));

    // The volume is still the new leader's to manage: the operator destroys it, the agent removes it.
    const res = await fetch(`${b.url}/destroy-volumes`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ slaveId: agentId, volumes: JSON.stringify([volume('v1', 40, 'data')]) }).toString(),
    });
    assert.is(res.status, 202, await res.text());
    await waitFor(() => (existsSync(volumeDir) ? undefined : true), { timeoutMs: 15_000, message: 'volume removed' });
  } finally {
    for (const p of peers) p.close();
    await agent?.stop();
    await a.close();
    await b.close();
    await zk.stop();
    await removeTempDir(dir);
  }
});

test.run();
