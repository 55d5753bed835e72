/**
 * The pure part of the cgroups isolator: Mesos' limits as cgroup v2 values
 * (cpu.weight, cpu.max, memory.max) per controller present, the parsing of
 * memory.events / memory.oom_control / cgroup.events / cpu.max, the choice
 * of hierarchy from a mount table, and the isolation plan on a v2 host that
 * lacks the cpu or memory controller (the posix fallback for those limits).
 * These are the v2 parts that cannot run on this v1-hybrid host's kernel.
 */
import { hasErrorCode } from '@agora/common';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { validateAgentConfig } from '../../src/config.js';
import {
  chooseCgroups,
  cpuMaxValue,
  oomKillsIn,
  parseCgroupMounts,
  parseControllers,
  parseCpuMax,
  parseFlatKeyed,
  populatedIn,
  v2LimitWrites,
} from '../../src/isolation/cgroup-values.js';
import { type HostIsolation, planIsolation } from '../../src/isolation/isolation.js';

const test = suite('cgroup values: v2 limits per controller, file parsing, hierarchy choice');

const MiB = 1024 * 1024;

test('cpu.weight from cpus (via Mesos shares), cpu.max with CFS, memory.max and memory.swap.max 0', () => {
  const { writes, unenforced } = v2LimitWrites({ cpus: 0.5, memBytes: 64 * MiB, cfs: true }, ['cpu', 'memory']);
  assert.equal(writes, [
    { controller: 'cpu', file: 'cpu.weight', value: '20' },
    { controller: 'cpu', file: 'cpu.max', value: '50000 100000' },
    { controller: 'memory', file: 'memory.max', value: String(64 * MiB) },
    { controller: 'memory', file: 'memory.swap.max', value: '0', ifPresent: true },
  ]);
  assert.equal(unenforced, []);
  // Without --cgroups_enable_cfs there is no cpu.max; 1 cpu is weight 39, 4 cpus 157; the 1 ms quota floor.
  assert.equal(
    v2LimitWrites({ cpus: 1, cfs: false }, ['cpu']).writes.map((w) => [w.file, w.value]),
    [['cpu.weight', '39']],
  );
  assert.is(v2LimitWrites({ cpus: 4, cfs: false }, ['cpu']).writes[0]?.value, '157');
  assert.is(cpuMaxValue(0.001), '1000 100000');
  assert.is(cpuMaxValue(2), '200000 100000');
});

test('a limit whose controller the cgroup lacks is not written but returned as unenforced', () => {
  const limits = { cpus: 1, memBytes: 48 * MiB, cfs: true };
  const noCpu = v2LimitWrites(limits, ['memory']);
  assert.equal(
    noCpu.writes.map((w) => w.file),
    ['memory.max', 'memory.swap.max'],
  );
  assert.equal(noCpu.unenforced, ['cpu']);
  const none = v2LimitWrites(limits, ['hugetlb']);
  assert.equal(none.writes, []);
  assert.equal(none.unenforced, ['cpu', 'memory']);
  // No limit asked: nothing to write and nothing unenforced, whatever the controllers.
  assert.equal(v2LimitWrites({ cfs: true }, []), { writes: [], unenforced: [] });
});

test('memory.events (v2) and memory.oom_control (v1): the oom_kill counter', () => {
  const events = 'low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n';
  assert.is(oomKillsIn(events), 2);
  assert.is(parseFlatKeyed(events).get('oom'), 3);
  assert.is(parseFlatKeyed(events).get('oom_group_kill'), 0);
  assert.is(oomKillsIn('oom_kill_disable 0\nunder_oom 0\noom_kill 1\n'), 1);
  // No counter (an old kernel, or the file is gone): no OOM kill.
  assert.is(oomKillsIn('low 0\nhigh 0\n'), 0);
  assert.is(oomKillsIn(undefined), 0);
  assert.is(oomKillsIn(''), 0);
});

test('cgroup.events populated, cpu.max and controller lists', () => {
  assert.is(populatedIn('populated 1\nfrozen 0\n'), true);
  assert.is(populatedIn('populated 0\nfrozen 0\n'), false);
  assert.is(populatedIn(undefined), undefined);
  assert.equal(parseCpuMax('max 100000\n'), { quotaUs: undefined, periodUs: 100000 });
  assert.equal(parseCpuMax('50000 100000\n'), { quotaUs: 50000, periodUs: 100000 });
  assert.equal(parseCpuMax(undefined), { quotaUs: undefined, periodUs: undefined });
  assert.equal(parseControllers('cpuset cpu io memory hugetlb pids\n'), [
    'cpuset',
    'cpu',
    'io',
    'memory',
    'hugetlb',
    'pids',
  ]);
  assert.equal(parseControllers('\n'), []);
});

// The mount table of this development host (a v1 hybrid) and of a pure v2 host.
const HYBRID_MOUNTS = [
  'tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0',
  'cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0',
  'cgroup /sys/fs/cgroup/cpuacct cgroup rw,relatime,cpuacct 0 0',
  'cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0',
  'cgroup /sys/fs/cgroup/freezer cgroup rw,relatime,freezer 0 0',
  'cgroup /sys/fs/cgroup/pids cgroup rw,relatime,pids 0 0',
  'cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,name=systemd 0 0',
  'cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0',
].join('\n');
const V2_MOUNTS = 'proc /proc proc rw 0 0\ncgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n';

