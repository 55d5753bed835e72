/**
 * Usage reports through a whole in-process agent: every
 * `usageReportIntervalMs` the agent sends the master (a real WebSocket peer)
 * `AgentToMaster.usage` with each running task's ResourceStatistics, the
 * numbers of `/monitor/statistics`; nothing once no task runs.
 */
import { agora, TaskState, ValueType } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { validateAgentConfig } from '../../src/config.js';
import { statisticsJson } from '../../src/monitor/statistics.js';
import { toResourceStatistics, usageReport } from '../../src/monitor/usage-report.js';
import { type PeerAgent, reachState, runTask, startPeerAgent } from '../support/peer-agent.js';
import { waitFor } from '../support/wait.js';

const test = suite('agent: usage reports to the master');
let setup: PeerAgent | undefined;

test.after(async () => {
  await setup?.close();
});

test('a running task is reported with its statistics every interval; none once it ended', async () => {
  setup = await startPeerAgent({ prefix: 'agora-usage-', config: { usageReportIntervalMs: 200 } });
  const { peer } = setup;
  const reports = () => peer.received.flatMap((m) => (m.usage ? [m.usage] : []));
  runTask(peer, 'u1', {
    command: { value: 'sleep 30' },
    resources: [
      { name: 'cpus', type: ValueType.SCALAR, scalar: { value: 0.5 } },
      { name: 'mem', type: ValueType.SCALAR, scalar: { value: 64 } },
    ],
  });
  await reachState(peer, 'u1', TaskState.TASK_RUNNING);
  const first = await waitFor(() => reports().find((r) => r.tasks.some((t) => t.task_id.value === 'u1')), 'a report');
  const entry = first.tasks.find((t) => t.task_id.value === 'u1');
  assert.ok(entry);
  assert.is(entry.framework_id.value, 'F1');
  assert.is(entry.executor_id?.value, 'u1');
  assert.ok(entry.statistics.timestamp > 1e9, 'timestamp in seconds since the epoch');
  assert.ok((entry.statistics.processes ?? 0) >= 1, 'the task has processes');
  assert.ok(Number(entry.statistics.mem_rss_bytes ?? 0) > 0, 'the task uses memory');
  // Reports keep coming, each with fresh numbers.
  const count = reports().length;
  const later = await waitFor(() => reports().length >= count + 2 && reports()[reports().length - 1], 'more reports');
  const again = later.tasks.find((t) => t.task_id.value === 'u1');
  assert.ok(again && again.statistics.timestamp > entry.statistics.timestamp);

  peer.send({ kill_task: { framework_id: { value: 'F1' }, task_id: { value: 'u1' } } });
  await reachState(peer, 'u1', TaskState.TASK_KILLED);
  // The last report may be in flight: wait one quiet interval, then none more may arrive.
  await new Promise((r) => setTimeout(r, 300));
  const after = reports().length;
  await new Promise((r) => setTimeout(r, 600));
  assert.is(reports().length, after, 'no report while no task runs');
});

test('the statistics keep Mesos field names; absent numbers stay unset', () => {
  const usage = {
    timestamp: 1.5e9,
    cpus_user_time_secs: 1,
    cpus_system_time_secs: 2,
    mem_rss_bytes: 3,
    processes: 1,
    threads: 2,
    mem_limit_bytes: 4,
  };
  const stats = toResourceStatistics(usage);
  const decoded = agora.v1.ResourceStatistics.decode(agora.v1.ResourceStatistics.encode(stats).finish());
  assert.is(decoded.mem_limit_bytes?.toString(), '4');
  assert.is(decoded.cpus_user_time_secs, 1);
  assert.is(decoded.disk_used_bytes, null);
  const report = usageReport([{ frameworkId: 'F', taskId: 't', executorId: 'e', executorName: 'x', usage }]);
  assert.is(report.tasks?.[0]?.executor_id?.value, 'e');
});

test('/monitor/statistics has one entry per executor; usage reports one per task', () => {
  const usage = {
    timestamp: 1,
    cpus_user_time_secs: 0,
    cpus_system_time_secs: 0,
    mem_rss_bytes: 1,
    processes: 1,
    threads: 1,
  };
  const usages = [
    { frameworkId: 'F', taskId: 't1', executorId: 'ex', executorName: 'ex', usage },
    { frameworkId: 'F', taskId: 't2', executorId: 'ex', executorName: 'ex', usage },
    { frameworkId: 'F', taskId: 'c1', executorName: 'Command Executor', usage },
  ];
  assert.equal(
    statisticsJson(usages).map((e) => e['executor_id']),
    ['ex', 'c1'],
  );
  assert.equal(
    usageReport(usages).tasks?.map((t) => [t.task_id.value, t.executor_id?.value]),
    [
      ['t1', 'ex'],
      ['t2', 'ex'],
      ['c1', 'c1'],
    ],
  );
});

test('a non-positive --usage_report_interval is refused', () => {
  assert.throws(
    () => validateAgentConfig({ master: 'm:1', port: 0, workDir: '/tmp/x', usageReportIntervalMs: 0 }),
    (err: Error) => /--usage_report_interval/.test(err.message),
  );
});

test.run();
