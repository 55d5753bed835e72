/**
 * The isolating containerizer with real processes, as root. On a host with
 * cgroups (v1 or v2) and the pid namespace, limits are checked in the cgroup
 * files and enforced; where they are missing, the tests assert that the posix
 * fallback is what runs (detected the same way the agent does).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { agora } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Container } from '../../src/containerizer/containerizer.js';
import {
  type IsolatedContainerCheckpoint,
  IsolatingContainerizer,
  type IsolatingContainerizerOptions,
} from '../../src/containerizer/isolating.js';
import { containerPids } from '../../src/isolation/cgroups.js';
import { detectHostIsolation, planIsolation } from '../../src/isolation/isolation.js';
import { isAlive, waitFor } from '../support/wait.js';

const test = suite('isolating containerizer with real processes');
const cgroupsRoot = `agora-test-${process.pid}`;
const host = detectHostIsolation({ cgroupsRoot });
const plan = planIsolation(undefined, host);
let root = '';
const containers: Container[] = [];
let seq = 0;

test.before(() => {
  root = mkdtempSync(join(tmpdir(), 'agora-isolating-'));
});

test.after(async () => {
  for (const c of containers) await c.kill(0);
  for (const base of Object.values(host.cgroups?.bases ?? {})) {
    for (const d of readdirSync(base, { withFileTypes: true })) if (d.isDirectory()) rmdirSync(join(base, d.name));
    rmdirSync(base);
  }
  rmSync(root, { recursive: true, force: true });
});

function containerizer(extra: Partial<IsolatingContainerizerOptions> = {}): IsolatingContainerizer {
  return new IsolatingContainerizer({
    plan,
    runtimeDir: join(root, 'meta', 'containers'),
    limitWatchIntervalMs: 50,
    recoverPollMs: 50,
    ...extra,
  });
}

const scalar = (name: string, value: number): agora.v1.Resource.$Properties => ({
  name,
  type: 0,
  scalar: { value },
});

async function launch(
  c: IsolatingContainerizer,
  command: string,
  resources: agora.v1.Resource.$Properties[] = [],
): Promise<{ container: Container; sandbox: string }> {
  const id = `c${++seq}-${process.pid}`;
  const sandbox = join(root, 'sandboxes', id);
  const container = await c.launch({
    containerId: id,
    sandbox,
    command: { value: command },
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
    resources,
  });
  containers.push(container);
  return { container, sandbox };
}

/** Host pids written by the task (`read -r p _ < /proc/self/stat` gives the host pid even in a pid namespace). */
function pidsIn(file: string): number[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(Number);
}

const HOST_PID = 'read -r p _ < /proc/self/stat; echo "$p"';

test('the isolation in use is what the host supports (cgroups and pid namespace, or the posix fallback)', () => {
  if (host.cgroups === undefined) {
    assert.is(plan.mode, 'posix');
    assert.ok(plan.fallbacks.some((f) => f.startsWith('cgroups unavailable')));
  } else {
    assert.is(plan.mode, host.cgroups.version === 2 ? 'cgroups-v2' : 'cgroups-v1');
  }
  assert.is(plan.pidNamespace, host.pidNamespace);
});