test('mounts: the cgroup2 mount wherever it is, and each v1 controller', () => {
  const hybrid = parseCgroupMounts(HYBRID_MOUNTS);
  assert.is(hybrid.unified, '/sys/fs/cgroup/unified');
  assert.is(hybrid.v1.get('cpu'), '/sys/fs/cgroup/cpu');
  assert.is(hybrid.v1.get('memory'), '/sys/fs/cgroup/memory');
  assert.is(hybrid.v1.get('name=systemd'), '/sys/fs/cgroup/systemd');
  const v2 = parseCgroupMounts(V2_MOUNTS);
  assert.is(v2.unified, '/sys/fs/cgroup');
  assert.is(v2.v1.size, 0);
});

test('choice: auto takes v2 only with cpu and memory, else v1, else v2 with what it has; v1/v2 can be forced', () => {
  const hybrid = parseCgroupMounts(HYBRID_MOUNTS);
  const v2 = parseCgroupMounts(V2_MOUNTS);
  assert.is(chooseCgroups(hybrid, ['hugetlb'], 'auto').choice?.version, 1);
  assert.equal(chooseCgroups(hybrid, ['hugetlb'], 'v2').choice, {
    version: 2,
    mount: '/sys/fs/cgroup/unified',
    controllers: [],
    available: ['hugetlb'],
  });
  assert.equal(chooseCgroups(v2, ['cpuset', 'cpu', 'io', 'memory', 'pids'], 'auto').choice, {
    version: 2,
    mount: '/sys/fs/cgroup',
    controllers: ['cpu', 'memory'],
    available: ['cpuset', 'cpu', 'io', 'memory', 'pids'],
  });
  // A v2 host without the memory controller and no v1 to fall back on: v2 with cpu only.
  assert.equal(chooseCgroups(v2, ['cpu', 'pids'], 'auto').choice?.version, 2);
  assert.equal((chooseCgroups(v2, ['cpu', 'pids'], 'auto').choice as { controllers: string[] }).controllers, ['cpu']);
  assert.match(
    chooseCgroups(v2, ['cpu', 'memory'], 'v1').why ?? '',
    /cgroup v1 controller cpu, cpuacct, memory, freezer/,
  );
  const v1Only = parseCgroupMounts(HYBRID_MOUNTS.replace(/^cgroup2 .*$/m, ''));
  assert.match(chooseCgroups(v1Only, [], 'v2').why ?? '', /no cgroup2 hierarchy is mounted/);
  assert.match(chooseCgroups(parseCgroupMounts(''), [], 'auto').why ?? '', /no cgroup2 .* and cgroup v1 controller/);
});

const v2WithoutControllers: HostIsolation = {
  cgroups: { version: 2, bases: { unified: '/sys/fs/cgroup/unified/agora' }, controllers: [], available: ['hugetlb'] },
  cgroupsUnavailable: undefined,
  pidNamespace: true,
  pidNamespaceUnavailable: undefined,
};

test('plan on v2 without cpu/memory controllers: cgroup v2 core kept, each missing limit a stated posix fallback', () => {
  const plan = planIsolation(undefined, v2WithoutControllers);
  assert.is(plan.mode, 'cgroups-v2');
  assert.is(plan.cgroups, v2WithoutControllers.cgroups);
  assert.equal(plan.isolators, ['posix/cpu', 'posix/mem', 'namespaces/pid', 'disk/du']);
  assert.is(plan.cpu, false);
  assert.is(plan.mem, false);
  assert.equal(plan.fallbacks, [
    'cgroup v2 has no cpu controller (its cgroup.controllers lists: hugetlb): cpu shares and the CFS quota are not enforced',
    'cgroup v2 has no memory controller (its cgroup.controllers lists: hugetlb): no memory limit and no OOM detection',
  ]);
  const memOnly = planIsolation(undefined, {
    ...v2WithoutControllers,
    cgroups: { version: 2, bases: { unified: '/x' }, controllers: ['memory'], available: [] },
  });
  assert.equal(memOnly.isolators, ['posix/cpu', 'cgroups/mem', 'namespaces/pid', 'disk/du']);
  assert.equal(memOnly.fallbacks, [
    'cgroup v2 has no cpu controller (its cgroup.controllers is empty): cpu shares and the CFS quota are not enforced',
  ]);
  assert.is(memOnly.mem, true);
});

test('plan: asking for cgroups/cpu or cgroups/mem where v2 lacks the controller is AGORA_ERR_BAD_FLAG', () => {
  for (const [flag, controller] of [
    ['cgroups/cpu', 'cpu'],
    ['cgroups/mem,namespaces/pid', 'memory'],
  ] as const) {
    try {
      planIsolation(flag, v2WithoutControllers);
      assert.unreachable(`accepted ${flag}`);
    } catch (err) {
      assert.ok(hasErrorCode(err, 'AGORA_ERR_BAD_FLAG'));
      assert.match(
        (err as Error).message,
        new RegExp(`needs the ${controller} controller: cgroup v2 has no ${controller}`),
      );
    }
  }
  // An explicit list without cgroups isolators uses no cgroups at all.
  assert.is(planIsolation('namespaces/pid,disk/du', v2WithoutControllers).mode, 'posix');
});

test('--cgroups_version takes auto, v1 or v2 only', () => {
  const base = { master: '127.0.0.1:5050', port: 0, workDir: '/tmp/agora-unused' };
  for (const ok of ['auto', 'v1', 'v2'] as const) validateAgentConfig({ ...base, cgroupsVersion: ok });
  assert.throws(
    () => validateAgentConfig({ ...base, cgroupsVersion: 'v3' as 'v2' }),
    /--cgroups_version "v3" is invalid: expected auto, v1 or v2/,
  );
});

test.run();
