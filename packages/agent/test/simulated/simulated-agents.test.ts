import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@agora/common';
import { createMaster, type Master } from '@agora/master';
import { type agora, TaskState } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type SimulatedAgents, startSimulatedAgents } from '../../src/simulated/simulated-agents.js';
import { SimulatedContainerizer, type SimulatedLifecycle } from '../../src/simulated/simulated-containerizer.js';
import { MasterPeer } from '../support/master-peer.js';
import { waitFor } from '../support/wait.js';

const test = suite('simulated agents');
let root = '';
const cleanups: Array<() => Promise<void> | void> = [];

test.before(() => {
  root = mkdtempSync(join(tmpdir(), 'agora-sim-'));
});
test.after.each(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});
test.after(() => rmSync(root, { recursive: true, force: true }));

const FRAMEWORK: agora.v1.FrameworkInfo.$Properties = { user: 'u', name: 'fw', id: { value: 'F1' } };

function runTask(peer: MasterPeer, taskId: string): void {
  peer.send({
    run_task: {
      framework: FRAMEWORK,
      task: { name: taskId, task_id: { value: taskId }, agent_id: { value: 'A1' }, command: { value: 'sleep 1000' } },
    },
  });
}

async function simulated(name: string, lifecycle: SimulatedLifecycle) {
  const peer = await MasterPeer.start();
  cleanups.push(() => peer.close());
  const sims = await startSimulatedAgents({
    config: { master: `127.0.0.1:${peer.port}`, port: 0, workDir: join(root, name), reconnectInitialMs: 50 },
    lifecycle,
    logger: silentLogger(),
  });
  cleanups.push(() => sims.close());
  const register = await peer.next((m) => m.register, 'Register');
  peer.send({ registered: { agent_id: { value: 'A1' }, master_info: { id: 'M1', ip: 0, port: 5050 } } });
  await waitFor(() => sims.registeredCount === 1, 'registered');
  return { peer, sims, register };
}

const states = (peer: MasterPeer, taskId: string) => peer.updates(taskId).map((u) => TaskState[u.status.state]);

/** Acknowledge every update (the agent sends the next one only then) until the task has reported `state`. */
function reach(peer: MasterPeer, taskId: string, state: string): Promise<boolean> {
  return waitFor(() => {
    for (const u of peer.updates(taskId)) peer.ack(u);
    return states(peer, taskId).includes(state);
  }, `${taskId} ${state}`);
}

test('a simulated agent registers fixed resources and runs tasks virtually to FINISHED', async () => {
  const { peer, sims, register } = await simulated('finish', { taskDurationMs: 100, failureRate: 0 });
  assert.match(register.agent_info.hostname, /-sim-0$/);
  const names = register.agent_info.resources.map((r) => r.name).sort();
  assert.equal(names, ['cpus', 'disk', 'mem', 'ports']);
  runTask(peer, 't1');
  await reach(peer, 't1', 'TASK_FINISHED');
  assert.equal(states(peer, 't1'), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
  assert.is(sims.launchedTasks, 1);
  // The sandbox exists and /files serves it.
  const state = (await (await fetch(`${sims.agents[0]?.url}/state`)).json()) as {
    completed_frameworks: Array<{ completed_executors: Array<{ directory: string }> }>;
    frameworks: Array<{ completed_executors: Array<{ directory: string }> }>;
  };
  const fw = state.frameworks[0] ?? state.completed_frameworks[0];
  const dir = fw?.completed_executors[0]?.directory as string;
  assert.match(readFileSync(join(dir, 'stdout'), 'utf8'), /simulated task/);
  const read = await fetch(`${sims.agents[0]?.url}/files/read?path=${encodeURIComponent(join(dir, 'stdout'))}`);
  assert.match(((await read.json()) as { data: string }).data, /simulated task/);
});

test('failure rate 1 fails every task; a task without a duration runs until killed', async () => {
  const failing = await simulated('fail', { taskDurationMs: 50, failureRate: 1 });
  runTask(failing.peer, 'bad');
  await reach(failing.peer, 'bad', 'TASK_FAILED');
  assert.equal(states(failing.peer, 'bad'), ['TASK_STARTING', 'TASK_RUNNING', 'TASK_FAILED']);

  const forever = await simulated('forever', { taskDurationMs: 0 });
  runTask(forever.peer, 'long');
  await reach(forever.peer, 'long', 'TASK_RUNNING');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(states(forever.peer, 'long'), ['TASK_STARTING', 'TASK_RUNNING'], 'still running');
  forever.peer.send({ kill_task: { framework_id: { value: 'F1' }, task_id: { value: 'long' } } });
  await reach(forever.peer, 'long', 'TASK_KILLED');
});

test('bad lifecycle values and counts are refused', async () => {
  assert.throws(() => new SimulatedContainerizer({ failureRate: 2 }), /simulate_failure_rate/);
  assert.throws(() => new SimulatedContainerizer({ taskDurationMs: -1 }), /simulate_task_duration/);
  try {
    await startSimulatedAgents({ config: { master: '127.0.0.1:1', port: 0, workDir: root }, count: 0 });
    assert.unreachable('count 0 accepted');
  } catch (err) {
    assert.match(String(err), /--count 0 is invalid/);
  }
});

test('1,000 simulated agents register against one real master', async () => {
  const master: Master = createMaster({ port: 0, host: '127.0.0.1' }, { logger: silentLogger() });
  await master.start();
  cleanups.push(() => master.close());
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = Date.now();
  let sims: SimulatedAgents | undefined;
  cleanups.push(() => sims?.close());
  sims = await startSimulatedAgents({
    config: { master: `127.0.0.1:${master.port}`, port: 0, workDir: join(root, 'thousand') },
    count: 1000,
    logger: silentLogger(),
  });
  const ready = sims;
  await waitFor(() => ready.registeredCount === 1000, '1000 agents registered', 30_000);
  const state = (await (await fetch(`${master.url}/state`)).json()) as { activated_slaves: number; slaves: unknown[] };
  assert.is(state.activated_slaves, 1000);
  assert.is(new Set(ready.agents.map((a) => a.agentId)).size, 1000, 'distinct agent ids');
  const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
  assert.ok(heapMb < 1000, `heap grew by ${heapMb.toFixed(0)} MB`);
  if (process.env['AGORA_SIM_REPORT']) console.log(`1000 agents: ${Date.now() - t0} ms, heap +${heapMb.toFixed(0)} MB`);
});

test.run();
