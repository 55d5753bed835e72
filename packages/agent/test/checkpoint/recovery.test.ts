/**
 * Agent restart with real processes: a real agent process (the CLI) is
 * killed with SIGKILL while its tasks run, then started again on the same
 * work dir against the same (peer) master. Tasks keep running, the agent
 * re-registers with the same id, unacknowledged updates are resent with the
 * same uuid, a task that ended while the agent was down is reported with its
 * real exit status, a corrupt checkpoint costs only its own task (TASK_LOST),
 * and a changed boot id makes the agent register as new and report TASK_GONE.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type agora, TaskState, ValueType } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type AgentProcess, spawnAgent } from '../support/agent-process.js';
import { MasterPeer } from '../support/master-peer.js';
import { isAlive, waitFor } from '../support/wait.js';

const test = suite('agent kill -9 and recovery');
const HOST_PID = 'read -r p _ < /proc/self/stat; echo "$p"';
const FRAMEWORK: agora.v1.FrameworkInfo.$Properties = { user: 'tester', name: 'fw', id: { value: 'F1' } };
const MASTER_INFO = { id: 'M1', ip: 16777343, port: 5050, hostname: 'master-host' };

let root = '';
const cleanups: Array<() => Promise<void> | void> = [];

test.before(() => {
  root = mkdtempSync(join(tmpdir(), 'agora-recovery-'));
});
test.after.each(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});
test.after(() => {
  rmSync(root, { recursive: true, force: true });
});

function runTask(peer: MasterPeer, taskId: string, command: string): void {
  peer.send({
    run_task: {
      framework: FRAMEWORK,
      task: {
        name: taskId,
        task_id: { value: taskId },
        agent_id: { value: 'A1' },
        resources: [
          { name: 'cpus', type: ValueType.SCALAR, scalar: { value: 0.1 } },
          { name: 'mem', type: ValueType.SCALAR, scalar: { value: 64 } },
        ],
        command: { value: command },
      },
    },
  });
}

function sandbox(workDir: string, taskId: string): string {
  return join(workDir, 'agents', 'A1', 'frameworks', 'F1', 'executors', taskId, 'runs', 'latest');
}

function hostPid(workDir: string, taskId: string): Promise<number> {
  const file = join(sandbox(workDir, taskId), 'pid');
  return waitFor(() => existsSync(file) && Number(readFileSync(file, 'utf8')), `${taskId} pid`);
}

/** Start an agent, register it as A1, and run `tasks`; RUNNING of `unacked` stays unacknowledged. */
async function agentWithTasks(
  peer: MasterPeer,
  workDir: string,
  tasks: Record<string, string>,
  unacked: string[] = [],
): Promise<AgentProcess> {
  const agent = spawnAgent(peer, workDir, 0, cleanups);
  await peer.next((m) => m.register, 'Register', 0, 30_000);
  peer.send({ registered: { agent_id: { value: 'A1' }, master_info: MASTER_INFO } });
  await waitFor(() => existsSync(join(workDir, 'meta', 'agent.json')), 'agent id checkpointed');
  for (const [id, command] of Object.entries(tasks)) runTask(peer, id, command);
  for (const id of Object.keys(tasks)) {
    peer.ack(await peer.update(id, TaskState.TASK_STARTING));
    const running = await peer.update(id, TaskState.TASK_RUNNING);
    if (!unacked.includes(id)) peer.ack(running);
  }
  // The acks are checkpointed too: wait until each task's file has no pending update left but the unacked one.
  await waitFor(() => {
    for (const id of Object.keys(tasks)) {
      const file = join(workDir, 'meta', 'frameworks', 'F1', 'tasks', id, 'task.json');
      if (!existsSync(file)) return false;
      const pending = (JSON.parse(readFileSync(file, 'utf8')) as { pending: unknown[] }).pending.length;
      if (pending !== (unacked.includes(id) ? 1 : 0)) return false;
    }
    return true;
  }, 'acks checkpointed');
  return agent;
}

