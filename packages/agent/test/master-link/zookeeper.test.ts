// The agent finds its master through ZooKeeper (`--master zk://…`) on a real,
// private ZooKeeper, and follows the leadership to the next master.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@agora/common';
import { createContender, type LeaderContender } from '@agora/coordination';
import { startZooKeeper, type ZooKeeperServer } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createAgent } from '../../src/index.js';
import { MasterPeer } from '../support/master-peer.js';
import { masterAt } from '../support/mutable-detector.js';
import { waitFor } from '../support/wait.js';

const test = suite('agent master detection in ZooKeeper');
let zk: ZooKeeperServer;
let root = '';
const cleanups: Array<() => Promise<void> | void> = [];

test.before(async () => {
  zk = await startZooKeeper();
  root = mkdtempSync(join(tmpdir(), 'agora-agent-zk-'));
});

test.after(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  await zk?.stop();
  rmSync(root, { recursive: true, force: true });
});

test('registers with the master leading in ZooKeeper, and re-registers with the next leader', async () => {
  const url = zk.url('/agora-agent-test');
  const peerA = await MasterPeer.start();
  cleanups.push(() => peerA.close());
  const peerB = await MasterPeer.start();
  cleanups.push(() => peerB.close());
  const contenderA: LeaderContender<unknown> = createContender(url, masterAt(peerA.port), { logger: silentLogger() });
  cleanups.push(() => contenderA.close());
  await contenderA.start();
  await waitFor(() => contenderA.isLeader, 'A leads');
  const contenderB: LeaderContender<unknown> = createContender(url, masterAt(peerB.port), { logger: silentLogger() });
  cleanups.push(() => contenderB.close());
  await contenderB.start();

  const agent = createAgent(
    { master: url, port: 0, workDir: join(root, 'a'), resources: 'cpus:1;mem:256;disk:100;ports:[31000-31001]' },
    { logger: silentLogger() },
  );
  cleanups.push(() => agent.close({ killTasks: true }));
  await agent.start();
  await peerA.next((m) => m.register, 'Register at A');
  peerA.send({ registered: { agent_id: { value: 'A-zk' } } });
  await waitFor(() => agent.agentId === 'A-zk', 'registered');

  await contenderA.close();
  await waitFor(() => contenderB.isLeader, 'B leads');
  const rereg = await peerB.next((m) => m.reregister, 'Reregister at B', 0, 20_000);
  assert.is(rereg.agent_info.id?.value, 'A-zk');
  assert.is(peerB.connectionCount, 1);
});

test.run();
