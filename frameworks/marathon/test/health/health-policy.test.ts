/** Health check defaults and what each probe result does (pure). */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  applyProbeResult,
  checkPort,
  firstProbeDelayMs,
  type HealthState,
  healthCheckSpec,
  healthResultJson,
  httpStatusResult,
  initialHealth,
  isAlive,
  isMarathonSide,
  overallHealth,
} from '../../src/health/health-policy.js';
import { mesosHealthCheck } from '../../src/health/mesos-health.js';

const test = suite('health policy');
const T0 = Date.parse('2024-01-01T00:00:00.000Z');

test("Marathon's defaults: HTTP, grace 300, interval 60, timeout 20, 3 failures, path /, port index 0", () => {
  const s = healthCheckSpec({});
  assert.equal(
    { ...s },
    {
      protocol: 'HTTP',
      path: '/',
      portIndex: 0,
      gracePeriodSeconds: 300,
      intervalSeconds: 60,
      timeoutSeconds: 20,
      maxConsecutiveFailures: 3,
      delaySeconds: 15,
      ignoreHttp1xx: false,
    },
  );
  assert.is(firstProbeDelayMs(s), 5000);
  assert.is(firstProbeDelayMs(healthCheckSpec({ intervalSeconds: 2 })), 2000);
  assert.is(checkPort(healthCheckSpec({ portIndex: 1 }), [31000, 31001]), 31001);
  assert.is(checkPort(healthCheckSpec({ port: 8080 }), [31000]), 8080);
  assert.is(checkPort(healthCheckSpec({ portIndex: 2 }), [31000]), undefined);
  assert.ok(isMarathonSide(healthCheckSpec({ protocol: 'TCP' })));
  assert.not.ok(isMarathonSide(healthCheckSpec({ protocol: 'MESOS_HTTP' })));
});

test('failures within the grace period before a first success are ignored', () => {
  const ctx = { now: T0 + 10_000, runningSince: T0, spec: { gracePeriodSeconds: 30, maxConsecutiveFailures: 1 } };
  const r = applyProbeResult(initialHealth(), { healthy: false, cause: 'refused' }, ctx);
  assert.is(r.kill, false);
  assert.is(r.counted, false);
  assert.is(r.state.consecutiveFailures, 0);
  const late = applyProbeResult(initialHealth(), { healthy: false, cause: 'refused' }, { ...ctx, now: T0 + 31_000 });
  assert.is(late.counted, true);
  assert.is(late.kill, true);
});

test('after a first success the grace period no longer protects; kill on the max-th consecutive failure', () => {
  const spec = { gracePeriodSeconds: 300, maxConsecutiveFailures: 3 };
  let s: HealthState = applyProbeResult(
    initialHealth(),
    { healthy: true },
    { now: T0 + 1000, runningSince: T0, spec },
  ).state;
  assert.is(isAlive(s), true);
  const kills: boolean[] = [];
  for (let i = 2; i <= 4; i++) {
    const r = applyProbeResult(
      s,
      { healthy: false, cause: 'HTTP 500' },
      { now: T0 + i * 1000, runningSince: T0, spec },
    );
    s = r.state;
    kills.push(r.kill);
  }
  assert.equal(kills, [false, false, true]);
  assert.is(s.consecutiveFailures, 3);
  assert.is(isAlive(s), false);
  const json = healthResultJson(s, 'x.instance-1');
  assert.is(json['alive'], false);
  assert.is(json['lastFailureCause'], 'HTTP 500');
  assert.is(json['firstSuccess'], new Date(T0 + 1000).toISOString());
  assert.is(json['instanceId'], 'x.instance-1');
  const healed = applyProbeResult(s, { healthy: true }, { now: T0 + 9000, runningSince: T0, spec }).state;
  assert.is(healed.consecutiveFailures, 0);
  assert.is(isAlive(healed), true);
});

test('maxConsecutiveFailures 0 never kills', () => {
  let s = initialHealth();
  const spec = { gracePeriodSeconds: 0, maxConsecutiveFailures: 0 };
  for (let i = 1; i < 20; i++) {
    const r = applyProbeResult(s, { healthy: false, cause: 'x' }, { now: T0 + i, runningSince: T0, spec });
    assert.is(r.kill, false);
    s = r.state;
  }
  assert.is(s.consecutiveFailures, 19);
});

test('HTTP statuses: 200-399 healthy, 1xx ignored only with ignoreHttp1xx, others unhealthy', () => {
  assert.equal(httpStatusResult(200, false), { healthy: true });
  assert.equal(httpStatusResult(302, false), { healthy: true });
  assert.equal(httpStatusResult(404, false), { healthy: false, cause: 'HTTP 404' });
  assert.equal(httpStatusResult(101, true), { ignored: true });
  assert.equal(httpStatusResult(101, false), { healthy: false, cause: 'HTTP 101' });
  const s = initialHealth();
  assert.is(
    applyProbeResult(
      s,
      { ignored: true },
      { now: T0, runningSince: T0, spec: { gracePeriodSeconds: 0, maxConsecutiveFailures: 1 } },
    ).state,
    s,
  );
});

test('overall health: unknown until every check answered, false when any is failing', () => {
  const ok: HealthState = { consecutiveFailures: 0, lastSuccess: 'b' };
  const bad: HealthState = { consecutiveFailures: 1, lastSuccess: 'a', lastFailure: 'b' };
  assert.is(overallHealth([ok, ok]), true);
  assert.is(overallHealth([ok, initialHealth()]), undefined);
  assert.is(overallHealth([ok, bad]), false);
});

test('Mesos-side checks become TaskInfo.health_check with the task host port', () => {
  const http = mesosHealthCheck(
    {
      healthChecks: [
        { protocol: 'HTTP' },
        { protocol: 'MESOS_HTTPS', path: '/h', portIndex: 1, maxConsecutiveFailures: 2 },
      ],
    },
    [31000, 31001],
  );
  assert.equal(http, {
    delay_seconds: 15,
    interval_seconds: 60,
    timeout_seconds: 20,
    consecutive_failures: 2,
    grace_period_seconds: 300,
    type: 2,
    http: { port: 31001, path: '/h', scheme: 'https' },
  });
  assert.equal(mesosHealthCheck({ healthChecks: [{ protocol: 'MESOS_TCP' }] }, [31000])?.tcp, { port: 31000 });
  const cmd = mesosHealthCheck({ healthChecks: [{ protocol: 'COMMAND', command: { value: 'true' } }] }, []);
  assert.equal(cmd?.command, { value: 'true', shell: true });
  assert.is(mesosHealthCheck({ healthChecks: [{ protocol: 'HTTP' }] }, [1]), undefined);
});

test.run();