test('kill -9, restart: same agent id, task still running, unacked update resent, exit while down reported', async () => {
  const peer = await MasterPeer.start();
  cleanups.push(() => peer.close());
  const workDir = join(root, 'restart');
  const first = await agentWithTasks(
    peer,
    workDir,
    {
      keep: `${HOST_PID} > pid; exec sleep 1000`,
      ends: `${HOST_PID} > pid; while [ ! -e go ]; do sleep 0.05; done; exit 3`,
    },
    ['ends'],
  );
  const keepPid = await hostPid(workDir, 'keep');
  const endsPid = await hostPid(workDir, 'ends');
  cleanups.push(() => {
    for (const p of [keepPid, endsPid]) if (isAlive(p)) process.kill(p, 'SIGKILL');
  });
  const unackedRunning = peer.updates('ends').find((u) => u.status.state === TaskState.TASK_RUNNING);
  await first.kill9();
  assert.ok(isAlive(keepPid), 'the task survives the agent');
  // The other task ends while the agent is down.
  writeFileSync(join(sandbox(workDir, 'ends'), 'go'), '');
  await waitFor(() => !isAlive(endsPid), 'the task ended while the agent was down');

  const from = peer.received.length;
  const second = spawnAgent(peer, workDir, 0, cleanups, ['--cgroups_enable_cfs', '--enforce_container_disk_quota']);
  const rereg = await peer.next((m) => m.reregister, 'Reregister', from, 30_000);
  assert.is(rereg.agent_info.id?.value, 'A1');
  assert.equal(rereg.tasks.map((t) => t.task_id.value).sort(), ['ends', 'keep']);
  assert.ok(!peer.received.slice(from).some((m) => m.register), 'no registration as a new agent');
  peer.send({ reregistered: { agent_id: { value: 'A1' }, master_info: MASTER_INFO } });

  // The unacknowledged RUNNING comes again with the same uuid, then the real exit status.
  const resent = await peer.next(
    (m) => (m.status_update?.status.task_id.value === 'ends' ? m.status_update : undefined),
    'resent update',
    from,
  );
  assert.is(resent.status.state, TaskState.TASK_RUNNING);
  assert.equal(resent.status.uuid, unackedRunning?.status.uuid);
  peer.ack(resent);
  const failed = await peer.update('ends', TaskState.TASK_FAILED);
  assert.is(failed.status.message, 'Command exited with status 3');
  peer.ack(failed);

  // The surviving task is monitored and killable; nothing was relaunched.
  assert.ok(isAlive(keepPid));
  const url = await waitFor(() => /"url":"(http:\/\/[^"]+)"/.exec(second.output())?.[1], 'agent url in the log');
  const stats = (await (await fetch(`${url}/monitor/statistics`)).json()) as Array<{
    executor_id: string;
    statistics: { processes: number; mem_limit_bytes?: number };
  }>;
  assert.equal(
    stats.map((s) => s.executor_id),
    ['keep'],
  );
  assert.ok((stats[0]?.statistics.processes ?? 0) >= 1);
  const state = (await (await fetch(`${url}/state`)).json()) as {
    id: string;
    isolation: { mode: string; cfs: boolean; enforce_container_disk_quota: boolean };
  };
  assert.is(state.id, 'A1');
  assert.is(state.isolation.cfs, state.isolation.mode !== 'posix', '--cgroups_enable_cfs reaches the agent');
  assert.is(state.isolation.enforce_container_disk_quota, true);
  peer.send({ kill_task: { framework_id: { value: 'F1' }, task_id: { value: 'keep' } } });
  await peer.update('keep', TaskState.TASK_KILLED);
  await waitFor(() => !isAlive(keepPid), 'the recovered task killed');
  const keepStates = peer.updates('keep').map((u) => TaskState[u.status.state]);
  assert.equal(keepStates.filter((s) => s === 'TASK_STARTING').length, 1, 'never launched twice');
  await second.kill9();
});

