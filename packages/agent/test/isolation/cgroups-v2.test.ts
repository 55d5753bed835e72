/**
 * The cgroup v2 core on this host's real kernel: this machine (and CI) is a
 * cgroup v1 hybrid — cpu and memory are v1 hierarchies, and a cgroup2
 * hierarchy is mounted at /sys/fs/cgroup/unified without them. The agent's
 * own v2 code (detection forced with `cgroupsVersion: 'v2'`, container
 * cgroups, cgroup.procs, cgroup.events, cgroup.kill, cpu.stat, removal) runs
 * here against that mount with real processes; the cpu and memory limits are
 * the stated posix fallback. The pid namespace is left out on purpose, so
 * only the cgroup can find and kill what leaves the process group.
 *
 * A host without a cgroup2 mount fails these tests (it does not skip them).
 * Every cgroup made here is under `<mount>/agora-test-v2-<pid>`, swept in
 * `after` (cgroup.kill, then rmdir depth-first), also when a test fails.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { agora } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Container } from '../../src/containerizer/containerizer.js';
import { type IsolatedContainerCheckpoint, IsolatingContainerizer } from '../../src/containerizer/isolating.js';
import { parseCgroupMounts, parseControllers } from '../../src/isolation/cgroup-values.js';
import {
  type CgroupsHost,
  cgroupStats,
  containerPids,
  createContainerCgroups,
  destroyContainerCgroups,
  isContainerEmpty,
  killContainerCgroups,
  procsFiles,
} from '../../src/isolation/cgroups.js';
import { detectHostIsolation, type HostIsolation, planIsolation } from '../../src/isolation/isolation.js';
import { isAlive, waitFor } from '../support/wait.js';

const test = suite('cgroup v2 core on the real kernel (forced v2 on a v1-hybrid host)');
const HOST_PID = 'read -r p _ < /proc/self/stat; echo "$p"';
const cgroupsRoot = `agora-test-v2-${process.pid}`;

/** The host's cgroup2 mount, or a clear failure (never a silent pass). */
function unifiedMount(): string {
  const mounts = parseCgroupMounts(readFileSync('/proc/self/mounts', 'utf8'));
  if (mounts.unified === undefined) {
    throw new Error(
      'no cgroup2 hierarchy is mounted on this host (none in /proc/self/mounts): the cgroup v2 core cannot be tested; ' +
        'the development host and CI mount one at /sys/fs/cgroup/unified',
    );
  }
  return mounts.unified;
}

let mount = '';
let host: HostIsolation;
let plan: ReturnType<typeof planIsolation>;
let root = '';
const containers: Container[] = [];
let seq = 0;
/** Why the setup failed: every test then fails with it (uvu would count a throwing hook as a pass when run alone). */
let setupError: unknown;

test.before(() => {
  try {
    mount = unifiedMount();
    host = detectHostIsolation({ cgroupsRoot, cgroupsVersion: 'v2' });
    if (host.cgroups === undefined) throw new Error(`forced cgroup v2 is unavailable: ${host.cgroupsUnavailable}`);
    // The real planner, told there is no pid namespace: the container is then only what its cgroup holds.
    plan = planIsolation(undefined, { ...host, pidNamespace: false, pidNamespaceUnavailable: 'left out by this test' });
    root = mkdtempSync(join(tmpdir(), 'agora-cgv2-'));
  } catch (err) {
    setupError = err;
  }
});

test.before.each(() => {
  if (setupError !== undefined) throw setupError;
});

/** Kill and remove every cgroup below `dir` (depth-first), then `dir`. */
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

test.after(async () => {
  try {
    for (const c of containers) await c.kill(0);
  } finally {
    if (mount !== '') sweep(join(mount, cgroupsRoot));
    if (root !== '') rmSync(root, { recursive: true, force: true });
  }
});

function v2Host(): CgroupsHost {
  return host.cgroups as CgroupsHost;
}

const scalar = (name: string, value: number): agora.v1.Resource.$Properties => ({ name, type: 0, scalar: { value } });