test('cpu shares and the CFS quota are written to the container cgroup', async () => {
  const c = containerizer({ cgroupsEnableCfs: true });
  const { container } = await launch(c, 'exec sleep 30', [scalar('cpus', 0.5), scalar('mem', 64)]);
  const cp = (container.checkpoint?.() ?? {}) as IsolatedContainerCheckpoint;
  if (host.cgroups === undefined) {
    assert.is(cp.cgroups, undefined, 'posix fallback: no cgroups');
  } else if (host.cgroups.version === 1) {
    const cpu = cp.cgroups?.paths['cpu'] as string;
    assert.is(readFileSync(join(cpu, 'cpu.shares'), 'utf8').trim(), '512');
    assert.is(readFileSync(join(cpu, 'cpu.cfs_quota_us'), 'utf8').trim(), '50000');
    assert.is(readFileSync(join(cpu, 'cpu.cfs_period_us'), 'utf8').trim(), '100000');
    const mem = cp.cgroups?.paths['memory'] as string;
    assert.is(readFileSync(join(mem, 'memory.limit_in_bytes'), 'utf8').trim(), String(64 * 1024 * 1024));
    await waitFor(
      () => readFileSync(join(cpu, 'cgroup.procs'), 'utf8').split('\n').includes(String(container.pid)),
      'the supervisor in the cgroup',
    );
  } else {
    const dir = cp.cgroups?.paths['unified'] as string;
    assert.is(readFileSync(join(dir, 'cpu.weight'), 'utf8').trim(), '20');
    assert.is(readFileSync(join(dir, 'cpu.max'), 'utf8').trim(), '50000 100000');
    assert.is(readFileSync(join(dir, 'memory.max'), 'utf8').trim(), String(64 * 1024 * 1024));
  }
  // The supervisor joins the hierarchies one after the other: wait until usage counts it.
  const usage = await waitFor(async () => {
    const u = await container.usage?.();
    return u !== undefined && u.processes >= 1 ? u : undefined;
  }, 'usage counts the container processes');
  assert.is(usage.cpus_limit, 0.5);
  assert.is(usage.mem_limit_bytes, 64 * 1024 * 1024);
  const exit = await container.kill(0);
  assert.is(exit.signal, 'SIGKILL');
  if (cp.cgroups !== undefined) {
    for (const dir of Object.values(cp.cgroups.paths)) assert.not.ok(existsSync(dir), `${dir} removed`);
  }
});

test('a task allocating past its memory is killed with a memory limitation (or, without cgroups, is not limited)', async () => {
  const c = containerizer();
  // tail keeps the whole newline-free 200 MB line in memory.
  const { container } = await launch(c, 'head -c 200m /dev/zero | tail > /dev/null; exit 0', [scalar('mem', 48)]);
  const exit = await container.exited;
  if (plan.mem) {
    assert.is(exit.limitation?.kind, 'memory');
    assert.match(exit.limitation?.message ?? '', /Memory limit exceeded/);
  } else {
    assert.is(plan.mode, 'posix');
    assert.is(exit.limitation, undefined);
    assert.is(exit.code, 0);
  }
});

test('killing a container kills a running fork bomb and daemonized children (setsid, double fork)', async () => {
  const c = containerizer();
  const script = [
    `(setsid sh -c '${HOST_PID} >> pids; exec sleep 1000' &)`,
    `(sh -c '${HOST_PID} >> pids; exec sleep 1000' &) &`,
    // A bounded fork bomb: three branches that keep forking sleepers until the container dies.
    `for b in 1 2 3; do (while :; do (${HOST_PID} >> pids; exec sleep 1000) & sleep 0.02; done) & done`,
    `${HOST_PID} >> pids`,
    'exec sleep 1000',
  ].join('\n');
  const { container, sandbox } = await launch(c, script, [scalar('mem', 128)]);
  await waitFor(() => pidsIn(join(sandbox, 'pids')).length >= 12, 'the fork bomb running');
  const cp = container.checkpoint?.() as IsolatedContainerCheckpoint | undefined;
  await container.kill(500);
  const pids = pidsIn(join(sandbox, 'pids'));
  if (plan.pidNamespace || plan.cgroups !== undefined) {
    await waitFor(() => pids.every((p) => !isAlive(p)), 'every process of the container gone', 5000);
    if (cp?.cgroups !== undefined) assert.equal(containerPids(cp.cgroups), []);
  } else {
    // posix fallback: the process group dies; a setsid daemon escapes (documented).
    const setsid = pids[0] as number;
    await waitFor(() => pids.slice(1).every((p) => !isAlive(p)), 'the process group gone', 5000);
    if (isAlive(setsid)) process.kill(setsid, 'SIGKILL');
  }
});

test('SIGTERM first: a task that handles it ends within the grace period', async () => {
  const c = containerizer();
  const { container, sandbox } = await launch(
    c,
    'trap "echo bye > bye; exit 0" TERM; echo up > up; while :; do sleep 0.05; done',
  );
  await waitFor(() => existsSync(join(sandbox, 'up')), 'task up');
  const exit = await container.kill(10_000);
  assert.is(readFileSync(join(sandbox, 'bye'), 'utf8').trim(), 'bye');
  assert.is(exit.code, 0);
});

