import { rmdirSync } from 'node:fs';
import { hasErrorCode } from '@agora/common';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { validateAgentConfig } from '../../src/config.js';
import { cfsQuotaUs, cpuShares, memoryLimitBytes, sharesToWeight } from '../../src/isolation/cgroups.js';
import { detectHostIsolation, type HostIsolation, planIsolation } from '../../src/isolation/isolation.js';

const test = suite('isolation: --isolation against what the host offers');

const cgroupsHost: HostIsolation = {
  cgroups: { version: 2, bases: { unified: '/sys/fs/cgroup/agora' } },
  cgroupsUnavailable: undefined,
  pidNamespace: true,
  pidNamespaceUnavailable: undefined,
};
const bareHost: HostIsolation = {
  cgroups: undefined,
  cgroupsUnavailable: 'cgroup v2 without the cpu and memory controllers',
  pidNamespace: false,
  pidNamespaceUnavailable: 'unshare: not found',
};

test('without a flag the agent uses what the host supports', () => {
  const full = planIsolation(undefined, cgroupsHost);
  assert.equal(full.isolators, ['cgroups/cpu', 'cgroups/mem', 'namespaces/pid', 'disk/du']);
  assert.is(full.mode, 'cgroups-v2');
  assert.equal(full.fallbacks, []);
  const bare = planIsolation(undefined, bareHost);
  assert.equal(bare.isolators, ['posix/cpu', 'posix/mem', 'disk/du']);
  assert.is(bare.mode, 'posix');
  assert.is(bare.fallbacks.length, 2);
  assert.ok(bare.fallbacks[0]?.includes('cgroups unavailable (cgroup v2 without the cpu and memory controllers)'));
  assert.ok(bare.fallbacks[1]?.includes('pid namespace unavailable'));
});

test('an explicit flag picks isolators; posix ones work anywhere', () => {
  const plan = planIsolation('cgroups/mem, namespaces/pid', cgroupsHost);
  assert.equal(plan.isolators, ['cgroups/mem', 'namespaces/pid']);
  assert.is(plan.mem, true);
  assert.is(plan.cpu, false);
  assert.is(plan.disk, false);
  const posix = planIsolation('posix/cpu,posix/mem', cgroupsHost);
  assert.is(posix.mode, 'posix');
  assert.is(posix.cgroups, undefined);
  assert.is(posix.pidNamespace, false);
});

test('an unknown isolator is a clear AGORA_ERR_BAD_FLAG naming it', () => {
  try {
    planIsolation('cgroups/cpu,network/magic', cgroupsHost);
    assert.unreachable('accepted an unknown isolator');
  } catch (err) {
    assert.ok(hasErrorCode(err, 'AGORA_ERR_BAD_FLAG'));
    assert.match((err as Error).message, /unknown isolator "network\/magic"/);
  }
});

test('an isolator the host cannot provide is refused with the reason', () => {
  assert.throws(() => planIsolation('cgroups/cpu', bareHost), /cgroups are not available on this host: cgroup v2/);
  assert.throws(() => planIsolation('namespaces/pid', bareHost), /pid namespace is not available: unshare/);
});

test('Mesos limits: 1024 shares per cpu (min 2), v2 weight mapping, CFS quota, 32 MB memory floor', () => {
  assert.is(cpuShares(0.5), 512);
  assert.is(cpuShares(0.001), 2);
  assert.is(cpuShares(2), 2048);
  assert.is(sharesToWeight(2), 1);
  assert.is(sharesToWeight(1024), 39);
  assert.is(sharesToWeight(262_144), 10_000);
  assert.is(cfsQuotaUs(0.5), 50_000);
  assert.is(cfsQuotaUs(0.001), 1000);
  assert.is(memoryLimitBytes(16), 32 * 1024 * 1024);
  assert.is(memoryLimitBytes(64), 64 * 1024 * 1024);
});

test('detection on this host gives either working cgroups or a stated reason for the posix fallback', () => {
  const root = `agora-test-detect-${process.pid}`;
  const host = detectHostIsolation({ cgroupsRoot: root });
  try {
    if (host.cgroups === undefined) {
      assert.type(host.cgroupsUnavailable, 'string');
      assert.is(planIsolation(undefined, host).mode, 'posix');
    } else {
      assert.is(host.cgroupsUnavailable, undefined);
      assert.ok([1, 2].includes(host.cgroups.version));
      assert.is(planIsolation(undefined, host).mode, host.cgroups.version === 2 ? 'cgroups-v2' : 'cgroups-v1');
    }
    if (!host.pidNamespace) assert.type(host.pidNamespaceUnavailable, 'string');
  } finally {
    for (const base of Object.values(host.cgroups?.bases ?? {})) rmdirSync(base);
  }
});

test('--cgroups_root must be a relative cgroup path without dot segments', () => {
  const base = { master: '127.0.0.1:5050', port: 0, workDir: '/tmp/agora-unused' };
  validateAgentConfig({ ...base, cgroupsRoot: 'agora/agents' });
  for (const bad of ['', '/abs', '..', 'a/../b']) {
    assert.throws(() => validateAgentConfig({ ...base, cgroupsRoot: bad }), /--cgroups_root .* is invalid/);
  }
});

test.run();