async function launch(
  c: IsolatingContainerizer,
  command: string,
  resources: agora.v1.Resource.$Properties[] = [],
): Promise<{ container: Container; sandbox: string; cp: IsolatedContainerCheckpoint }> {
  const id = `c${++seq}`;
  const sandbox = join(root, 'sandboxes', id);
  const container = await c.launch({
    containerId: id,
    sandbox,
    command: { value: command },
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
    resources,
  });
  containers.push(container);
  return { container, sandbox, cp: container.checkpoint?.() as IsolatedContainerCheckpoint };
}

function containerizer(extra: { cgroupsEnableCfs?: boolean } = {}): IsolatingContainerizer {
  return new IsolatingContainerizer({
    plan,
    runtimeDir: join(root, 'meta', 'containers'),
    recoverPollMs: 50,
    ...extra,
  });
}

function pidsIn(file: string): number[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(Number);
}

function eventsOf(dir: string): string {
  return readFileSync(join(dir, 'cgroup.events'), 'utf8');
}

test('detection on this host: auto picks v1 for cpu and memory; the cgroup2 mount is seen and can be forced', () => {
  const controllers = parseControllers(readFileSync(join(mount, 'cgroup.controllers'), 'utf8'));
  assert.ok(
    !controllers.includes('cpu') && !controllers.includes('memory'),
    `expected a v1-hybrid host whose cgroup2 mount lacks cpu and memory; its cgroup.controllers: ${controllers.join(' ')}`,
  );
  const autoRoot = `${cgroupsRoot}-auto`;
  const auto = detectHostIsolation({ cgroupsRoot: autoRoot });
  try {
    assert.is(auto.cgroups?.version, 1, `auto detection: ${auto.cgroupsUnavailable ?? 'v2'}`);
    assert.ok(auto.cgroups?.bases['cpu']?.startsWith('/sys/fs/cgroup/cpu/'));
    assert.ok(auto.cgroups?.bases['memory']?.startsWith('/sys/fs/cgroup/memory/'));
    assert.is(planIsolation(undefined, auto).mode, 'cgroups-v1');
  } finally {
    for (const base of Object.values(auto.cgroups?.bases ?? {})) rmdirSync(base);
  }
  assert.equal(host.cgroups, {
    version: 2,
    bases: { unified: join(mount, cgroupsRoot) },
    controllers: [],
    available: controllers,
  });
  assert.ok(existsSync(join(mount, cgroupsRoot, 'cgroup.procs')), 'the parent cgroup made in the cgroup2 mount');
  const full = planIsolation(undefined, host);
  assert.is(full.mode, 'cgroups-v2');
  assert.equal(full.isolators.slice(0, 2), ['posix/cpu', 'posix/mem']);
  assert.is(full.fallbacks.length, 2);
  assert.match(full.fallbacks[0] ?? '', /^cgroup v2 has no cpu controller/);
  assert.match(full.fallbacks[1] ?? '', /^cgroup v2 has no memory controller/);
  assert.throws(() => planIsolation('cgroups/mem', host), /cgroups\/mem needs the memory controller/);
});

