import { silentLogger } from '@agora/common';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MasterLink, type Registration } from '../../src/master-link/master-link.js';
import { MasterPeer } from '../support/master-peer.js';
import { MutableDetector, masterAt } from '../support/mutable-detector.js';
import { waitFor } from '../support/wait.js';

const test = suite('master link');
const cleanups: Array<() => Promise<void> | void> = [];

test.after.each(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function peer(): Promise<MasterPeer> {
  const p = await MasterPeer.start();
  cleanups.push(() => p.close());
  return p;
}

function link(detector: MutableDetector, opts: { pingTimeoutMs?: number } = {}) {
  const registrations: Registration[] = [];
  let disconnects = 0;
  let refusals = 0;
  const l = new MasterLink({
    detector,
    registration: () => ({ register: { agent_info: { hostname: 'h', port: 1 } } }),
    logger: silentLogger(),
    backoff: { initialMs: 20, maxMs: 100 },
    masterPingTimeoutMs: opts.pingTimeoutMs ?? 60_000,
  });
  l.onDidRegister((r) => registrations.push(r));
  l.onDidDisconnect(() => disconnects++);
  l.onDidRefuse(() => refusals++);
  cleanups.push(() => l.close());
  return { l, registrations, disconnects: () => disconnects, refusals: () => refusals };
}

test('waits while no leader is known, then connects to the one detected', async () => {
  const p = await peer();
  const detector = new MutableDetector(undefined);
  const { l, registrations } = link(detector);
  await l.start();
  assert.is(l.master, undefined);
  detector.set(masterAt(p.port));
  await p.next((m) => m.register, 'Register');
  p.send({ registered: { agent_id: { value: 'A9' } } });
  await waitFor(() => registrations.length === 1, 'registered');
  assert.equal(registrations[0], {
    agentId: 'A9',
    reregistered: false,
    masterInfo: null,
    master: `127.0.0.1:${p.port}`,
  });
  assert.ok(l.registered);
  assert.ok(l.send({ pong: {} }));
});

test('sends nothing for the agent before registration', async () => {
  const p = await peer();
  const { l } = link(new MutableDetector(masterAt(p.port)));
  await l.start();
  await p.next((m) => m.register, 'Register');
  assert.not.ok(l.registered);
  assert.not.ok(l.send({ pong: {} }));
});

test('reconnects when the master sends nothing within the ping timeout', async () => {
  const p = await peer();
  const { l, registrations, disconnects } = link(new MutableDetector(masterAt(p.port)), { pingTimeoutMs: 300 });
  await l.start();
  await p.next((m) => m.register, 'Register');
  p.send({ registered: { agent_id: { value: 'A1' } } });
  await waitFor(() => registrations.length === 1, 'registered');
  // The peer never pings: the agent gives up on this connection and registers again.
  await waitFor(() => p.connectionCount >= 2, 'a second connection', 10_000);
  await waitFor(() => disconnects() >= 1, 'disconnect reported');
});

test('pings keep the connection: each one is answered with a Pong', async () => {
  const p = await peer();
  const { l } = link(new MutableDetector(masterAt(p.port)), { pingTimeoutMs: 1500 });
  await l.start();
  await p.next((m) => m.register, 'Register');
  p.send({ registered: { agent_id: { value: 'A1' } } });
  // 12 pings 250 ms apart span twice the ping timeout.
  for (let i = 0; i < 12; i++) {
    const before = p.received.filter((m) => m.pong).length;
    p.send({ ping: {} });
    await waitFor(() => p.received.filter((m) => m.pong).length > before, 'Pong');
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.is(p.connectionCount, 1, 'never reconnected while pinged');
});

test('a refusal stops the link: it reports it and does not register again', async () => {
  const p = await peer();
  const { l, refusals } = link(new MutableDetector(masterAt(p.port)));
  await l.start();
  await p.next((m) => m.register, 'Register');
  p.send({ refused: { message: 'agent is gone', code: 'AGORA_ERR_AGENT_REFUSED' } });
  await waitFor(() => refusals() === 1, 'refusal');
  await waitFor(() => !p.connected, 'connection closed');
  assert.not.ok(l.registered);
});

test.run();
