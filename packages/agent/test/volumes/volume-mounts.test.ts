/**
 * Persistent volumes inside real containers, with a real agent process: where
 * the container has its own pid and mount namespaces the volume is
 * bind-mounted into the sandbox (read-only for RO) in the container's
 * namespace only; the data outlives the task; after kill -9 and a restart the
 * recovered container still has its volume; when the containers end no mount
 * is left anywhere on the host; sandbox GC removes finished sandboxes and
 * never the volume. On a host without the namespaces (posix fallback) the
 * volume is a symlink and RO is not enforced.
 */
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agora, type Resource, TaskState } from '@agora/proto';
import { freePort } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { detectHostIsolation } from '../../src/isolation/isolation.js';
import { spawnAgent } from '../support/agent-process.js';
import { MasterPeer } from '../support/master-peer.js';
import { waitFor } from '../support/wait.js';

const test = suite('persistent volumes in containers: bind mounts in the container mount namespace, RO enforced');
const FRAMEWORK: agora.v1.FrameworkInfo.$Properties = { user: 'tester', name: 'fw', id: { value: 'F1' } };
const MASTER_INFO = { id: 'M1', ip: 16777343, port: 5050, hostname: 'master-host' };
const { DYNAMIC } = agora.v1.Resource.ReservationInfo.Type;
const namespaces = detectHostIsolation().pidNamespace;

let root = '';
const cleanups: Array<() => Promise<void> | void> = [];
test.before(() => {
  root = mkdtempSync(join(tmpdir(), 'agora-volume-mounts-'));
});
test.after.each(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});
test.after(() => {
  rmSync(root, { recursive: true, force: true });
});

function volume(id: string, mode: agora.v1.Volume.Mode, path = 'data'): Resource {
  return {
    name: 'disk',
    type: agora.v1.Value.Type.SCALAR,
    scalar: { value: 10 },
    reservations: [{ type: DYNAMIC, role: 'db', principal: 'ops' }],
    disk: { persistence: { id }, volume: { container_path: path, mode } },
  };
}

function runTask(
  peer: MasterPeer,
  taskId: string,
  command: string,
  mode: agora.v1.Volume.Mode,
  extra: Partial<agora.v1.TaskInfo.$Properties> = {},
): void {
  peer.send({
    run_task: {
      framework: FRAMEWORK,
      task: {
        ...extra,
        name: taskId,
        task_id: { value: taskId },
        agent_id: { value: 'A1' },
        command: { value: command },
        resources: [{ name: 'cpus', type: agora.v1.Value.Type.SCALAR, scalar: { value: 0.1 } }, volume('v1', mode)],
      },
    },
  });
}