test('a corrupt task checkpoint: that task is reported TASK_LOST and its container destroyed, the others recover', async () => {
  const peer = await MasterPeer.start();
  cleanups.push(() => peer.close());
  const workDir = join(root, 'corrupt');
  const first = await agentWithTasks(peer, workDir, {
    good: `${HOST_PID} > pid; exec sleep 1000`,
    bad: `${HOST_PID} > pid; exec sleep 1000`,
  });
  const goodPid = await hostPid(workDir, 'good');
  const badPid = await hostPid(workDir, 'bad');
  cleanups.push(() => {
    for (const p of [goodPid, badPid]) if (isAlive(p)) process.kill(p, 'SIGKILL');
  });
  await first.kill9();
  writeFileSync(join(workDir, 'meta', 'frameworks', 'F1', 'tasks', 'bad', 'task.json'), '{"taskId": "bad", trunc');
  const from = peer.received.length;
  const second = spawnAgent(peer, workDir, 0, cleanups);
  const rereg = await peer.next((m) => m.reregister, 'Reregister', from, 30_000);
  assert.is(rereg.agent_info.id?.value, 'A1');
  peer.send({ reregistered: { agent_id: { value: 'A1' }, master_info: MASTER_INFO } });
  const lost = await peer.update('bad', TaskState.TASK_LOST);
  assert.match(lost.status.message ?? '', /checkpoint is corrupt/);
  assert.match(second.output(), /task checkpoint is corrupt/);
  // Its container is named by no readable checkpoint: an orphan, destroyed at recovery; the good one runs on.
  await waitFor(() => !isAlive(badPid), 'the corrupt task’s container destroyed', 20_000);
  assert.match(second.output(), /destroyed an orphan container/);
  assert.ok(isAlive(goodPid), 'the recovered task still runs');
  peer.ack(lost);
  peer.send({ kill_task: { framework_id: { value: 'F1' }, task_id: { value: 'good' } } });
  await peer.update('good', TaskState.TASK_KILLED);
  await waitFor(() => !isAlive(goodPid), 'the recovered task killed');
  await second.kill9();
});

test('a changed boot id: the agent registers as new and reports the old tasks TASK_GONE', async () => {
  const peer = await MasterPeer.start();
  cleanups.push(() => peer.close());
  const workDir = join(root, 'reboot');
  const first = await agentWithTasks(peer, workDir, { old: `${HOST_PID} > pid; exec sleep 1000` });
  const oldPid = await hostPid(workDir, 'old');
  cleanups.push(() => {
    if (isAlive(oldPid)) process.kill(oldPid, 'SIGKILL');
  });
  await first.kill9();
  const agentFile = join(workDir, 'meta', 'agent.json');
  const saved = JSON.parse(readFileSync(agentFile, 'utf8')) as { bootId: string };
  writeFileSync(agentFile, JSON.stringify({ ...saved, bootId: 'a-boot-before-a-reboot' }));
  const from = peer.received.length;
  const second = spawnAgent(peer, workDir, 0, cleanups);
  await peer.next((m) => m.register, 'Register as a new agent', from, 30_000);
  assert.ok(!peer.received.slice(from).some((m) => m.reregister));
  peer.send({ registered: { agent_id: { value: 'A2' }, master_info: MASTER_INFO } });
  const gone = await peer.update('old', TaskState.TASK_GONE);
  assert.is(gone.status.agent_id?.value, 'A1');
  await waitFor(() => !isAlive(oldPid), 'what was left of the old container is killed');
  peer.ack(gone);
  await waitFor(
    () => (JSON.parse(readFileSync(agentFile, 'utf8')) as { agentId: string }).agentId === 'A2',
    'the new id checkpointed',
  );
  await second.kill9();
});

test('an unknown isolator: the agent refuses to start with a clear error', async () => {
  const peer = await MasterPeer.start();
  cleanups.push(() => peer.close());
  const agent = spawnAgent(peer, join(root, 'bad-flag'), 0, cleanups, ['--isolation', 'cgroups/cpu,network/magic']);
  const code = await agent.exited;
  assert.is.not(code, 0);
  assert.match(agent.output(), /unknown isolator "network\/magic"/);
  assert.is(peer.connectionCount, 0);
});

test.run();
