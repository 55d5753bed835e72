/**
 * Tasks on a custom executor get their persistent volumes in the executor's
 * sandbox (as Mesos mounts them into the executor's container), with a real
 * agent process and the SDK's example echo-executor: the first task's volume
 * at launch, a later task's volume mounted into the running executor's mount
 * namespace (read-only for RO), a volume already there is reused, the mounts
 * survive kill -9 and a restart of the agent, and none is left on the host
 * once the executor has ended.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agora, type Resource, TaskState } from '@agora/proto';
import { freePort } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { detectHostIsolation } from '../../src/isolation/isolation.js';
import { REPO, spawnAgent } from '../support/agent-process.js';
import { MasterPeer } from '../support/master-peer.js';
import { isAlive, waitFor } from '../support/wait.js';

const test = suite("custom executors: the tasks' persistent volumes in the executor's sandbox");
const EXAMPLE = join(REPO, 'packages/sdk/examples/echo-executor.ts');
const TSX = import.meta.resolve('tsx');
const FRAMEWORK: agora.v1.FrameworkInfo.$Properties = { user: 'tester', name: 'fw', id: { value: 'F1' } };
const MASTER_INFO = { id: 'M1', ip: 16777343, port: 5050, hostname: 'master-host' };
const { DYNAMIC } = agora.v1.Resource.ReservationInfo.Type;
const { RO, RW } = agora.v1.Volume.Mode;
const namespaces = detectHostIsolation().pidNamespace;

let root = '';
const cleanups: Array<() => Promise<void> | void> = [];
test.before(() => {
  root = mkdtempSync(join(tmpdir(), 'agora-exec-volumes-'));
});
test.after.each(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});
test.after(() => {
  for (const pid of executorPids()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  rmSync(root, { recursive: true, force: true });
});

function volume(id: string, path: string, mode: agora.v1.Volume.Mode): Resource {
  return {
    name: 'disk',
    type: agora.v1.Value.Type.SCALAR,
    scalar: { value: 10 },
    reservations: [{ type: DYNAMIC, role: 'db', principal: 'ops' }],
    disk: { persistence: { id }, volume: { container_path: path, mode } },
  };
}

/** The example executor's node processes started by this test (under `dir`), not its supervisor chain. */
function executorPids(dir = root): number[] {
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

/** `[mount point, options]` of the mounts under `dir` that process `pid` sees. */
function mountsOf(pid: number | 'self', dir: string): Array<[string, string]> {
  try {
    return readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f[4]?.startsWith(dir))
      .map((f) => [f[4] ?? '', f[5] ?? '']);
  } catch {
    return [];
  }
}

