/**
 * The agent end to end against the master side of the agent protocol (a real
 * WebSocket peer driven by the test), with real task processes.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@agora/common';
import { type agora, TaskState, TaskStatusSource, ValueType } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type Agent, type AgentDeps, createAgent } from '../src/index.js';
import { MasterPeer } from './support/master-peer.js';
import { MutableDetector, masterAt } from './support/mutable-detector.js';
import { isAlive, killGroup, waitFor } from './support/wait.js';

/** Prints the shell's pid as the host sees it ($$ is the pid inside the task's pid namespace). */
const HOST_PID = 'read -r p _ < /proc/self/stat; echo "$p"';

const test = suite('agent against a master peer');
let root = '';
const cleanups: Array<() => Promise<void> | void> = [];

test.before(() => {
  root = mkdtempSync(join(tmpdir(), 'agora-agent-'));
});

test.after.each(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

test.after(() => {
  rmSync(root, { recursive: true, force: true });
});

async function startPeer(port = 0): Promise<MasterPeer> {
  const peer = await MasterPeer.start(port);
  cleanups.push(() => peer.close());
  return peer;
}

async function startAgent(master: string, name: string, deps: AgentDeps = {}): Promise<Agent> {
  const agent = createAgent(
    {
      master,
      port: 0,
      hostname: 'agent-under-test',
      workDir: join(root, name),
      resources: 'cpus:2;mem:1024;disk:1000;ports:[31000-31009]',
      attributes: 'rack:r1;level:3',
      reconnectInitialMs: 50,
      reconnectMaxMs: 200,
    },
    { logger: silentLogger(), ...deps },
  );
  cleanups.push(() => agent.close({ killTasks: true }));
  await agent.start();
  return agent;
}

const FRAMEWORK: agora.v1.FrameworkInfo.$Properties = { user: 'tester', name: 'test-fw', id: { value: 'F1' } };
const MASTER_INFO = { id: 'M1', ip: 16777343, port: 5050, hostname: 'master-host' };

function runTask(peer: MasterPeer, taskId: string, command: string, port = 31003): void {
  peer.send({
    run_task: {
      framework: FRAMEWORK,
      task: {
        name: `name-${taskId}`,
        task_id: { value: taskId },
        agent_id: { value: 'A1' },
        resources: [
          { name: 'cpus', type: ValueType.SCALAR, scalar: { value: 0.1 } },
          { name: 'mem', type: ValueType.SCALAR, scalar: { value: 32 } },
          { name: 'ports', type: ValueType.RANGES, ranges: { range: [{ begin: port, end: port }] } },
        ],
        command: { value: command },
      },
    },
  });
}

async function registerAgent(peer: MasterPeer, agent: Agent): Promise<agora.v1.agent.AgentToMaster.Register> {
  const register = await peer.next((m) => m.register, 'Register');
  peer.send({ registered: { agent_id: { value: 'A1' }, master_info: MASTER_INFO } });
  await waitFor(() => agent.agentId === 'A1', 'agent id');
  return register;
}

interface TaskJson {
  id: string;
  state: string;
  framework_id: string;
  slave_id: string;
  resources: Record<string, unknown>;
}
interface ExecutorJson {
  id: string;
  directory: string;
  tasks: TaskJson[];
  completed_tasks: TaskJson[];
}
interface FrameworkJson {
  id: string;
  name: string;
  executors: ExecutorJson[];
  completed_executors: ExecutorJson[];
}
interface StateJson {
  id: string;
  hostname: string;
  port: number;
  master_hostname: string;
  resources: Record<string, unknown>;
  attributes: Record<string, unknown>;
  frameworks: FrameworkJson[];
  completed_frameworks: FrameworkJson[];
}

async function getState(agent: Agent): Promise<StateJson> {
  const res = await fetch(`${agent.url}/state`);
  assert.is(res.status, 200);
  return (await res.json()) as StateJson;
}

function sandboxOf(state: StateJson, taskId: string): string {
  const dir = state.frameworks.flatMap((f) => f.executors).find((e) => e.id === taskId)?.directory;
  if (dir === undefined) throw new Error(`no executor for ${taskId} in /state`);
  return dir;
}

/** Start a task that records its pid and port, and wait until RUNNING is acked. */
async function startRunningTask(
  peer: MasterPeer,
  agent: Agent,
  taskId: string,
): Promise<{ pid: number; sandbox: string }> {
  runTask(peer, taskId, `${HOST_PID} > pid; echo "$PORT0" > port; exec sleep 1000`);
  peer.ack(await peer.update(taskId, TaskState.TASK_STARTING));
  peer.ack(await peer.update(taskId, TaskState.TASK_RUNNING));
  const state = await getState(agent);
  const sandbox = sandboxOf(state, taskId);
  const pid = await waitFor(
    () => existsSync(join(sandbox, 'pid')) && Number(readFileSync(join(sandbox, 'pid'), 'utf8')),
    'pid file',
  );
  cleanups.push(() => killGroup(pid));
  return { pid, sandbox };
}

test('registers, runs a task through STARTING and RUNNING (one unacked update at a time), and kills it', async () => {
  const peer = await startPeer();
  const agent = await startAgent(`127.0.0.1:${peer.port}`, 'basic');
  const register = await registerAgent(peer, agent);
  assert.is(register.agent_info.hostname, 'agent-under-test');
  assert.is(register.agent_info.port, agent.port);
  assert.is(register.agent_info.id, null);
  assert.equal(
    register.agent_info.resources.map((r) => r.name),
    ['cpus', 'mem', 'disk', 'ports'],
  );
  assert.equal(
    register.agent_info.attributes.map((a) => a.name),
    ['rack', 'level'],
  );

  runTask(peer, 't1', `echo "$PORT0 $PORTS $MESOS_TASK_ID" > out; ${HOST_PID} > pid; exec sleep 1000`);
  const starting = await peer.update('t1', TaskState.TASK_STARTING);
  assert.is(starting.framework_id.value, 'F1');
  assert.is(starting.status.source, TaskStatusSource.SOURCE_EXECUTOR);
  assert.is(starting.status.agent_id?.value, 'A1');
  assert.is(starting.status.uuid?.length, 16);

  const state1 = await getState(agent);
  const sandbox = sandboxOf(state1, 't1');
  assert.match(sandbox, join(root, 'basic', 'agents', 'A1', 'frameworks', 'F1', 'executors', 't1', 'runs'));
  const pid = await waitFor(
    () => existsSync(join(sandbox, 'pid')) && Number(readFileSync(join(sandbox, 'pid'), 'utf8')),
    'pid file',
  );
  cleanups.push(() => killGroup(pid));
  assert.is(readFileSync(join(sandbox, 'out'), 'utf8'), '31003 31003 t1\n');
  // The process runs, so RUNNING has happened on the agent; it waits for STARTING's ack.
  assert.equal(
    peer.updates('t1').map((u) => u.status.state),
    [TaskState.TASK_STARTING],
  );
  peer.ack(starting);
  const running = await peer.update('t1', TaskState.TASK_RUNNING);
  assert.is(running.latest_state, TaskState.TASK_RUNNING);
  peer.ack(running);

  const state = await getState(agent);
  assert.is(state.id, 'A1');
  assert.is(state.hostname, 'agent-under-test');
  assert.is(state.port, agent.port);
  assert.is(state.master_hostname, 'master-host');
  assert.equal(state.resources, { cpus: 2, gpus: 0, mem: 1024, disk: 1000, ports: '[31000-31009]' });
  assert.equal(state.attributes, { rack: 'r1', level: 3 });
  const framework = state.frameworks[0];
  const task = framework?.executors[0]?.tasks[0];
  assert.is(framework?.id, 'F1');
  assert.is(framework?.name, 'test-fw');
  if (task === undefined) throw new Error('no task in /state');
  assert.is(task.id, 't1');
  assert.is(task.state, 'TASK_RUNNING');
  assert.is(task.framework_id, 'F1');
  assert.is(task.slave_id, 'A1');
  assert.equal(task.resources, { cpus: 0.1, gpus: 0, mem: 32, disk: 0, ports: '[31003-31003]' });
  const health = await fetch(`${agent.url}/health`);
  assert.is(health.status, 200);

  const pongsBefore = peer.received.filter((m) => m.pong).length;
  peer.send({ ping: {} });
  await waitFor(() => peer.received.filter((m) => m.pong).length > pongsBefore, 'Pong');

  peer.send({ kill_task: { framework_id: { value: 'F1' }, task_id: { value: 't1' } } });
  const killed = await peer.update('t1', TaskState.TASK_KILLED);
  assert.is(killed.status.message, 'Command terminated with signal SIGTERM');
  assert.not.ok(isAlive(pid), 'the task process is gone');
  peer.ack(killed);
  await waitFor(async () => (await getState(agent)).completed_frameworks.length === 1, 'task completed');
  const done = await getState(agent);
  assert.is(done.frameworks.length, 0);
  assert.is(done.completed_frameworks[0]?.completed_executors[0]?.completed_tasks[0]?.state, 'TASK_KILLED');
});

test('a failing command reports TASK_FAILED with its exit status; an unknown task kill gets TASK_LOST', async () => {
  const peer = await startPeer();
  const agent = await startAgent(`http://127.0.0.1:${peer.port}`, 'failing');
  await registerAgent(peer, agent);
  runTask(peer, 'bad', 'exit 42');
  peer.ack(await peer.update('bad', TaskState.TASK_STARTING));
  peer.ack(await peer.update('bad', TaskState.TASK_RUNNING));
  const failed = await peer.update('bad', TaskState.TASK_FAILED);
  assert.is(failed.status.message, 'Command exited with status 42');
  peer.send({ kill_task: { framework_id: { value: 'F1' }, task_id: { value: 'ghost' } } });
  const lost = await peer.update('ghost', TaskState.TASK_LOST);
  assert.is(lost.status.source, TaskStatusSource.SOURCE_AGENT);
});

test('after the master restarts at the same address, the agent re-registers with its running task and resends unacked updates', async () => {
  const peer = await startPeer();
  const port = peer.port;
  const agent = await startAgent(`127.0.0.1:${port}`, 'restart');
  await registerAgent(peer, agent);
  const { pid } = await startRunningTask(peer, agent, 'keep');
  // One more task whose RUNNING update is left unacknowledged.
  runTask(peer, 'unacked', 'exec sleep 1000', 31004);
  peer.ack(await peer.update('unacked', TaskState.TASK_STARTING));
  const running = await peer.update('unacked', TaskState.TASK_RUNNING);

  await peer.close();
  const peer2 = await startPeer(port);
  const rereg = await peer2.next((m) => m.reregister, 'Reregister');
  assert.is(rereg.agent_info.id?.value, 'A1');
  assert.is(rereg.agent_info.port, agent.port);
  const tasks = new Map(rereg.tasks.map((t) => [t.task_id.value, t]));
  assert.equal([...tasks.keys()].sort(), ['keep', 'unacked']);
  assert.is(tasks.get('keep')?.state, TaskState.TASK_RUNNING);
  assert.is(tasks.get('keep')?.framework_id.value, 'F1');
  assert.is(tasks.get('keep')?.agent_id.value, 'A1');
  assert.is(tasks.get('keep')?.resources.length, 3);
  assert.is(tasks.get('unacked')?.status_update_state, TaskState.TASK_RUNNING);
  assert.equal(tasks.get('unacked')?.status_update_uuid, running.status.uuid);
  assert.equal(
    rereg.frameworks.map((f) => f.framework_info.id?.value),
    ['F1'],
  );
  assert.ok(isAlive(pid), 'the task kept running');

  const from = peer2.received.length;
  peer2.send({ reregistered: { agent_id: { value: 'A1' } } });
  const resent = await peer2.next((m) => m.status_update, 'resent RUNNING', from);
  assert.is(resent.status.task_id.value, 'unacked');
  assert.equal(resent.status.uuid, running.status.uuid, 'the same update, not a new one');
});

test('when the leader changes, the agent moves to the new master and re-registers; tasks keep running', async () => {
  const peerA = await startPeer();
  const detector = new MutableDetector(masterAt(peerA.port));
  const agent = await startAgent('127.0.0.1:1', 'failover', { detector });
  await registerAgent(peerA, agent);
  const { pid } = await startRunningTask(peerA, agent, 'survivor');

  const peerB = await startPeer();
  detector.set(masterAt(peerB.port));
  const rereg = await peerB.next((m) => m.reregister, 'Reregister at the new leader');
  await waitFor(() => !peerA.connected, 'the old connection closed');
  assert.equal(
    rereg.tasks.map((t) => [t.task_id.value, t.state]),
    [['survivor', TaskState.TASK_RUNNING]],
  );
  peerB.send({ reregistered: { agent_id: { value: 'A1' }, master_info: { ...MASTER_INFO, hostname: 'new-master' } } });
  await waitFor(async () => (await getState(agent)).master_hostname === 'new-master', 'new master in /state');
  assert.ok(isAlive(pid), 'the task kept running');

  peerB.send({ kill_task: { framework_id: { value: 'F1' }, task_id: { value: 'survivor' } } });
  await peerB.update('survivor', TaskState.TASK_KILLED);
  assert.not.ok(isAlive(pid));
});

test('a 307 from a master that does not lead sends the agent to the Location it names', async () => {
  const leader = await startPeer();
  const standby: Server = createServer((_req, res) =>
    res.writeHead(307, { Location: `//127.0.0.1:${leader.port}` }).end(),
  );
  standby.on('upgrade', (_req, socket) => {
    socket.end(`HTTP/1.1 307 Temporary Redirect\r\nLocation: //127.0.0.1:${leader.port}\r\nContent-Length: 0\r\n\r\n`);
  });
  await new Promise<void>((resolve) => standby.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => standby.close(() => resolve())));
  const agent = await startAgent(`127.0.0.1:${(standby.address() as AddressInfo).port}`, 'redirect');
  await registerAgent(leader, agent);
});

