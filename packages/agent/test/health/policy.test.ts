import { FakeClock } from '@agora/common';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { HealthChecker } from '../../src/health/health-checker.js';
import {
  decideHealth,
  HEALTH_CHECK_DEFAULTS,
  type HealthPolicyConfig,
  healthPolicyConfig,
  initialHealthState,
} from '../../src/health/policy.js';

const test = suite('health policy');

const config: HealthPolicyConfig = {
  delayMs: 0,
  intervalMs: 1000,
  timeoutMs: 500,
  gracePeriodMs: 5000,
  consecutiveFailures: 3,
};

test('unset proto fields take Mesos defaults; seconds become milliseconds', () => {
  assert.equal(healthPolicyConfig({}), { ...HEALTH_CHECK_DEFAULTS });
  assert.equal(
    healthPolicyConfig({
      delay_seconds: 1.5,
      interval_seconds: 2,
      timeout_seconds: 0.25,
      grace_period_seconds: 0,
      consecutive_failures: 1,
    }),
    { delayMs: 1500, intervalMs: 2000, timeoutMs: 250, gracePeriodMs: 0, consecutiveFailures: 1 },
  );
  assert.is(healthPolicyConfig({ consecutive_failures: 0 }).consecutiveFailures, 3);
  assert.is(healthPolicyConfig({ delay_seconds: -1 }).delayMs, 15_000);
});

test('failures in the grace period are ignored until the first success', () => {
  let s = initialHealthState(0);
  const d1 = decideHealth(config, s, false, 1000);
  assert.ok(d1.ignored);
  assert.not.ok(d1.report);
  s = d1.state;
  const d2 = decideHealth(config, s, true, 2000);
  assert.ok(d2.report, 'first success is reported');
  assert.is(d2.state.healthy, true);
  // After a success the grace period no longer protects.
  const d3 = decideHealth(config, d2.state, false, 3000);
  assert.not.ok(d3.ignored);
  assert.ok(d3.report);
  assert.is(d3.state.healthy, false);
});

test('reports only on change; kills at consecutive_failures; a success resets the count', () => {
  let s = initialHealthState(0);
  const reports: boolean[] = [];
  const step = (ok: boolean, t: number) => {
    const d = decideHealth(config, s, ok, t);
    s = d.state;
    if (d.report) reports.push(ok);
    return d;
  };
  step(true, 6000);
  step(true, 7000);
  step(false, 8000);
  step(false, 9000);
  step(true, 10_000);
  step(false, 11_000);
  step(false, 12_000);
  assert.not.ok(s.killed);
  const last = step(false, 13_000);
  assert.ok(last.kill);
  assert.equal(reports, [true, false, true, false]);
  assert.not.ok(step(false, 14_000).kill, 'no decision after the kill');
});

test('failures after the grace period count even without a success', () => {
  let s = initialHealthState(0);
  for (const t of [6000, 7000]) s = decideHealth(config, s, false, t).state;
  const d = decideHealth(config, s, false, 8000);
  assert.ok(d.kill);
});

test('the checker probes after delay, then every interval after the previous probe, on the clock', async () => {
  const clock = new FakeClock(0);
  const results = [true, true, false, false];
  const changes: boolean[] = [];
  let killed = '';
  let probes = 0;
  const checker = new HealthChecker(
    { ...config, delayMs: 2000, consecutiveFailures: 2 },
    async () => ({ ok: results[probes++] ?? false, message: `probe ${probes}` }),
    clock,
    { onHealthChange: (h) => changes.push(h), onKill: (m) => (killed = m) },
  );
  checker.begin();
  clock.advance(1999);
  await clock.settle();
  assert.is(probes, 0);
  for (let i = 0; i < 4; i++) {
    clock.advance(i === 0 ? 1 : 1000);
    await clock.settle();
  }
  assert.is(probes, 4);
  assert.equal(changes, [true, false]);
  assert.match(killed, /2 consecutive failed health checks: probe 4/);
  clock.advance(10_000);
  await clock.settle();
  assert.is(probes, 4, 'no probes after the kill');
  assert.is(clock.pendingTimers, 0);
});

test.run();