function runOnExecutor(peer: MasterPeer, taskId: string, resources: Resource[]): void {
  peer.send({
    run_task: {
      framework: FRAMEWORK,
      task: {
        name: taskId,
        task_id: { value: taskId },
        agent_id: { value: 'A1' },
        data: Buffer.from('forever'),
        resources,
        executor: {
          executor_id: { value: 'echo' },
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
  ).catch((err: Error) => {
    const seen = peer.updates(taskId).map((u) => `${TaskState[u.status.state]} ${u.status.message ?? ''}`);
    throw new Error(`${err.message}; got [${seen.join(', ')}]`);
  });
}

/** Run `script` in the executor's mount namespace; its exit status. */
function inExecutor(pid: number, script: string): number | null {
  return spawnSync('nsenter', ['--target', String(pid), '--mount', '--', '/bin/sh', '-c', script], { stdio: 'ignore' })
    .status;
}

test("the first task's volume at launch, a later task's mounted into the running executor, RO enforced", async () => {
  const peer = await MasterPeer.start();
  cleanups.push(() => peer.close());
  const workDir = join(root, 'w1');
  const port = await freePort();
  const first = spawnAgent(peer, workDir, port, cleanups, ['--executor_reregistration_timeout', '5secs']);
  await peer.next((m) => m.register, 'Register', 0, 30_000);
  peer.send({ registered: { agent_id: { value: 'A1' }, master_info: MASTER_INFO } });
  peer.send({ checkpoint_resources: { resources: [volume('v1', 'data', RW), volume('v2', 'ro', RW)] } });
  const v1 = join(workDir, 'volumes', 'roles', 'db', 'v1');
  const v2 = join(workDir, 'volumes', 'roles', 'db', 'v2');
  await waitFor(() => existsSync(v1) && existsSync(v2), 'the volume directories');

  runOnExecutor(peer, 't1', [volume('v1', 'data', RW)]);
  const running = await ackUntil(peer, 't1', TaskState.TASK_RUNNING);
  assert.is(running.status.source, agora.v1.TaskStatus.Source.SOURCE_EXECUTOR);
  const [pid] = executorPids(workDir);
  assert.ok(pid !== undefined, 'the executor runs');
  const sandbox = realpathSync(
    join(workDir, 'agents', 'A1', 'frameworks', 'F1', 'executors', 'echo', 'runs', 'latest'),
  );

  runOnExecutor(peer, 't2', [volume('v2', 'ro', RO)]);
  await ackUntil(peer, 't2', TaskState.TASK_RUNNING);
  runOnExecutor(peer, 't3', [volume('v1', 'data', RW)]); // already in the sandbox: reused
  await ackUntil(peer, 't3', TaskState.TASK_RUNNING);
  assert.equal(executorPids(workDir), [pid], 'one executor for the three tasks');

  if (namespaces) {
    const seen = new Map(mountsOf(pid, sandbox));
    assert.match(seen.get(join(sandbox, 'data')) ?? '', /^rw/, `the RW volume is mounted: ${[...seen]}`);
    assert.match(seen.get(join(sandbox, 'ro')) ?? '', /^ro/, 'the later RO volume is mounted read-only');
    assert.is(mountsOf('self', workDir).length, 0, "the host's mount table has none of them");
    assert.is(inExecutor(pid, `echo x > ${join(sandbox, 'data', 'from-executor')}`), 0);
    assert.not.equal(inExecutor(pid, `echo x > ${join(sandbox, 'ro', 'denied')}`), 0, 'RO: the write fails');
    assert.ok(existsSync(join(v1, 'from-executor')), 'the RW write reached the volume');
    assert.not.ok(existsSync(join(v2, 'denied')), 'nothing written to the RO volume');
  } else {
    assert.is(realpathSync(join(sandbox, 'data')), v1, 'posix fallback: a symlink');
    assert.is(realpathSync(join(sandbox, 'ro')), v2);
  }

  // kill -9 and a restart: the executor (and its mounts) carry on; a further task still works.
  await first.kill9();
  const from = peer.received.length;
  spawnAgent(peer, workDir, port, cleanups, ['--executor_reregistration_timeout', '5secs']);
  await peer.next((m) => m.reregister, 'Reregister', from, 30_000);
  peer.send({ reregistered: { agent_id: { value: 'A1' }, master_info: MASTER_INFO } });
  runOnExecutor(peer, 't4', [volume('v2', 'ro', RO)]); // listed in the recovered checkpoint: not mounted twice
  await ackUntil(peer, 't4', TaskState.TASK_RUNNING, from);
  if (namespaces) assert.is(mountsOf(pid, sandbox).length, 2, 'still the two mounts, none added twice');

  // The framework goes: the executor ends, and with it every mount.
  peer.send({ shutdown_framework: { framework_id: { value: 'F1' } } });
  await waitFor(() => !isAlive(pid), 'the executor ended', 30_000);
  await waitFor(() => mountsOf(pid, workDir).length === 0, 'no mount left', 10_000);
  assert.is(mountsOf('self', workDir).length, 0);
  assert.ok(existsSync(v1) && existsSync(v2), 'the volumes stay');
});

test('a task whose volume is not checkpointed fails before reaching the executor', async () => {
  const peer = await MasterPeer.start();
  cleanups.push(() => peer.close());
  const workDir = join(root, 'w2');
  spawnAgent(peer, workDir, await freePort(), cleanups);
  await peer.next((m) => m.register, 'Register', 0, 30_000);
  peer.send({ registered: { agent_id: { value: 'A1' }, master_info: MASTER_INFO } });
  runOnExecutor(peer, 'bad', [volume('nope', 'data', RW)]);
  const failed = await peer.update('bad', TaskState.TASK_FAILED, 30_000);
  assert.match(failed.status.message ?? '', /Cannot create the sandbox: persistent volume 'nope' .* not checkpointed/);
  assert.is(executorPids(workDir).length, 0, 'no executor was started');
});

test.run();