test('core API: a container cgroup holds real processes (cgroup.procs, populated), cgroup.kill empties it, rmdir', async () => {
  const cg = createContainerCgroups(v2Host(), 'direct', { cpus: 1, memBytes: 64 * 1024 * 1024, cfs: true });
  const dir = cg.paths['unified'] as string;
  assert.equal(cg, { version: 2, paths: { unified: join(mount, cgroupsRoot, 'direct') } });
  // No cpu/memory controller here: no limit file exists and none was written.
  for (const f of ['cpu.weight', 'cpu.max', 'memory.max']) assert.not.ok(existsSync(join(dir, f)), `${f} absent`);
  assert.equal(procsFiles(cg), [join(dir, 'cgroup.procs')]);
  assert.ok(isContainerEmpty(cg));
  const out = join(root, 'direct-pids');
  const script = [
    'echo $$ > "$1"',
    `${HOST_PID} >> "$2"`,
    `(setsid sh -c '${HOST_PID} >> "$0"; exec sleep 1000' "$2" &)`,
    `for b in 1 2; do (while :; do (${HOST_PID} >> "$2"; exec sleep 1000) & sleep 0.02; done) & done`,
    'exec sleep 1000',
  ].join('\n');
  const child = spawn('/bin/sh', ['-c', script, 'sh', procsFiles(cg)[0] as string, out], {
    detached: true,
    stdio: 'ignore',
  });
  try {
    await waitFor(() => pidsIn(out).length >= 8, 'the processes running in the cgroup');
    assert.match(eventsOf(dir), /populated 1/);
    assert.not.ok(isContainerEmpty(cg));
    const inCgroup = containerPids(cg);
    assert.ok(inCgroup.includes(child.pid as number), 'the first process is listed in cgroup.procs');
    const stats = cgroupStats(cg);
    assert.ok(stats.processes >= 4, `processes from cgroup.procs: ${stats.processes}`);
    assert.ok(stats.memRssBytes > 0, 'memory from /proc without the memory controller');
    assert.is(stats.memLimitBytes, undefined);
    assert.is(stats.cfsQuotaUs, undefined);
    const pids = pidsIn(out);
    assert.ok(await killContainerCgroups(cg), 'the cgroup emptied');
    assert.match(eventsOf(dir), /populated 0/);
    await waitFor(() => pids.every((p) => !isAlive(p)), 'every process gone, the setsid one and the forks included');
    await destroyContainerCgroups(cg);
    assert.not.ok(existsSync(dir), 'the container cgroup removed');
  } finally {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // gone
    }
  }
});

test('containerizer: the task runs in its v2 cgroup; usage from cpu.stat and /proc; kill removes the cgroup', async () => {
  const c = containerizer({ cgroupsEnableCfs: true });
  const busy = 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; echo done > busy; exec sleep 1000';
  const { container, sandbox, cp } = await launch(c, busy, [scalar('cpus', 0.5), scalar('mem', 64)]);
  const dir = cp.cgroups?.paths['unified'] as string;
  assert.equal(cp.cgroups, { version: 2, paths: { unified: join(mount, cgroupsRoot, container.containerId) } });
  assert.equal(cp.limits, { cpus: undefined, memBytes: undefined, diskBytes: undefined }, 'no limit is claimed');
  assert.ok(readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').includes(String(container.pid)));
  await waitFor(() => existsSync(join(sandbox, 'busy')), 'the busy loop done', 20_000);
  const usage = await container.usage?.();
  assert.ok((usage?.cpus_user_time_secs ?? 0) + (usage?.cpus_system_time_secs ?? 0) > 0, 'cpu time from cpu.stat');
  assert.ok((usage?.processes ?? 0) >= 2, 'supervisor and sleep counted from cgroup.procs');
  assert.ok((usage?.mem_rss_bytes ?? 0) > 0, 'memory from /proc');
  assert.is(usage?.mem_limit_bytes, undefined);
  assert.is(usage?.cpus_quota_secs, undefined, 'no CFS quota without the cpu controller');
  const exit = await container.kill(0);
  assert.is(exit.signal, 'SIGKILL');
  assert.not.ok(existsSync(dir), 'the container cgroup removed');
});

test('containerizer: killing kills a fork bomb and daemonized children (setsid, double fork) that ignore SIGTERM', async () => {
  const c = containerizer();
  const script = [
    "trap '' TERM",
    `(setsid sh -c '${HOST_PID} >> pids; exec sleep 1000' &)`,
    `(sh -c '${HOST_PID} >> pids; exec sleep 1000' &) &`,
    `for b in 1 2 3; do (while :; do (${HOST_PID} >> pids; exec sleep 1000) & sleep 0.02; done) & done`,
    `${HOST_PID} >> pids`,
    'exec sleep 1000',
  ].join('\n');
  const { container, sandbox, cp } = await launch(c, script);
  const dir = cp.cgroups?.paths['unified'] as string;
  await waitFor(() => pidsIn(join(sandbox, 'pids')).length >= 12, 'the fork bomb running');
  const setsid = await waitFor(() => {
    const pids = pidsIn(join(sandbox, 'pids'));
    return pids.find(
      (p) => readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]?.split(' ')[2] !== String(container.pid),
    );
  }, 'the setsid daemon (outside the process group)');
  assert.ok(
    containerPids(cp.cgroups as NonNullable<typeof cp.cgroups>).includes(setsid),
    'the daemon is in the cgroup',
  );
  const exit = await container.kill(300);
  assert.is(exit.signal, 'SIGKILL', 'SIGTERM was ignored: the cgroup kill ended it');
  const pids = pidsIn(join(sandbox, 'pids'));
  await waitFor(() => pids.every((p) => !isAlive(p)), 'every process of the container gone', 5000);
  assert.not.ok(existsSync(dir), 'the container cgroup removed');
});

