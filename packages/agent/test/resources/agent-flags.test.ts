/**
 * `--domain` and `--usage_report_interval` through a real agent process (the
 * CLI) against a peer master: the domain (from a JSON file) is in Register's
 * AgentInfo and in the agent's `/state`, usage reports arrive at the flag's
 * interval; bad domain JSON stops the agent at startup with a clear error.
 * In process: the domain is in Reregister too, and every bad form is refused.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TaskState } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseDomainFlag } from '../../src/resources/domain.js';
import { spawnAgent } from '../support/agent-process.js';
import { MasterPeer } from '../support/master-peer.js';
import { reachState, runTask, startPeerAgent } from '../support/peer-agent.js';
import { waitFor } from '../support/wait.js';

const test = suite('agent flags: --domain and --usage_report_interval');
const DOMAIN = { fault_domain: { region: { name: 'r1' }, zone: { name: 'z1' } } };

let root = '';
const cleanups: Array<() => Promise<void> | void> = [];
test.before(() => {
  root = mkdtempSync(join(tmpdir(), 'agora-flags-'));
});
test.after.each(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});
test.after(() => {
  rmSync(root, { recursive: true, force: true });
});

test('a real agent process: domain from a file in Register and /state; usage at the flag interval', async () => {
  const peer = await MasterPeer.start();
  cleanups.push(() => peer.close());
  const file = join(root, 'domain.json');
  writeFileSync(file, JSON.stringify(DOMAIN));
  const agent = spawnAgent(
    peer,
    join(root, 'w1'),
    0,
    cleanups,
    ['--domain', file, '--usage_report_interval', '200ms', '--fetcher_cache_size', '1MB'],
    'SIGTERM',
  );
  const register = await peer.next((m) => m.register, 'Register', 0, 30_000);
  assert.equal(register.agent_info.domain?.toJSON(), DOMAIN);
  peer.send({ registered: { agent_id: { value: 'A1' }, master_info: { id: 'M1', ip: 0, port: 5050 } } });
  const url = await waitFor(() => /"url":"(http:\/\/[^"]+)"/.exec(agent.output())?.[1], 'the agent URL', 30_000);
  const state = (await (await fetch(`${url}/state`)).json()) as { domain?: unknown };
  assert.equal(state.domain, DOMAIN);
  runTask(peer, 'u1', { command: { value: 'sleep 30' } });
  await reachState(peer, 'u1', TaskState.TASK_RUNNING);
  await waitFor(
    () => peer.received.filter((m) => m.usage?.tasks.some((t) => t.task_id.value === 'u1')).length >= 3,
    'three usage reports',
  );
  peer.send({ kill_task: { framework_id: { value: 'F1' }, task_id: { value: 'u1' } } });
  await reachState(peer, 'u1', TaskState.TASK_KILLED);
});

test('bad --domain JSON: the agent refuses to start, naming the flag', async () => {
  const peer = await MasterPeer.start();
  cleanups.push(() => peer.close());
  const agent = spawnAgent(
    peer,
    join(root, 'w2'),
    0,
    cleanups,
    ['--domain', '{"fault_domain": {"region": '],
    'SIGTERM',
  );
  const code = await agent.exited;
  assert.is.not(code, 0);
  assert.match(agent.output(), /--domain .* is invalid: not valid JSON/);
  assert.is(peer.connectionCount, 0);
});

test('in process: the domain is in Reregister after a reconnect', async () => {
  const setup = await startPeerAgent({ prefix: 'agora-domain-', config: { domain: JSON.stringify(DOMAIN) } });
  cleanups.push(() => setup.close());
  const from = setup.peer.received.length;
  setup.peer.disconnect();
  const rereg = await setup.peer.next((m) => m.reregister, 'Reregister', from, 20_000);
  assert.equal(rereg.agent_info.domain?.toJSON(), DOMAIN);
});

test('every bad form of --domain is refused with AGORA_ERR_BAD_FLAG', () => {
  assert.equal(parseDomainFlag(` ${JSON.stringify(DOMAIN)} `), DOMAIN);
  const file = join(root, 'd.json');
  writeFileSync(file, JSON.stringify(DOMAIN));
  assert.equal(parseDomainFlag(`file://${file}`), DOMAIN);
  for (const [value, why] of [
    ['not json', /absolute path of a JSON file/],
    ['{oops', /not valid JSON/],
    ['{}', /fault_domain .* is required/],
    ['{"fault_domain":{"region":{"name":"r1"}}}', /zone\.name must be a non-empty string/],
    ['{"fault_domain":{"region":{"name":""},"zone":{"name":"z"}}}', /region\.name must be/],
    [join(root, 'missing.json'), /cannot read/],
  ] as const) {
    try {
      parseDomainFlag(value);
      assert.unreachable(`accepted ${value}`);
    } catch (err) {
      assert.is((err as { code?: string }).code, 'AGORA_ERR_BAD_FLAG', value);
      assert.match((err as Error).message, why);
    }
  }
});

test.run();
