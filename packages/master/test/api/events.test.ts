/**
 * The master's operator event stream on a real master with protocol-level
 * peers: SSE (`GET /api/v1/events`) and RecordIO (`POST /api/v1`
 * `{"type":"SUBSCRIBE"}`): SUBSCRIBED with a snapshot, then AGENT_ADDED,
 * FRAMEWORK_ADDED, TASK_ADDED, TASK_UPDATED, HEARTBEAT, FRAMEWORK_REMOVED and
 * AGENT_REMOVED; other `/api/v1` calls still work behind the SUBSCRIBE handler.
 */
import { request } from 'node:http';
import { uuidBytes } from '@agora/common';
import { TaskState, TaskStatusSource } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type AgentPeer,
  cleanup,
  launchCall,
  nextOffer,
  registerAgent,
  scalar,
  type SchedulerPeer,
  startMaster,
  subscribeScheduler,
  taskInfo,
  type TestMaster,
  waitFor,
} from '../support/harness.js';

interface Received {
  // biome-ignore lint/suspicious/noExplicitAny: operator events of many shapes
  events: any[];
  status: number;
  headers: Record<string, unknown>;
  close(): void;
}

/** Open a stream and parse its events: SSE frames or RecordIO records. */
function open(t: TestMaster, mode: 'sse' | 'recordio'): Promise<Received> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ type: 'SUBSCRIBE' });
    const req = request(
      `${t.master.url}${mode === 'sse' ? '/api/v1/events' : '/api/v1'}`,
      mode === 'sse'
        ? { headers: { accept: 'text/event-stream' } }
        : { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/recordio' } },
      (res) => {
        const events: unknown[] = [];
        let buffer = Buffer.alloc(0);
        res.on('data', (chunk: Buffer) => {
          buffer = Buffer.concat([buffer, chunk]);
          for (;;) {
            if (mode === 'sse') {
              const at = buffer.indexOf('\n\n');
              if (at < 0) break;
              const block = buffer.subarray(0, at).toString('utf8');
              buffer = buffer.subarray(at + 2);
              const data = block.split('\n').find((l) => l.startsWith('data: '));
              if (data !== undefined) events.push(JSON.parse(data.slice(6)));
            } else {
              const nl = buffer.indexOf('\n');
              if (nl < 0) break;
              const length = Number(buffer.subarray(0, nl).toString('utf8'));
              if (buffer.length < nl + 1 + length) break;
              events.push(JSON.parse(buffer.subarray(nl + 1, nl + 1 + length).toString('utf8')));
              buffer = buffer.subarray(nl + 1 + length);
            }
          }
        });
        res.on('error', () => {});
        resolve({ events, status: res.statusCode ?? 0, headers: res.headers, close: () => req.destroy() });
      },
    );
    req.on('error', reject);
    req.end(mode === 'sse' ? undefined : body);
  });
}

const types = (r: Received): string[] => r.events.map((e) => e.type);

const test = suite('master event stream - operator SUBSCRIBE as SSE and RecordIO');

