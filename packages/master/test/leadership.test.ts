/**
 * Masters on a real ZooKeeper (from @agora/testkit): the first leads and
 * publishes its MasterInfo as JSON; a standby answers HTTP and WebSocket
 * upgrades with 307 to the leader; when the leader goes, the standby leads;
 * a leader that loses leadership stops serving and says so (onDidLoseLeadership).
 */
import { hasErrorCode, silentLogger } from '@agora/common';
import { agora } from '@agora/proto';
import { startZooKeeper, type ZooKeeperServer } from '@agora/testkit';
import { CLOSE_NOT_LEADER, connectChannel } from '@agora/transport';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createMaster, type Master, type MasterAbort } from '../src/index.js';
import { connectScheduler, waitFor } from './support/harness.js';

const test = suite('leadership on ZooKeeper');

let zk: ZooKeeperServer;
let pathCounter = 0;
const masters: Master[] = [];

test.before(async () => {
  zk = await startZooKeeper();
});

test.after.each(async () => {
  for (const m of masters.splice(0)) await m.close();
});

test.after(async () => {
  await zk?.stop();
});

async function startMasterOn(path: string): Promise<Master> {
  const master = createMaster(
    { port: 0, host: '127.0.0.1', zk: zk.url(path), zkSessionTimeoutMs: 2000 },
    { logger: silentLogger() },
  );
  masters.push(master);
  await master.start();
  return master;
}

function freshPath(): string {
  return `/agora/master-test-${++pathCounter}`;
}

test('the first master leads; a standby redirects HTTP (307) and WebSocket upgrades to it', async () => {
  const path = freshPath();
  const leader = await startMasterOn(path);
  await waitFor(() => leader.isLeader, { message: 'the first master to lead' });
  const standby = await startMasterOn(path);
  const leaderAt = `//127.0.0.1:${leader.port}`;
  await waitFor(
    async () =>
      (await fetch(`${standby.url}/master/redirect`, { redirect: 'manual' })).headers.get('location') === leaderAt,
    { message: 'the standby to know the leader' },
  );
  assert.is(standby.isLeader, false);

  const state = await fetch(`${standby.url}/state?x=1`, { redirect: 'manual' });
  assert.is(state.status, 307);
  assert.is(state.headers.get('location'), `${leaderAt}/state?x=1`);
  assert.is((await fetch(`${standby.url}/health`)).status, 200);
  assert.is((await fetch(`${leader.url}/state`)).status, 200);

  const refused = await connectChannel(
    `ws://127.0.0.1:${standby.port}/agora/v1/scheduler`,
    agora.v1.scheduler.Event,
    agora.v1.scheduler.Call,
  ).then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(hasErrorCode(refused, 'AGORA_ERR_NOT_LEADER'), String(refused));
  assert.is((refused as { data: { location?: string } }).data.location, `${leaderAt}/agora/v1/scheduler`);

  // The leader's /state names it as leader, with the MasterInfo it published in ZooKeeper.
  const json = (await (await fetch(`${leader.url}/state`)).json()) as Record<string, unknown>;
  assert.equal((json['leader_info'] as Record<string, unknown>)['id'], leader.info.id);
});

test('when the leader closes, the standby leads and serves', async () => {
  const path = freshPath();
  const first = await startMasterOn(path);
  await waitFor(() => first.isLeader, { message: 'the first master to lead' });
  const second = await startMasterOn(path);
  assert.is(second.isLeader, false);
  await first.close();
  await waitFor(() => second.isLeader, { message: 'the standby to lead', timeoutMs: 15_000 });
  const res = await fetch(`${second.url}/state`);
  assert.is(res.status, 200);
  const json = (await res.json()) as Record<string, unknown>;
  assert.is(json['id'], second.info.id);
  assert.is((json['leader_info'] as Record<string, unknown>)['id'], second.info.id);
});

test('a leader that loses its ZooKeeper session stops serving: connections closed (4307), onDidLoseLeadership fires', async () => {
  const path = freshPath();
  const master = await startMasterOn(path);
  await waitFor(() => master.isLeader, { message: 'the master to lead' });
  const aborts: MasterAbort[] = [];
  master.onDidLoseLeadership((a) => aborts.push(a));
  const scheduler = await connectScheduler({ wsUrl: (p) => `ws://127.0.0.1:${master.port}/agora/v1/${p}` });
  zk.pause();
  try {
    const closed = await scheduler.waitClosed(20_000);
    assert.is(closed.code, CLOSE_NOT_LEADER);
    await waitFor(() => aborts.length === 1, { message: 'onDidLoseLeadership' });
  } finally {
    zk.resume();
  }
  assert.is(aborts[0]!.code, 'AGORA_ERR_NOT_LEADER');
  assert.is(master.isLeader, false);
  const res = await fetch(`${master.url}/state`, { redirect: 'manual' });
  assert.ok(res.status === 307 || res.status === 503, `status ${res.status}`);
});

test.run();
