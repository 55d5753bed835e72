/**
 * An idle custom executor (all its tasks ended and acknowledged) survives an
 * agent restart, with a real agent process killed with SIGKILL and the SDK's
 * example echo-executor: the executor run is checkpointed by itself
 * (`executors/<id>/executor.json`), so the restarted agent recovers it instead
 * of destroying it as an orphan; it re-subscribes and takes new tasks. An
 * idle executor that does not re-subscribe in time is killed and its
 * checkpoint removed.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type agora, TaskState } from '@agora/proto';
import { freePort } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO, spawnAgent } from '../support/agent-process.js';
import { MasterPeer } from '../support/master-peer.js';
import { isAlive, waitFor } from '../support/wait.js';

const test = suite('custom executors: an idle executor is recovered after kill -9 of the agent');
const EXAMPLE = join(REPO, 'packages/sdk/examples/echo-executor.ts');
const TSX = import.meta.resolve('tsx');
const FRAMEWORK: agora.v1.FrameworkInfo.$Properties = { user: 'tester', name: 'fw', id: { value: 'F1' } };
const MASTER_INFO = { id: 'M1', ip: 16777343, port: 5050, hostname: 'master-host' };

let root = '';
const cleanups: Array<() => Promise<void> | void> = [];
test.before(() => {
  root = mkdtempSync(join(tmpdir(), 'agora-exec-idle-'));
});
test.after.each(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});
test.after(() => {
  for (const pid of executorPids(root)) killHard(pid);
  rmSync(root, { recursive: true, force: true });
});

function killHard(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

/** The example executor's node processes started under `dir` (not its supervisor chain). */
function executorPids(dir: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (argv[0] !== process.execPath || !argv.some((a) => a.endsWith('echo-executor.ts'))) continue;
      if (readFileSync(`/proc/${name}/environ`, 'utf8').includes(`MESOS_SANDBOX=${dir}/`)) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

function runOnExecutor(peer: MasterPeer, taskId: string, data: string): void {
  peer.send({
    run_task: {
      framework: FRAMEWORK,
      task: {
        name: taskId,
        task_id: { value: taskId },
        agent_id: { value: 'A1' },
        data: Buffer.from(data),
        executor: {
          executor_id: { value: 'idle' },
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

async function ackUntil(peer: MasterPeer, taskId: string, state: TaskState, from = 0) {
  const acked = new Set<string>();
  return waitFor(
    () => {
      const updates = peer.received
        .slice(from)
        .flatMap((m) => (m.status_update?.status.task_id.value === taskId ? [m.status_update] : []));
      for (const u of updates) {
        const id = Buffer.from(u.status.uuid ?? []).toString('hex');
        if (!acked.has(id)) {
          acked.add(id);
          peer.ack(u);
        }
      }
      return updates.find((u) => u.status.state === state);
    },
    `${taskId} ${TaskState[state]}`,
    30_000,
  );
}

const executorFile = (workDir: string) =>
  join(workDir, 'meta', 'frameworks', 'F1', 'executors', 'idle', 'executor.json');
const taskDir = (workDir: string, taskId: string) => join(workDir, 'meta', 'frameworks', 'F1', 'tasks', taskId);

/** An agent whose executor 'idle' ran one short task, now finished and acknowledged (no task checkpoint left). */
async function idleExecutor(peer: MasterPeer, workDir: string, port: number, extra: string[]) {
  const agent = spawnAgent(peer, workDir, port, cleanups, extra);
  await peer.next((m) => m.register, 'Register', 0, 30_000);
  peer.send({ registered: { agent_id: { value: 'A1' }, master_info: MASTER_INFO } });
  runOnExecutor(peer, 'short', 'run:100');
  await ackUntil(peer, 'short', TaskState.TASK_FINISHED);
  await waitFor(() => !existsSync(taskDir(workDir, 'short')), 'the finished task checkpoint removed');
  assert.ok(existsSync(executorFile(workDir)), 'the executor run is checkpointed by itself');
  const [pid] = executorPids(workDir);
  assert.ok(pid !== undefined, 'the idle executor runs');
  return { agent, pid };
}

test('kill -9 with an idle executor, restart: it is recovered (not an orphan) and runs a new task', async () => {
  const peer = await MasterPeer.start();
  cleanups.push(() => peer.close());
  const workDir = join(root, 'w1');
  const port = await freePort();
  const extra = ['--executor_reregistration_timeout', '5secs'];
  const { agent, pid } = await idleExecutor(peer, workDir, port, extra);
  await agent.kill9();
  assert.ok(isAlive(pid), 'the executor outlived the agent');

  const from = peer.received.length;
  const second = spawnAgent(peer, workDir, port, cleanups, extra);
  await peer.next((m) => m.reregister, 'Reregister', from, 30_000);
  peer.send({ reregistered: { agent_id: { value: 'A1' }, master_info: MASTER_INFO } });
  await waitFor(() => /executor re-subscribed after the agent restart/.test(second.output()), 'the re-subscription');
  assert.not.match(second.output(), /destroyed an orphan container/);
  assert.ok(isAlive(pid), 'not destroyed');

  // Past the re-registration timeout it is still there, and takes a new task.
  await new Promise((r) => setTimeout(r, 5500));
  assert.ok(isAlive(pid));
  runOnExecutor(peer, 'next', 'forever');
  const running = await ackUntil(peer, 'next', TaskState.TASK_RUNNING, from);
  assert.match(running.status.message ?? '', /echo-executor runs 'forever'/);
  assert.equal(executorPids(workDir), [pid], 'the same executor, no new one');
  peer.send({ kill_task: { framework_id: { value: 'F1' }, task_id: { value: 'next' } } });
  const killed = await ackUntil(peer, 'next', TaskState.TASK_KILLED, from);
  assert.is(killed.status.message, 'killed by the echo-executor');
});

test('an idle executor that does not re-subscribe in time is killed and its checkpoint removed', async () => {
  const peer = await MasterPeer.start();
  cleanups.push(() => peer.close());
  const workDir = join(root, 'w2');
  const port = await freePort();
  const extra = ['--executor_reregistration_timeout', '1secs'];
  const { agent, pid } = await idleExecutor(peer, workDir, port, extra);
  await agent.kill9();
  process.kill(pid, 'SIGSTOP'); // hung: it will not re-subscribe
  cleanups.push(() => killHard(pid));
  const from = peer.received.length;
  const second = spawnAgent(peer, workDir, port, cleanups, extra);
  await peer.next((m) => m.reregister, 'Reregister', from, 30_000);
  await waitFor(() => !isAlive(pid), 'the hung idle executor was killed', 20_000);
  await waitFor(() => !existsSync(executorFile(workDir)), 'its checkpoint removed');
  assert.match(second.output(), /did not re-subscribe in time/);
  assert.is(
    peer.received.slice(from).filter((m) => m.status_update !== null && m.status_update !== undefined).length,
    0,
    'no task to report',
  );
});

test.run();
