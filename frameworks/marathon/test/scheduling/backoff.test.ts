import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isBackoffActive, launchAllowedAt, recordFailure } from '../../src/scheduling/backoff.js';
import { LaunchQueue } from '../../src/scheduling/launch-queue.js';
import { app, V2 } from './fixtures.js';

const backoff = suite('backoff - delay after consecutive failures');

backoff('delay = backoffSeconds · backoffFactor^(n−1), capped by maxLaunchDelaySeconds', () => {
  const a = app({ id: '/a', backoffSeconds: 2, backoffFactor: 3, maxLaunchDelaySeconds: 30 });
  let state = recordFailure(undefined, a, 0);
  const delays = [state.delayMs];
  for (let i = 1; i < 5; i++) {
    state = recordFailure(state, a, i * 1000);
    delays.push(state.delayMs);
  }
  assert.equal(delays, [2000, 6000, 18000, 30000, 30000]);
  assert.is(state.failures, 5);
  assert.is(launchAllowedAt(state, a, 4000), 4000 + 30000);
});

backoff('default parameters: 1 s, ×1.15', () => {
  const a = app({ id: '/a' });
  const s1 = recordFailure(undefined, a, 0);
  const s2 = recordFailure(s1, a, 10);
  assert.is(s1.delayMs, 1000);
  assert.ok(Math.abs(s2.delayMs - 1150) < 1e-9);
});

backoff('no failure: launch now', () => {
  assert.is(launchAllowedAt(undefined, app({ id: '/a' }), 123), 0);
});

backoff('forgotten after maxLaunchDelaySeconds without failure', () => {
  const a = app({ id: '/a', backoffSeconds: 10, maxLaunchDelaySeconds: 60 });
  const s = recordFailure(recordFailure(undefined, a, 0), a, 1000);
  assert.ok(isBackoffActive(s, a, 61_000));
  assert.not.ok(isBackoffActive(s, a, 61_001));
  assert.is(recordFailure(s, a, 100_000).delayMs, 10_000);
});

backoff('a new configuration starts without delay', () => {
  const a = app({ id: '/a', backoffSeconds: 10 });
  const s = recordFailure(undefined, a, 0);
  const changed = app({ id: '/a', backoffSeconds: 10, cmd: 'other' }, V2);
  assert.is(launchAllowedAt(s, changed, 1), 0);
});

backoff('the launch queue keeps one delay per app and resets it', () => {
  const q = new LaunchQueue();
  const a = app({ id: '/a', backoffSeconds: 5 });
  const b = app({ id: '/b', backoffSeconds: 5 });
  q.recordFailure(a, 1000);
  assert.is(q.launchAllowedAt(a, 1000), 6000);
  assert.is(q.launchAllowedAt(b, 1000), 0);
  q.reset('/a');
  assert.is(q.launchAllowedAt(a, 1000), 0);
});

backoff('the launch queue counts refusals until the next launch', () => {
  const q = new LaunchQueue();
  q.noteOffer('/a', 0, 'INSUFFICIENT_CPUS', 1);
  q.noteOffer('/a', 0, 'INSUFFICIENT_CPUS', 2);
  q.noteOffer('/a', 0, 'INSUFFICIENT_PORTS', 3);
  assert.is(q.statsOf('/a')?.refusals.INSUFFICIENT_CPUS, 2);
  assert.is(q.statsOf('/a')?.processedOffers, 3);
  q.noteOffer('/a', 1, undefined, 4);
  assert.is(q.statsOf('/a')?.refusals.INSUFFICIENT_CPUS, 0);
  assert.is(q.statsOf('/a')?.lastLaunchAt, 4);
});

backoff.run();
