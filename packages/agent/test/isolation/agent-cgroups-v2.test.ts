/**
 * A whole in-process agent forced onto cgroup v2 (`cgroupsVersion: 'v2'`,
 * the `--cgroups_version v2` flag) on this v1-hybrid host, whose cgroup2
 * mount has no cpu or memory controller: /state and the log state the posix
 * fallback for the cpu and memory limits, tasks run in their v2 cgroup, a
 * kill takes the whole container (daemons included) and removes the cgroup.
 * Fails (never skips) on a host without a cgroup2 mount.
 */
import { existsSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@agora/common';
import { TaskState, ValueType } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCgroupMounts } from '../../src/isolation/cgroup-values.js';
import { type PeerAgent, reachState, runTask, startPeerAgent } from '../support/peer-agent.js';
import { isAlive, waitFor } from '../support/wait.js';

const test = suite('agent forced onto cgroup v2: stated fallbacks, tasks in their v2 cgroup');
const HOST_PID = 'read -r p _ < /proc/self/stat; echo "$p"';
const cgroupsRoot = `agora-agent-v2-${process.pid}`;
const lines: string[] = [];
let setup: PeerAgent | undefined;
let mount = '';
/** Why the setup failed: every test then fails with it (uvu would count a throwing hook as a pass when run alone). */
let setupError: unknown;

function sweep(dir: string): void {
  if (!existsSync(dir)) return;
  for (const d of readdirSync(dir, { withFileTypes: true })) if (d.isDirectory()) sweep(join(dir, d.name));
  try {
    writeFileSync(join(dir, 'cgroup.kill'), '1');
  } catch {
    // empty or gone
  }
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}

test.before(async () => {
  try {
    await setUp();
  } catch (err) {
    setupError = err;
  }
});

test.before.each(() => {
  if (setupError !== undefined) throw setupError;
});

async function setUp(): Promise<void> {
  const unified = parseCgroupMounts(readFileSync('/proc/self/mounts', 'utf8')).unified;
  if (unified === undefined) {
    throw new Error(
      'no cgroup2 hierarchy is mounted on this host (none in /proc/self/mounts): cannot test --cgroups_version v2',
    );
  }
  mount = unified;
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  setup = await startPeerAgent({
    prefix: 'agora-agent-v2-',
    config: { cgroupsVersion: 'v2', cgroupsRoot },
    deps: { logger: createLogger({ component: 'agent', level: 'info', destination }) },
  });
}

test.after(async () => {
  try {
    await setup?.close();
  } finally {
    if (mount !== '') sweep(join(mount, cgroupsRoot));
  }
});

test('/state and the log say cgroups-v2 with the cpu and memory limits as posix fallbacks', async () => {
  const { agent } = setup as PeerAgent;
  const state = (await (await fetch(`${agent.url}/state`)).json()) as {
    isolation: { mode: string; isolators: string[]; fallbacks: string[]; cgroups_version: number; cfs: boolean };
  };
  assert.is(state.isolation.mode, 'cgroups-v2');
  assert.is(state.isolation.cgroups_version, 2);
  assert.equal(state.isolation.isolators.slice(0, 2), ['posix/cpu', 'posix/mem']);
  assert.is(state.isolation.fallbacks.length, 2);
  assert.match(state.isolation.fallbacks[0] ?? '', /cgroup v2 has no cpu controller .*: cpu shares and the CFS quota/);
  assert.match(state.isolation.fallbacks[1] ?? '', /cgroup v2 has no memory controller .*: no memory limit/);
  assert.ok(
    lines.some((l) => l.includes('isolation: posix fallback') && l.includes('cgroup v2 has no memory controller')),
    'the fallback is logged',
  );
});

test('a task runs in its v2 cgroup; a kill ends the whole container, setsid daemon included, and removes the cgroup', async () => {
  const { peer, workDir } = setup as PeerAgent;
  runTask(peer, 'daemonizer', {
    resources: [
      { name: 'cpus', type: ValueType.SCALAR, scalar: { value: 0.2 } },
      { name: 'mem', type: ValueType.SCALAR, scalar: { value: 64 } },
    ],
    command: {
      value: `trap '' TERM; (setsid sh -c '${HOST_PID} > daemon; exec sleep 1000' &); ${HOST_PID} > pid; exec sleep 1000`,
    },
    kill_policy: { grace_period: { nanoseconds: 200e6 } },
  });
  await reachState(peer, 'daemonizer', TaskState.TASK_RUNNING);
  const sandbox = join(workDir, 'agents', 'A1', 'frameworks', 'F1', 'executors', 'daemonizer', 'runs', 'latest');
  const pids = await waitFor(() => {
    const files = ['pid', 'daemon'].map((f) => join(sandbox, f));
    if (!files.every((f) => existsSync(f) && readFileSync(f, 'utf8').trim() !== '')) return undefined;
    return files.map((f) => Number(readFileSync(f, 'utf8')));
  }, 'task pids');
  const base = join(mount, cgroupsRoot);
  const [container] = readdirSync(base, { withFileTypes: true }).filter((d) => d.isDirectory());
  assert.ok(container !== undefined, 'the task has a container cgroup in the cgroup2 mount');
  const procs = readFileSync(join(base, container.name, 'cgroup.procs'), 'utf8')
    .split('\n')
    .map(Number);
  assert.ok(
    pids.every((p) => procs.includes(p)),
    'the task and its daemon are in the container cgroup',
  );
  peer.send({ kill_task: { framework_id: { value: 'F1' }, task_id: { value: 'daemonizer' } } });
  await reachState(peer, 'daemonizer', TaskState.TASK_KILLED);
  await waitFor(() => pids.every((p) => !isAlive(p)), 'every process of the container gone');
  await waitFor(() => !existsSync(join(base, container.name)), 'the container cgroup removed');
});

test('no memory limit without the memory controller: a task past its mem is not limited (the stated fallback)', async () => {
  const { peer } = setup as PeerAgent;
  runTask(peer, 'over', {
    resources: [{ name: 'mem', type: ValueType.SCALAR, scalar: { value: 32 } }],
    command: { value: 'head -c 96m /dev/zero | tail > /dev/null' },
  });
  const done = await reachState(peer, 'over', TaskState.TASK_FINISHED);
  assert.is(done.status.reason ?? null, null);
});

test.run();