test('SUBSCRIBED snapshot, then agent, framework and task events, in order, on both formats', async () => {
  const t = await startMaster({ heartbeatIntervalSeconds: 5 });
  let s: SchedulerPeer | undefined;
  let a: AgentPeer | undefined;
  const streams: Received[] = [];
  try {
    const early = await registerAgent(t);
    const sse = await open(t, 'sse');
    const rio = await open(t, 'recordio');
    streams.push(sse, rio);
    assert.is(sse.status, 200);
    assert.match(String(sse.headers['content-type']), /text\/event-stream/);
    assert.is(rio.status, 200);
    assert.is(rio.headers['content-type'], 'application/recordio');
    assert.is(rio.headers['message-content-type'], 'application/json');
    await waitFor(() => sse.events.length >= 1 && rio.events.length >= 1);
    for (const r of [sse, rio]) {
      const first = r.events[0];
      assert.is(first.type, 'SUBSCRIBED');
      assert.is(first.subscribed.heartbeat_interval_seconds, 5);
      const agents = first.subscribed.get_state.get_agents.agents;
      assert.equal(
        agents.map((x: { agent_info: { id: { value: string } } }) => x.agent_info.id.value),
        [early.agentId],
      );
      assert.equal(first.subscribed.get_state.get_tasks.tasks, []);
    }

    a = await registerAgent(t);
    s = await subscribeScheduler(t, { name: 'watched' });
    const offer = await nextOffer(s);
    s.send(
      launchCall(s, [offer.id.value], [taskInfo('t1', offer.agent_id.value, [scalar('cpus', 1), scalar('mem', 64)])]),
    );
    const agentOfTask = offer.agent_id.value === a.agentId ? a : early;
    await agentOfTask.next((m) => m.run_task !== null, 'RunTask');
    agentOfTask.send({
      status_update: {
        framework_id: { value: s.frameworkId },
        status: {
          task_id: { value: 't1' },
          state: TaskState.TASK_RUNNING,
          source: TaskStatusSource.SOURCE_EXECUTOR,
          agent_id: { value: agentOfTask.agentId },
          timestamp: 1_700_000_000.5,
          uuid: uuidBytes(),
        },
      },
    });
    t.clock.advance(5000);
    for (const r of [sse, rio]) {
      await waitFor(() => types(r).includes('HEARTBEAT') && types(r).includes('TASK_UPDATED'), {
        message: 'events up to TASK_UPDATED and a HEARTBEAT',
      });
      const seq = types(r).filter((x) => x !== 'HEARTBEAT');
      assert.equal(seq.slice(0, 5), ['SUBSCRIBED', 'AGENT_ADDED', 'FRAMEWORK_ADDED', 'TASK_ADDED', 'TASK_UPDATED']);
      const added = r.events.find((e) => e.type === 'AGENT_ADDED');
      assert.is(added.agent_added.agent.agent_info.id.value, a.agentId);
      const fw = r.events.find((e) => e.type === 'FRAMEWORK_ADDED');
      assert.is(fw.framework_added.framework.framework_info.name, 'watched');
      assert.is(fw.framework_added.framework.framework_info.id.value, s.frameworkId);
      const task = r.events.find((e) => e.type === 'TASK_ADDED').task_added.task;
      assert.equal(task.task_id, { value: 't1' });
      assert.equal(task.framework_id, { value: s.frameworkId });
      assert.is(task.state, 'TASK_STAGING');
      const updated = r.events.find((e) => e.type === 'TASK_UPDATED').task_updated;
      assert.is(updated.state, 'TASK_RUNNING');
      assert.equal(updated.framework_id, { value: s.frameworkId });
      assert.equal(updated.status.task_id, { value: 't1' });
      assert.is(updated.status.state, 'TASK_RUNNING');
    }

    // Other /api/v1 calls still reach their handler behind SUBSCRIBE; teardown and mark-gone show up.
    const teardown = await fetch(`${t.master.url}/api/v1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'TEARDOWN', teardown: { framework_id: { value: s.frameworkId } } }),
    });
    assert.is(teardown.status, 200, await teardown.text());
    const gone = await fetch(`${t.master.url}/api/v1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'MARK_AGENT_GONE', mark_agent_gone: { agent_id: { value: a.agentId } } }),
    });
    assert.is(gone.status, 200, await gone.text());
    for (const r of [sse, rio]) {
      await waitFor(() => types(r).includes('FRAMEWORK_REMOVED') && types(r).includes('AGENT_REMOVED'), {
        message: 'FRAMEWORK_REMOVED and AGENT_REMOVED',
      });
      const removed = r.events.find((e) => e.type === 'FRAMEWORK_REMOVED');
      assert.is(removed.framework_removed.framework_info.id.value, s.frameworkId);
      assert.equal(r.events.find((e) => e.type === 'AGENT_REMOVED').agent_removed.agent_id, { value: a.agentId });
    }
  } finally {
    for (const r of streams) r.close();
    await cleanup(t, s, a);
  }
});

test('GET /api/v1/events without Accept: text/event-stream is 406', async () => {
  const t = await startMaster();
  try {
    const r = await fetch(`${t.master.url}/api/v1/events`);
    assert.is(r.status, 406);
  } finally {
    await cleanup(t);
  }
});

test.run();