test('a command that ends at once still reports its exit (it may end before launch() returns)', async () => {
  const c = containerizer();
  const launched = await Promise.all(Array.from({ length: 12 }, (_, i) => launch(c, i % 2 === 0 ? 'true' : 'exit 3')));
  const exits = await Promise.all(
    launched.map(({ container }) =>
      Promise.race([
        container.exited,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('exit never reported')), 10_000)),
      ]),
    ),
  );
  assert.equal(
    exits.map((e) => e.code),
    launched.map((_, i) => (i % 2 === 0 ? 0 : 3)),
  );
});

test('a recovered container is watched and killed; one that ended meanwhile reports its real exit status', async () => {
  const first = containerizer();
  const running = await launch(first, `${HOST_PID} > pid; exec sleep 1000`);
  const ending = await launch(first, 'while [ ! -e go ]; do sleep 0.05; done; exit 7');
  const runningCp = running.container.checkpoint?.();
  const endingCp = ending.container.checkpoint?.();
  // The first agent goes away: nothing holds the containers any more.
  running.container.detach();
  ending.container.detach();
  const second = containerizer();
  const recovered = second.recover(runningCp);
  const ended = second.recover(endingCp);
  containers.push(recovered, ended);
  assert.is(recovered.hasExited, false);
  touch(join(ending.sandbox, 'go'));
  const endExit = await ended.exited;
  assert.equal([endExit.code, endExit.signal], [7, null]);
  const pid = await waitFor(() => pidsIn(join(running.sandbox, 'pid'))[0], 'pid');
  await recovered.kill(0);
  await waitFor(() => !isAlive(pid), 'recovered task killed');
  assert.throws(() => second.recover({ kind: 'docker' }), /not a checkpoint of the isolating containerizer/);
});

function touch(file: string): void {
  writeFileSync(file, '');
}

test('destroy(id) kills an orphan container known only by its id (cgroups), and is a no-op otherwise', async () => {
  const c = containerizer();
  const { container, sandbox } = await launch(c, `${HOST_PID} > pid; exec sleep 1000`);
  const pid = await waitFor(() => pidsIn(join(sandbox, 'pid'))[0], 'pid');
  container.detach();
  await containerizer().destroy('no-such-container');
  await containerizer().destroy(container.containerId);
  if (plan.cgroups !== undefined) {
    await waitFor(() => !isAlive(pid), 'the orphan killed');
  } else {
    assert.ok(isAlive(pid), 'posix: an orphan cannot be found by id');
    await container.kill(0);
  }
});

test('disk/du: a sandbox over its disk quota is killed with a disk limitation when enforced', async () => {
  const c = containerizer({ enforceDiskQuota: true, diskWatchIntervalMs: 100 });
  const { container } = await launch(c, 'head -c 3m /dev/urandom > big; exec sleep 1000', [scalar('disk', 1)]);
  const exit = await container.exited;
  assert.is(exit.limitation?.kind, 'disk');
  assert.match(exit.limitation?.message ?? '', /Disk usage \(\d+ bytes\) exceeds quota \(1048576 bytes\)/);
});

test('the posix fallback (forced with --isolation posix/cpu,posix/mem): process group, /proc usage, exit status', async () => {
  const posix = planIsolation('posix/cpu,posix/mem', host);
  assert.is(posix.mode, 'posix');
  const c = containerizer({ plan: posix });
  const { container, sandbox } = await launch(c, `sleep 1000 & ${HOST_PID} > pid; wait`, [scalar('mem', 64)]);
  await waitFor(() => pidsIn(join(sandbox, 'pid')).length === 1, 'pid');
  const usage = await container.usage?.();
  assert.ok((usage?.processes ?? 0) >= 2, 'supervisor, shell and sleep are counted from /proc');
  assert.ok((usage?.mem_rss_bytes ?? 0) > 0);
  assert.is((container.checkpoint?.() as IsolatedContainerCheckpoint | undefined)?.cgroups, undefined);
  const exit = await container.kill(1000);
  assert.is(exit.signal, 'SIGTERM');
  const failing = await launch(c, 'exit 5');
  assert.equal(await failing.container.exited, { code: 5, signal: null });
});

test.run();
