/**
 * Custom executors survive an agent restart, with real processes: a real
 * agent process (the CLI) runs tasks on the SDK's example echo-executor, is
 * killed with SIGKILL, and is started again on the same work dir and port. The
 * executor keeps running, re-subscribes with its unacknowledged tasks and
 * updates (a task that finished while the agent was down is reported), and
 * stays usable (a kill reaches it). An executor that does not re-subscribe
 * within --executor_reregistration_timeout is killed and its tasks reported
 * TASK_LOST (REASON_EXECUTOR_REREGISTRATION_TIMEOUT).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type agora, TaskState, TaskStatusReason } from '@agora/proto';
import { freePort } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type AgentProcess, REPO, spawnAgent } from '../support/agent-process.js';
import { MasterPeer } from '../support/master-peer.js';
import { isAlive, waitFor } from '../support/wait.js';

const test = suite('custom executors: kill -9 of the agent, restart, the executor re-subscribes');
const EXAMPLE = join(REPO, 'packages/sdk/examples/echo-executor.ts');
const TSX = import.meta.resolve('tsx');
const FRAMEWORK: agora.v1.FrameworkInfo.$Properties = { user: 'tester', name: 'fw', id: { value: 'F1' } };
const REREGISTRATION = ['--executor_reregistration_timeout', '2secs'];
const MASTER_INFO = { id: 'M1', ip: 16777343, port: 5050, hostname: 'master-host' };

let root = '';
const cleanups: Array<() => Promise<void> | void> = [];
test.before(() => {
  root = mkdtempSync(join(tmpdir(), 'agora-exec-recovery-'));
});
test.after.each(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});
test.after(() => {
  for (const pid of executorPids()) killHard(pid);
  rmSync(root, { recursive: true, force: true });
});

function killHard(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

/** The example executor's processes started for this test (by MESOS_SANDBOX under the root). */
function executorPids(executorId?: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (!readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('echo-executor.ts')) continue;
      const env = readFileSync(`/proc/${name}/environ`, 'utf8');
      if (!env.includes(`MESOS_SANDBOX=${root}`)) continue;
      if (executorId !== undefined && !env.includes(`MESOS_EXECUTOR_ID=${executorId}\0`)) continue;
      out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

function runOnExecutor(peer: MasterPeer, taskId: string, executorId: string, data: string): void {
  peer.send({
    run_task: {
      framework: FRAMEWORK,
      task: {
        name: taskId,
        task_id: { value: taskId },
        agent_id: { value: 'A1' },
        data: Buffer.from(data),
        executor: {
          executor_id: { value: executorId },
          command: { value: `exec "${process.execPath}" --conditions=development --import "${TSX}" "${EXAMPLE}"` },
          resources: [
            { name: 'cpus', type: 0, scalar: { value: 0.1 } },
            { name: 'mem', type: 0, scalar: { value: 128 } },
          ],
        },
      },
    },
  });
}

const taskFile = (workDir: string, taskId: string) =>
  join(workDir, 'meta', 'frameworks', 'F1', 'tasks', taskId, 'task.json');

/** Start the agent, register it as A1, run the tasks on `executorId`, ack RUNNING, wait until checkpointed. */
async function agentWithExecutorTasks(
  peer: MasterPeer,
  workDir: string,
  port: number,
  executorId: string,
  tasks: Record<string, string>,
): Promise<AgentProcess> {
  const agent = spawnAgent(peer, workDir, port, cleanups, REREGISTRATION);
  await peer.next((m) => m.register, 'Register', 0, 30_000);
  peer.send({ registered: { agent_id: { value: 'A1' }, master_info: MASTER_INFO } });
  await waitFor(() => existsSync(join(workDir, 'meta', 'agent.json')), 'agent id checkpointed');
  for (const [id, data] of Object.entries(tasks)) runOnExecutor(peer, id, executorId, data);
  for (const id of Object.keys(tasks)) peer.ack(await peer.update(id, TaskState.TASK_RUNNING, 30_000));
  await waitFor(() => {
    for (const id of Object.keys(tasks)) {
      if (!existsSync(taskFile(workDir, id))) return false;
      const cp = JSON.parse(readFileSync(taskFile(workDir, id), 'utf8')) as {
        pending: unknown[];
        container?: { kind?: string };
      };
      if (cp.pending.length !== 0 || cp.container?.kind !== 'agora-executor/1') return false;
    }
    return true;
  }, 'tasks checkpointed with their executor, acks too');
  return agent;
}

test('kill -9, restart: the executor re-subscribes; its tasks keep running; an update made meanwhile arrives', async () => {
  const peer = await MasterPeer.start();
  cleanups.push(() => peer.close());
  const workDir = join(root, 'w1');
  const port = await freePort();
  const first = await agentWithExecutorTasks(peer, workDir, port, 'echo', { forever: 'forever', later: 'run:1500' });
  const pids = executorPids('echo');
  assert.ok(pids.length > 0, 'the executor runs');
  await first.kill9();
  // While the agent is down the executor stays up, and 'later' finishes (its update waits in the driver).
  await new Promise((r) => setTimeout(r, 2000));
  assert.ok(pids.some(isAlive), 'the executor outlived the agent');

  const from = peer.received.length;
  const second = spawnAgent(peer, workDir, port, cleanups, REREGISTRATION);
  const rereg = await peer.next((m) => m.reregister, 'Reregister', from, 30_000);
  assert.equal(rereg.agent_info.id?.value, 'A1');
  assert.equal(rereg.tasks.map((t) => t.task_id.value).sort(), ['forever', 'later']);
  peer.send({ reregistered: { agent_id: { value: 'A1' }, master_info: MASTER_INFO } });

  const finished = await waitFor(
    () => peer.received.slice(from).find((m) => m.status_update?.status.task_id.value === 'later'),
    "'later' reported after the restart",
    20_000,
  );
  assert.is(
    finished.status_update?.status.state,
    TaskState.TASK_FINISHED,
    finished.status_update?.status.message ?? '',
  );
  peer.ack(finished.status_update as agora.v1.agent.AgentToMaster.StatusUpdate);
  // The recovered executor's container is measured: one /monitor/statistics entry for it.
  const stats = (await (await fetch(`http://127.0.0.1:${port}/monitor/statistics`)).json()) as Array<{
    executor_id: string;
    statistics: { processes: number; mem_rss_bytes: number };
  }>;
  const entry = stats.filter((e) => e.executor_id === 'echo');
  assert.is(entry.length, 1, JSON.stringify(stats));
  assert.ok((entry[0]?.statistics.processes ?? 0) >= 1 && (entry[0]?.statistics.mem_rss_bytes ?? 0) > 0);
  // The executor is connected again: a kill reaches it and it answers.
  peer.send({ kill_task: { framework_id: { value: 'F1' }, task_id: { value: 'forever' } } });
  const killed = await waitFor(
    () => peer.received.slice(from).find((m) => m.status_update?.status.task_id.value === 'forever'),
    "'forever' killed",
    20_000,
  );
  assert.is(killed.status_update?.status.state, TaskState.TASK_KILLED);
  assert.is(killed.status_update?.status.message, 'killed by the echo-executor');
  assert.ok(!peer.received.some((m) => m.status_update?.status.state === TaskState.TASK_FAILED), 'no task failed');
  assert.match(second.output(), /executor re-subscribed after the agent restart/);
  assert.ok(
    executorPids('echo').every((p) => pids.includes(p)),
    'the same executor, not a new one',
  );
});

test('an executor that does not re-subscribe in time is killed; its tasks are TASK_LOST', async () => {
  const peer = await MasterPeer.start();
  cleanups.push(() => peer.close());
  const workDir = join(root, 'w2');
  const port = await freePort();
  const first = await agentWithExecutorTasks(peer, workDir, port, 'stuck', { hung: 'forever' });
  const pids = executorPids('stuck');
  assert.ok(pids.length > 0);
  await first.kill9();
  for (const pid of pids) process.kill(pid, 'SIGSTOP'); // hung: it will not re-subscribe
  cleanups.push(() => {
    for (const pid of pids) killHard(pid);
  });
  const from = peer.received.length;
  spawnAgent(peer, workDir, port, cleanups, REREGISTRATION);
  await peer.next((m) => m.reregister, 'Reregister', from, 30_000);
  peer.send({ reregistered: { agent_id: { value: 'A1' }, master_info: MASTER_INFO } });
  const lost = await waitFor(
    () => peer.received.slice(from).find((m) => m.status_update?.status.task_id.value === 'hung'),
    "'hung' reported",
    20_000,
  );
  assert.is(lost.status_update?.status.state, TaskState.TASK_LOST);
  assert.is(lost.status_update?.status.reason, TaskStatusReason.REASON_EXECUTOR_REREGISTRATION_TIMEOUT);
  assert.match(lost.status_update?.status.message ?? '', /did not reregister within 2000 ms/);
  await waitFor(() => !pids.some(isAlive), 'the hung executor was killed', 20_000);
});

test.run();
