/**
 * Allocator metrics with Mesos' names: hand-computed values from allocatorMetrics (pure), and the same
 * names on a real master's /metrics/snapshot and Prometheus /metrics after real cycles, an outstanding offer,
 * a decline with a filter and a quota guarantee.
 */
import { parseResources } from '@agora/common';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AllocationStats, allocatorMetrics, timerMetrics } from '../../src/allocation/allocation-metrics.js';
import {
  type AgentPeer,
  CallType,
  cleanup,
  nextOffer,
  registerAgent,
  scalar,
  type SchedulerPeer,
  startMaster,
  subscribeScheduler,
  type TestMaster,
  waitFor,
} from '../support/harness.js';

const test = suite('allocator metrics');

test('hand-computed: shares, filters, quota, timers', () => {
  const stats = new AllocationStats();
  stats.recordRun(4, 0);
  stats.recordRun(2, 1);
  stats.recordRun(6, 3);
  const m = allocatorMetrics({
    stats,
    pending: true,
    // cluster: cpus 10, mem 1000
    total: parseResources('cpus:10;mem:1000'),
    allocation: new Map([
      // eng/web: cpus 2 (0.2), mem 500 (0.5) → dominant 0.5; eng (subtree) the same plus eng's own cpus 1.
      ['f1', new Map([['eng/web', parseResources('cpus:2;mem:500')]])],
      ['f2', new Map([['eng', parseResources('cpus:1')]])],
      ['f3', new Map([['ops', parseResources('cpus:4;mem:100')]])],
    ]),
    frameworkRoles: new Map([
      ['f1', ['eng/web']],
      ['f2', ['eng']],
      ['f3', ['ops', 'eng']],
    ]),
    filters: [
      { frameworkId: 'f1', agentId: 'a1', role: 'eng/web', expiresAt: 2000 },
      { frameworkId: 'f3', agentId: 'a1', expiresAt: 2000 }, // all of f3's roles: ops and eng
      { frameworkId: 'f2', agentId: 'a2', role: 'eng', expiresAt: 500 }, // expired
    ],
    now: 1000,
    quota: { eng: { guarantee: { cpus: 5, mem: 200 } }, ops: { limit: { cpus: 8 } } },
  });
  assert.is(m['allocator/mesos/allocation_runs'], 3);
  assert.is(m['allocator/mesos/allocation_run_ms'], 6);
  assert.is(m['allocator/mesos/allocation_run_ms/count'], 3);
  assert.is(m['allocator/mesos/allocation_run_ms/min'], 2);
  assert.is(m['allocator/mesos/allocation_run_ms/max'], 6);
  assert.is(m['allocator/mesos/allocation_run_ms/p50'], 4);
  assert.is(m['allocator/mesos/allocation_run_latency_ms'], 3);
  assert.is(m['allocator/mesos/event_queue_dispatches'], 1);
  assert.is(m['allocator/event_queue_dispatches'], 1);
  assert.is(m['allocator/mesos/resources/cpus/total'], 10);
  assert.is(m['allocator/mesos/resources/cpus/offered_or_allocated'], 7);
  assert.is(m['allocator/mesos/resources/mem/offered_or_allocated'], 600);
  assert.is(m['allocator/mesos/roles/eng/web/shares/dominant'], 0.5);
  assert.is(m['allocator/mesos/roles/eng/shares/dominant'], 0.5); // cpus 3/10, mem 500/1000
  assert.is(m['allocator/mesos/roles/ops/shares/dominant'], 0.4); // cpus 4/10, mem 100/1000
  assert.is(m['allocator/mesos/offer_filters/roles/eng/web/active'], 1);
  assert.is(m['allocator/mesos/offer_filters/roles/eng/active'], 1); // f3's all-roles filter; f2's expired
  assert.is(m['allocator/mesos/offer_filters/roles/ops/active'], 1);
  assert.is(m['allocator/mesos/quota/roles/eng/resources/cpus/guarantee'], 5);
  assert.is(m['allocator/mesos/quota/roles/eng/resources/cpus/offered_or_allocated'], 3);
  assert.is(m['allocator/mesos/quota/roles/eng/resources/mem/guarantee'], 200);
  assert.is(m['allocator/mesos/quota/roles/eng/resources/mem/offered_or_allocated'], 500);
  assert.is(m['allocator/mesos/quota/roles/ops/resources/cpus/guarantee'], undefined, 'a limit only: no gauges');
  assert.equal(timerMetrics('x', []), {});
});

test('gpus left out of fair sharing do not count in shares/dominant', () => {
  const input = {
    stats: new AllocationStats(),
    pending: false,
    total: parseResources('cpus:10;mem:1000;gpus:2'),
    // ml holds both gpus and 1 cpu: 1.0 with gpus counted, 0.1 without.
    allocation: new Map([['f1', new Map([['ml', parseResources('cpus:1;gpus:2')]])]]),
    frameworkRoles: new Map([['f1', ['ml']]]),
    filters: [],
    now: 0,
    quota: {},
  };
  assert.is(allocatorMetrics(input)['allocator/mesos/roles/ml/shares/dominant'], 1);
  assert.is(
    allocatorMetrics({ ...input, excludedFromShares: ['gpus'] })['allocator/mesos/roles/ml/shares/dominant'],
    0.1,
  );
});

test('a real master reports them in /metrics/snapshot and /metrics', async () => {
  let t: TestMaster | undefined;
  let s: SchedulerPeer | undefined;
  let a: AgentPeer | undefined;
  try {
    t = await startMaster();
    const put = await fetch(`${t.master.url}/quota`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ role: 'eng', guarantees: { cpus: { value: 1 } }, force: true }),
    });
    assert.is(put.status, 200, await put.text());
    s = await subscribeScheduler(t, { roles: ['eng'] });
    a = await registerAgent(t, { resources: [scalar('cpus', 4), scalar('mem', 1024)] });
    const offer = await nextOffer(s);
    let m = await t.getJson('/metrics/snapshot');
    assert.ok((m['allocator/mesos/allocation_runs'] as number) >= 1);
    assert.type(m['allocator/mesos/allocation_run_ms'], 'number');
    assert.type(m['allocator/mesos/allocation_run_latency_ms/p99'], 'number');
    assert.is(m['allocator/mesos/roles/eng/shares/dominant'], 1, 'the whole agent is offered to eng');
    assert.is(m['allocator/mesos/quota/roles/eng/resources/cpus/guarantee'], 1);
    assert.is(m['allocator/mesos/quota/roles/eng/resources/cpus/offered_or_allocated'], 4);
    assert.is(m['allocator/mesos/offer_filters/roles/eng/active'], 0);

    s.send({
      type: CallType.DECLINE,
      framework_id: { value: s.frameworkId },
      decline: { offer_ids: [{ value: offer.id.value }], filters: { refuse_seconds: 3600 } },
    });
    m = await waitFor(
      async () => {
        const x = await t!.getJson('/metrics/snapshot');
        return x['allocator/mesos/offer_filters/roles/eng/active'] === 1 ? x : undefined;
      },
      { message: 'the filter in the metrics', intervalMs: 20 },
    );
    assert.is(m['allocator/mesos/roles/eng/shares/dominant'], 0, 'nothing offered or allocated after the decline');

    const text = await (await fetch(`${t.master.url}/metrics`)).text();
    assert.match(text, /^mesos_allocator_mesos_allocation_runs \d+$/m);
    assert.match(text, /^mesos_allocator_mesos_offer_filters_roles_eng_active 1$/m);
  } finally {
    await cleanup(t, s, a);
  }
});

test.run();