test('close({killTasks: true}) kills every task process group; close() without it leaves tasks running', async () => {
  const peer = await startPeer();
  const agent = await startAgent(`127.0.0.1:${peer.port}`, 'close-kill');
  await registerAgent(peer, agent);
  const a = await startRunningTask(peer, agent, 'k1');
  const b = await startRunningTask(peer, agent, 'k2');
  await agent.close({ killTasks: true });
  assert.not.ok(isAlive(a.pid));
  assert.not.ok(isAlive(b.pid));

  const peer2 = await startPeer();
  const agent2 = await startAgent(`127.0.0.1:${peer2.port}`, 'close-keep');
  await registerAgent(peer2, agent2);
  const c = await startRunningTask(peer2, agent2, 'k3');
  await agent2.close();
  assert.ok(isAlive(c.pid), 'left running');
  const refused = await fetch(`${agent2.url}/health`).then(
    () => false,
    () => true,
  );
  assert.ok(refused, 'the HTTP server is closed');
  killGroup(c.pid);
  await waitFor(() => !isAlive(c.pid), 'cleanup');
});

test('an agent whose port is taken refuses to start, naming the address', async () => {
  const peer = await startPeer();
  const first = await startAgent(`127.0.0.1:${peer.port}`, 'port-a');
  const second = createAgent(
    { master: `127.0.0.1:${peer.port}`, port: first.port, workDir: join(root, 'port-b') },
    { logger: silentLogger() },
  );
  try {
    await second.start();
    assert.unreachable('should not start');
  } catch (err) {
    assert.match((err as Error).message, `127.0.0.1:${first.port}`);
  }
  await second.close();
});

test.run();
