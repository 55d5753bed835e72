/**
 * Persistent volumes end to end, all real: an in-process master, a real agent
 * process and real tasks. A framework in role 'db' does RESERVE + CREATE +
 * LAUNCH in one ACCEPT; the task writes into the volume and ends; a second
 * task on the same volume reads the file. DESTROY and UNRESERVE are refused
 * while the volume is in use / exists, with their codes, and change nothing;
 * once the task ends DESTROY is accepted and the agent removes the directory.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '@agora/common';
import { agora, TaskState } from '@agora/proto';
import { removeTempDir, tempDir } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createMaster, type Master } from '../../src/index.js';
import { type AgentProcess, startAgentProcess } from '../support/agent-process.js';
import {
  CallType,
  EventType,
  OperationType,
  type SchedulerPeer,
  subscribeScheduler,
  waitFor,
} from '../support/harness.js';
import { acknowledgeAll, asTestMaster, db, nextOfferWith, volume } from './volume-helpers.js';

const test = suite('persistent volumes with a real agent: reserve, create, launch, reuse, destroy');

function accept(
  s: SchedulerPeer,
  offerId: string,
  operations: agora.v1.Offer.Operation.$Properties[],
): agora.v1.scheduler.Call.$Properties {
  return {
    type: CallType.ACCEPT,
    framework_id: { value: s.frameworkId },
    accept: { offer_ids: [{ value: offerId }], operations, filters: { refuse_seconds: 0 } },
  };
}

function task(id: string, agentId: string, command: string): agora.v1.TaskInfo.$Properties {
  return {
    name: id,
    task_id: { value: id },
    agent_id: { value: agentId },
    resources: [db('cpus', 0.1, '*'), db('mem', 32, '*'), volume('v1', 50, 'data')],
    command: { value: command, shell: true },
  };
}

const launch = (t: agora.v1.TaskInfo.$Properties) => ({ type: OperationType.LAUNCH, launch: { task_infos: [t] } });

async function post(master: Master, path: string, form: Record<string, string>) {
  const res = await fetch(`${master.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, text: await res.text() };
}

test('a volume outlives its task, is refused destruction while in use, and goes when destroyed', async () => {
  const dir = await tempDir('agora-volumes-agent');
  const master = createMaster(
    { port: 0, host: '127.0.0.1', allocationIntervalMs: 100, workDir: join(dir, 'master') },
    { logger: silentLogger() },
  );
  let agent: AgentProcess | undefined;
  let s: SchedulerPeer | undefined;
  const agentDir = join(dir, 'agent');
  const volumeDir = join(agentDir, 'volumes', 'roles', 'db', 'v1');
  try {
    await master.start();
    agent = await startAgentProcess(
      `127.0.0.1:${master.port}`,
      agentDir,
      'cpus:2;mem:512;disk:200;ports:[42200-42210]',
    );
    s = await subscribeScheduler(asTestMaster(master), { roles: ['db'] });
    const stopAcks = acknowledgeAll(s);

    // RESERVE + CREATE + LAUNCH in one ACCEPT: the task writes into its volume and ends.
    const first = await nextOfferWith(s, () => true, 'a first offer');
    const agentId = first.agent_id.value;
    s.send(
      accept(s, first.id.value, [
        { type: OperationType.RESERVE, reserve: { resources: [db('disk', 50)] } },
        { type: OperationType.CREATE, create: { volumes: [volume('v1', 50, 'data')] } },
        launch(task('writer', agentId, 'echo hello > data/file.txt')),
      ]),
    );
    await s.next(
      (e) => e.update?.status.task_id.value === 'writer' && e.update.status.state === TaskState.TASK_FINISHED,
      'writer finished',
      30_000,
    );
    assert.is(readFileSync(join(volumeDir, 'file.txt'), 'utf8'), 'hello\n', 'the file is in the volume directory');
    assert.ok(existsSync(join(agentDir, 'meta', 'resources', 'resources.pb')), 'the agent checkpointed its resources');

    // The volume is offered again to the role; a second task on it sees the first task's file.
    const withVolume = (o: agora.v1.Offer) => o.resources.some((r) => r.disk?.persistence?.id === 'v1');
    const second = await nextOfferWith(s, withVolume, 'an offer with the volume');
    const offered = second.resources.find((r) => r.disk?.persistence?.id === 'v1')!;
    assert.is(offered.disk?.volume?.container_path, 'data');
    assert.is(offered.reservations?.[0]?.type, agora.v1.Resource.ReservationInfo.Type.DYNAMIC);
    s.send(
      accept(s, second.id.value, [
        launch(task('reader', agentId, 'grep -q hello data/file.txt && touch data/seen && sleep 1000')),
      ]),
    );
    await waitFor(() => (existsSync(join(volumeDir, 'seen')) ? true : undefined), {
      timeoutMs: 30_000,
      message: 'the reader saw the file',
    });

    // In use: DESTROY (operator and ACCEPT) and UNRESERVE of its disk are refused and change nothing.
    const volumes = JSON.stringify([volume('v1', 50, 'data')]);
    const refused = await post(master, '/destroy-volumes', { slaveId: agentId, volumes });
    assert.is(refused.status, 409, refused.text);
    assert.match(refused.text, 'AGORA_ERR_VOLUME_IN_USE');
    const any = await nextOfferWith(s, () => true, 'any offer');
    s.send(
      accept(s, any.id.value, [{ type: OperationType.DESTROY, destroy: { volumes: [volume('v1', 50, 'data')] } }]),
    );
    const inUse = await s.next((e) => e.type === EventType.ERROR, 'ERROR for DESTROY in use');
    assert.is(inUse.error?.code, 'AGORA_ERR_VOLUME_IN_USE');
    const any2 = await nextOfferWith(s, () => true, 'any offer');
    s.send(accept(s, any2.id.value, [{ type: OperationType.UNRESERVE, unreserve: { resources: [db('disk', 50)] } }]));
    const reservedErr = await s.next((e) => e.type === EventType.ERROR, 'ERROR for UNRESERVE of the volume disk');
    assert.is(reservedErr.error?.code, 'AGORA_ERR_VOLUME_RESERVED');
    assert.ok(existsSync(volumeDir), 'the volume is still there');

    // The task ends: DESTROY is accepted, the agent removes the directory; the disk is plain reserved disk again.
    s.send({ type: CallType.KILL, framework_id: { value: s.frameworkId }, kill: { task_id: { value: 'reader' } } });
    await s.next(
      (e) => e.update?.status.task_id.value === 'reader' && e.update.status.state === TaskState.TASK_KILLED,
      'reader killed',
      30_000,
    );
    const free = await nextOfferWith(s, withVolume, 'the volume offered again');
    s.send(
      accept(s, free.id.value, [{ type: OperationType.DESTROY, destroy: { volumes: [volume('v1', 50, 'data')] } }]),
    );
    await waitFor(() => (existsSync(volumeDir) ? undefined : true), {
      timeoutMs: 15_000,
      message: 'volume dir removed',
    });
    const plain = await nextOfferWith(
      s,
      (o) => o.resources.some((r) => r.name === 'disk' && r.role === 'db' && !r.disk?.persistence),
      'the reserved disk offered without the volume',
    );
    assert.not.ok(withVolume(plain));
    await agent.waitForOutput(/persistent volume destroyed/, 5000);
    stopAcks();
  } finally {
    s?.close();
    await agent?.stop();
    await master.close();
    await removeTempDir(dir);
  }
});

test.run();