/** Mount points of every process on the host that lie under `dir` (any mount namespace). */
function mountsUnder(dir: string): string[] {
  const out = new Set<string>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${name}/mountinfo`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const point = line.split(' ')[4];
      if (point?.startsWith(dir)) out.add(`${name}: ${point}`);
    }
  }
  return [...out];
}

test('RW data outlives the task, RO cannot be written, the mount survives an agent restart and leaves nothing behind', async () => {
  const peer = await MasterPeer.start();
  cleanups.push(() => peer.close());
  const workDir = join(root, 'w1');
  const port = await freePort();
  const agent = spawnAgent(peer, workDir, port, cleanups);
  await peer.next((m) => m.register, 'Register', 0, 30_000);
  peer.send({ registered: { agent_id: { value: 'A1' }, master_info: MASTER_INFO } });
  const volumeDir = join(workDir, 'volumes', 'roles', 'db', 'v1');
  peer.send({ checkpoint_resources: { resources: [volume('v1', agora.v1.Volume.Mode.RW)] } });
  await waitFor(() => existsSync(volumeDir), 'the volume directory');
  const sandbox = (taskId: string) =>
    realpathSync(join(workDir, 'agents', 'A1', 'frameworks', 'F1', 'executors', taskId, 'runs', 'latest'));
  const ended = async (taskId: string, state: TaskState) => {
    // Updates are sent one at a time: acknowledge each until `state` arrives.
    const acked = new Set<string>();
    const update = await waitFor(
      () => {
        for (const u of peer.updates(taskId)) {
          const id = Buffer.from(u.status.uuid ?? []).toString('hex');
          if (!acked.has(id)) {
            acked.add(id);
            peer.ack(u);
          }
        }
        return peer.updates(taskId).find((u) => u.status.state === state);
      },
      `${taskId} ${TaskState[state]}`,
      30_000,
    ).catch((err: Error) => {
      const seen = peer.updates(taskId).map((u) => `${TaskState[u.status.state]} ${u.status.message ?? ''}`);
      throw new Error(`${err.message}; got [${seen.join(', ')}]; agent log: ${agent.output().slice(-2000)}`);
    });
    return update.status;
  };
  const grepMount = 'grep " $MESOS_SANDBOX/data " /proc/self/mountinfo > mounts';

  // RW: the task writes into the volume.
  runTask(peer, 'writer', `echo kept > data/kept && { ${grepMount}; true; }`, agora.v1.Volume.Mode.RW);
  await ended('writer', TaskState.TASK_FINISHED);
  assert.is(readFileSync(join(volumeDir, 'kept'), 'utf8'), 'kept\n');
  const data = lstatSync(join(sandbox('writer'), 'data'));
  if (namespaces) {
    assert.ok(data.isDirectory() && !data.isSymbolicLink(), 'a mount point, not a link');
    assert.match(
      readFileSync(join(sandbox('writer'), 'mounts'), 'utf8'),
      / rw,/,
      'the task saw a read-write bind mount',
    );
  } else {
    assert.ok(data.isSymbolicLink(), 'posix fallback: a symlink');
  }

  // RO: the next task reads the data but cannot write.
  runTask(peer, 'reader', 'cat data/kept > seen; touch data/ro-write', agora.v1.Volume.Mode.RO);
  if (namespaces) {
    const status = await ended('reader', TaskState.TASK_FAILED);
    assert.match(status.message ?? '', /exited with status 1/);
    assert.not.ok(existsSync(join(volumeDir, 'ro-write')), 'nothing was written to the RO volume');
    assert.match(readFileSync(join(sandbox('reader'), 'stderr'), 'utf8'), /Read-only file system/);
  } else {
    await ended('reader', TaskState.TASK_FINISHED); // documented: RO is not enforced without a mount namespace
  }
  assert.is(readFileSync(join(sandbox('reader'), 'seen'), 'utf8'), 'kept\n', 'the RW data reached the next task');

  // A running task keeps its mount across kill -9 and a restart of the agent; the host never sees it.
  // Its COMMAND check runs inside the container (pid and mount namespaces): it sees the volume's file.
  const check: agora.v1.CheckInfo.$Properties = {
    type: agora.v1.CheckInfo.Type.COMMAND,
    command: { command: { value: 'test -f data/more' } },
    delay_seconds: 0,
    interval_seconds: 0.5,
  };
  runTask(peer, 'sleeper', `${grepMount}; echo more > data/more; exec sleep 1000`, agora.v1.Volume.Mode.RW, { check });
  await ended('sleeper', TaskState.TASK_RUNNING);
  await waitFor(() => existsSync(join(volumeDir, 'more')), 'the running task wrote to its volume');
  const hostMounts = readFileSync('/proc/self/mountinfo', 'utf8');
  assert.not.ok(hostMounts.includes(workDir), "the host's mount table has none of the container's mounts");
  await agent.kill9();
  const from = peer.received.length;
  const second = spawnAgent(peer, workDir, port, cleanups, ['--gc_delay', '1secs', '--disk_watch_interval', '1secs']);
  await peer.next((m) => m.reregister, 'Reregister', from, 30_000);
  peer.send({ reregistered: { agent_id: { value: 'A1' }, master_info: MASTER_INFO } });
  if (namespaces) {
    // The recovered container still has its volume: a task-side process sees the mount.
    assert.ok(mountsUnder(join(sandbox('sleeper'), 'data')).length > 0, 'the container namespace keeps the mount');
  }
  if (namespaces) {
    // The recovered task's check enters the container's mount namespace: the file is there (exit code 0).
    const acked = new Set<string>();
    const checked = await waitFor(
      () => {
        const updates = peer.received
          .slice(from)
          .flatMap((m) => (m.status_update?.status.task_id.value === 'sleeper' ? [m.status_update] : []));
        for (const u of updates) {
          const id = Buffer.from(u.status.uuid ?? []).toString('hex');
          if (!acked.has(id)) {
            acked.add(id);
            peer.ack(u); // updates go one at a time
          }
        }
        return updates.find((u) => u.status.check_status?.command?.exit_code === 0);
      },
      "the recovered task's check saw the volume",
      20_000,
    ).catch((err: Error) => {
      const seen = peer.updates('sleeper').map((u) => JSON.stringify(u.status.toJSON()).slice(0, 400));
      throw new Error(`${err.message}: ${seen.join('\n')}\n${second.output().slice(-3000)}`);
    });
    assert.is(checked.status.state, TaskState.TASK_RUNNING);
  }
  // /files serves the sandbox: the mount point is an (empty, on the host) directory.
  const browse = await fetch(`http://127.0.0.1:${port}/files/browse?path=${encodeURIComponent(sandbox('sleeper'))}`);
  assert.is(browse.status, 200);
  const entries = (await browse.json()) as Array<{ path: string; mode: string }>;
  assert.ok(
    entries.some((e) => e.path.endsWith('/data')),
    JSON.stringify(entries),
  );

  const writerSandbox = sandbox('writer');
  peer.send({ kill_task: { framework_id: { value: 'F1' }, task_id: { value: 'sleeper' } } });
  await ended('sleeper', TaskState.TASK_KILLED);
  await waitFor(() => mountsUnder(workDir).length === 0, 'no mount of the work dir left in any namespace', 20_000);
  // Sandbox GC removes finished sandboxes (and their mount points), never the volume.
  await waitFor(() => !existsSync(writerSandbox), "GC removed the writer's sandbox", 20_000);
  assert.is(readFileSync(join(volumeDir, 'kept'), 'utf8'), 'kept\n');
  assert.is(readFileSync(join(volumeDir, 'more'), 'utf8'), 'more\n');
  assert.not.match(second.output(), /cannot mount/);
});

test('a volume whose mount point is taken in the sandbox, or is not checkpointed, fails the task', async () => {
  const peer = await MasterPeer.start();
  cleanups.push(() => peer.close());
  const workDir = join(root, 'w2');
  spawnAgent(peer, workDir, await freePort(), cleanups);
  await peer.next((m) => m.register, 'Register', 0, 30_000);
  peer.send({ registered: { agent_id: { value: 'A1' }, master_info: MASTER_INFO } });
  // Not checkpointed on this agent (no CheckpointResources yet).
  runTask(peer, 'unknown', 'true', agora.v1.Volume.Mode.RW);
  const unknown = await peer.update('unknown', TaskState.TASK_FAILED, 30_000);
  assert.match(unknown.status.message ?? '', /Cannot create the sandbox: persistent volume 'v1' .* not checkpointed/);
  assert.is(mountsUnder(workDir).length, 0);
});

test.run();
