/**
 * The master's HTTP endpoints on a real master: the Mesos-shaped /state (and
 * its aliases), /health and /master/redirect.
 */
import { uuidBytes } from '@agora/common';
import { TaskState } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type AgentPeer,
  cleanup,
  EventType,
  launchCall,
  nextOffer,
  ranges,
  registerAgent,
  scalar,
  type SchedulerPeer,
  startMaster,
  subscribeScheduler,
  taskInfo,
  type TestMaster,
  waitForFramework,
} from '../support/harness.js';

const test = suite('master HTTP');

test('/health answers 200 with an empty body', async () => {
  let t: TestMaster | undefined;
  try {
    t = await startMaster();
    for (const path of ['/health', '/master/health']) {
      const res = await fetch(`${t.master.url}${path}`);
      assert.is(res.status, 200);
      assert.is(await res.text(), '');
    }
  } finally {
    await cleanup(t);
  }
});

test('/master/redirect and /redirect answer 307 to //<leader host>:<port>', async () => {
  let t: TestMaster | undefined;
  try {
    t = await startMaster();
    for (const path of ['/master/redirect', '/redirect']) {
      const res = await fetch(`${t.master.url}${path}`, { redirect: 'manual' });
      assert.is(res.status, 307);
      assert.is(res.headers.get('location'), `//127.0.0.1:${t.master.port}`);
    }
  } finally {
    await cleanup(t);
  }
});

test('an unknown path is 404', async () => {
  let t: TestMaster | undefined;
  try {
    t = await startMaster();
    const res = await fetch(`${t.master.url}/no/such/thing`);
    assert.is(res.status, 404);
  } finally {
    await cleanup(t);
  }
});

test('/state has the Mesos shape: master, agents, frameworks, tasks, offers; /master/state and /state.json too', async () => {
  let t: TestMaster | undefined;
  let s: SchedulerPeer | undefined;
  let a: AgentPeer | undefined;
  try {
    t = await startMaster({ hostname: 'master.test' });
    s = await subscribeScheduler(t, { name: 'shape' });
    a = await registerAgent(t, {
      hostname: 'agent.test',
      resources: [
        scalar('cpus', 2),
        scalar('mem', 1024),
        scalar('disk', 100),
        ranges('ports', [[31000, 31099]]),
        scalar('cpus', 1, 'web'),
      ],
      attributes: [
        { name: 'rack', type: 3, text: { value: 'r1' } },
        { name: 'level', type: 0, scalar: { value: 5 } },
      ],
    });
    const offer = await nextOffer(s);
    s.send(launchCall(s, [offer.id.value], [taskInfo('w1', a.agentId, [scalar('cpus', 0.5), scalar('mem', 64)])], 0));
    await a.next((m) => m.run_task !== null, 'RunTask');
    a.send({
      status_update: {
        framework_id: { value: s.frameworkId },
        status: {
          task_id: { value: 'w1' },
          state: TaskState.TASK_RUNNING,
          timestamp: 1_700_000_001,
          uuid: uuidBytes(),
        },
      },
    });
    await s.next((e) => e.type === EventType.UPDATE, 'UPDATE');
    await waitForFramework(t, s.frameworkId, (f) => (f['offers'] as unknown[]).length === 1);

    const state = await t.getJson('/state');
    const info = t.master.info;
    assert.is(state['version'], '0.1.0');
    assert.is(state['id'], info.id);
    assert.is(state['pid'], `master@127.0.0.1:${t.master.port}`);
    assert.is(state['hostname'], 'master.test');
    assert.is(state['leader'], state['pid']);
    assert.equal(state['leader_info'], {
      id: info.id,
      ip: 16777343,
      port: t.master.port,
      pid: `master@127.0.0.1:${t.master.port}`,
      hostname: 'master.test',
      version: '0.1.0',
      address: { hostname: 'master.test', ip: '127.0.0.1', port: t.master.port },
    });
    assert.is(state['activated_slaves'], 1);
    assert.equal(state['orphan_tasks'], []);
    assert.equal(state['unregistered_frameworks'], []);
    assert.equal(state['completed_frameworks'], []);
    assert.type(state['start_time'], 'number');
    assert.type(state['elected_time'], 'number');

    const agent = (state['slaves'] as Array<Record<string, unknown>>)[0]!;
    assert.is(agent['id'], a.agentId);
    assert.is(agent['hostname'], 'agent.test');
    assert.is(agent['port'], 5051);
    assert.is(agent['pid'], 'slave(1)@127.0.0.1:5051');
    assert.is(agent['active'], true);
    assert.type(agent['registered_time'], 'number');
    assert.equal(agent['resources'], { cpus: 3, gpus: 0, mem: 1024, disk: 100, ports: '[31000-31099]' });
    assert.equal(agent['unreserved_resources'], { cpus: 2, gpus: 0, mem: 1024, disk: 100, ports: '[31000-31099]' });
    assert.equal(agent['reserved_resources'], { web: { cpus: 1, gpus: 0, mem: 0, disk: 0 } });
    assert.equal(agent['used_resources'], { cpus: 0.5, gpus: 0, mem: 64, disk: 0 });
    assert.equal(agent['attributes'], { rack: 'r1', level: 5 });

    const fw = (state['frameworks'] as Array<Record<string, unknown>>)[0]!;
    assert.is(fw['id'], s.frameworkId);
    assert.is(fw['name'], 'shape');
    assert.is(fw['user'], 'tester');
    assert.is(fw['active'], true);
    assert.is(fw['connected'], true);
    assert.is(fw['role'], '*');
    assert.equal(fw['used_resources'], { cpus: 0.5, gpus: 0, mem: 64, disk: 0 });
    assert.equal(fw['offered_resources'], { cpus: 1.5, gpus: 0, mem: 960, disk: 100, ports: '[31000-31099]' });
    const offers = fw['offers'] as Array<Record<string, unknown>>;
    assert.equal(Object.keys(offers[0]!).sort(), ['framework_id', 'id', 'resources', 'slave_id']);
    const task = (fw['tasks'] as Array<Record<string, unknown>>)[0]!;
    assert.equal(task, {
      id: 'w1',
      name: 'w1',
      framework_id: s.frameworkId,
      executor_id: '',
      slave_id: a.agentId,
      state: 'TASK_RUNNING',
      resources: { cpus: 0.5, gpus: 0, mem: 64, disk: 0 },
      user: 'tester',
      statuses: [{ state: 'TASK_RUNNING', timestamp: 1_700_000_001 }],
    });

    for (const alias of ['/master/state', '/state.json', '/master/state.json']) {
      const other = await t.getJson(alias);
      assert.is(other['id'], info.id);
      assert.is((other['frameworks'] as unknown[]).length, 1);
    }
  } finally {
    await cleanup(t, s, a);
  }
});

test.run();