test('containerizer: a daemon left behind when the task ends is killed with the container', async () => {
  const c = containerizer();
  const { container, sandbox, cp } = await launch(
    c,
    `(setsid sh -c '${HOST_PID} > daemon; exec sleep 1000' &); while [ ! -s daemon ]; do sleep 0.01; done; exit 4`,
  );
  const exit = await container.exited;
  assert.equal([exit.code, exit.signal], [4, null]);
  const daemon = pidsIn(join(sandbox, 'daemon'))[0] as number;
  await waitFor(() => !isAlive(daemon), 'the setsid daemon killed by the container cgroup');
  assert.not.ok(existsSync(cp.cgroups?.paths['unified'] as string), 'the container cgroup removed');
});

test('containerizer: a process entering the container (a COMMAND check) joins its v2 cgroup', async () => {
  const c = containerizer();
  const { container } = await launch(c, 'exec sleep 1000');
  const wrapped = container.enter?.('/bin/sh', ['-c', 'cat /proc/self/cgroup']);
  assert.ok(wrapped !== undefined, 'the container can be entered');
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn(wrapped.file, wrapped.args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    p.stdout.on('data', (d: Buffer) => {
      text += d.toString();
    });
    p.on('error', reject);
    p.on('close', () => resolve(text));
  });
  assert.ok(
    out.split('\n').includes(`0::/${cgroupsRoot}/${container.containerId}`),
    `the entered process's v2 cgroup: ${out}`,
  );
  await container.kill(0);
});

test('containerizer: a recovered v2 container (after an agent restart) is watched and killed through its cgroup', async () => {
  const first = containerizer();
  const { container, sandbox, cp } = await launch(
    first,
    `(setsid sh -c '${HOST_PID} > daemon; exec sleep 1000' &); exec sleep 1000`,
  );
  const daemon = await waitFor(() => pidsIn(join(sandbox, 'daemon'))[0], 'daemon pid');
  container.detach();
  const recovered = containerizer().recover(cp);
  containers.push(recovered);
  assert.is(recovered.hasExited, false);
  const usage = await recovered.usage?.();
  assert.ok((usage?.processes ?? 0) >= 2, 'usage of the recovered container from its cgroup');
  await recovered.kill(0);
  await waitFor(() => !isAlive(daemon), 'the daemon killed with the recovered container');
  assert.not.ok(existsSync(cp.cgroups?.paths['unified'] as string), 'the container cgroup removed');
});

test('containerizer: destroy(id) finds an orphan by its v2 cgroup alone and kills it', async () => {
  const c = containerizer();
  const { container, sandbox, cp } = await launch(
    c,
    `(setsid sh -c '${HOST_PID} > pid; exec sleep 1000' &); exec sleep 1000`,
  );
  const pid = await waitFor(() => pidsIn(join(sandbox, 'pid'))[0], 'pid');
  container.detach();
  await containerizer().destroy(container.containerId);
  await waitFor(() => !isAlive(pid), 'the orphan killed');
  assert.not.ok(existsSync(cp.cgroups?.paths['unified'] as string));
  await container.kill(0);
});

test.run();
