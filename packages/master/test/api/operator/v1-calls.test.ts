/**
 * Mesos' v1 operator calls on POST /api/v1 against a real master: each answers Mesos' v1 JSON and agrees with
 * the HTTP endpoint it reuses; calls that change something do so (and are visible through the endpoints);
 * bad calls are 400 with a message and change nothing.
 */
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
} from '../../support/harness.js';

const test = suite('v1 operator calls');

type Json = Record<string, unknown>;

async function call(
  t: TestMaster,
  body: unknown,
  path = '/api/v1',
): Promise<{ status: number; text: string; json?: Json }> {
  const res = await fetch(`${t.master.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: Json | undefined;
  try {
    json = JSON.parse(text) as Json;
  } catch {
    json = undefined;
  }
  return { status: res.status, text, ...(json === undefined ? {} : { json }) };
}

test('read calls answer v1 JSON that agrees with the endpoints', async () => {
  let t: TestMaster | undefined;
  let s: SchedulerPeer | undefined;
  let a: AgentPeer | undefined;
  try {
    t = await startMaster();
    s = await subscribeScheduler(t, { roles: ['eng'] });
    a = await registerAgent(t, {
      resources: [scalar('cpus', 4), scalar('mem', 1024)],
      domain: { region: 'eu', zone: 'eu-1' },
    });
    const offer = await nextOffer(s);
    s.send(launchCall(s, [offer.id.value], [taskInfo('t1', a.agentId, [scalar('cpus', 1), scalar('mem', 64)])]));
    await a.next((m) => m.run_task !== null, 'RunTask');

    assert.equal((await call(t, { type: 'GET_HEALTH' })).json, { type: 'GET_HEALTH', get_health: { healthy: true } });

    const flags = (await call(t, { type: 'GET_FLAGS' })).json!;
    const v0flags = (await t.getJson('/flags'))['flags'] as Record<string, string>;
    assert.is(flags['type'], 'GET_FLAGS');
    assert.equal(
      Object.fromEntries(
        ((flags['get_flags'] as Json)['flags'] as Array<{ name: string; value: string }>).map((f) => [f.name, f.value]),
      ),
      v0flags,
    );

    const version = (await call(t, { type: 'GET_VERSION' }, '/master/api/v1')).json!;
    assert.equal((version['get_version'] as Json)['version_info'], await t.getJson('/version'));

    const metrics = (await call(t, { type: 'GET_METRICS', get_metrics: {} })).json!;
    const list = (metrics['get_metrics'] as Json)['metrics'] as Array<{ name: string; value: number }>;
    assert.is(list.find((m) => m.name === 'master/elected')?.value, 1);
    assert.ok(list.some((m) => m.name === 'allocator/mesos/allocation_runs'));

    const agents = (await call(t, { type: 'GET_AGENTS' })).json!;
    const agent = ((agents['get_agents'] as Json)['agents'] as Json[])[0]!;
    assert.is(((agent['agent_info'] as Json)['id'] as Json)['value'], a.agentId);
    assert.equal((agent['agent_info'] as Json)['domain'], {
      fault_domain: { region: { name: 'eu' }, zone: { name: 'eu-1' } },
    });

    const frameworks = (await call(t, { type: 'GET_FRAMEWORKS' })).json!;
    const fw = ((frameworks['get_frameworks'] as Json)['frameworks'] as Json[])[0]!;
    assert.is(((fw['framework_info'] as Json)['id'] as Json)['value'], s.frameworkId);

    const tasks = (await call(t, { type: 'GET_TASKS' })).json!;
    const task = ((tasks['get_tasks'] as Json)['tasks'] as Json[])[0]!;
    assert.is((task['task_id'] as Json)['value'], 't1');
    assert.is(task['state'], 'TASK_STAGING');

    const state = (await call(t, { type: 'GET_STATE' })).json!;
    const getState = state['get_state'] as Json;
    assert.equal(Object.keys(getState).sort(), ['get_agents', 'get_executors', 'get_frameworks', 'get_tasks']);
    assert.equal(getState['get_tasks'], tasks['get_tasks']);

    const roles = (await call(t, { type: 'GET_ROLES' })).json!;
    const eng = ((roles['get_roles'] as Json)['roles'] as Json[]).find((r) => r['name'] === 'eng')!;
    assert.equal(eng['frameworks'], [{ value: s.frameworkId }]);
    assert.ok((eng['allocated'] as Json[]).some((r) => r['name'] === 'cpus' && (r['scalar'] as Json)['value'] === 1));
  } finally {
    await cleanup(t, s, a);
  }
});

test('weights, quota and maintenance through v1 calls; bad calls are 400 and change nothing', async () => {
  let t: TestMaster | undefined;
  let a: AgentPeer | undefined;
  try {
    t = await startMaster();
    a = await registerAgent(t, { hostname: 'node-1.test', resources: [scalar('cpus', 8), scalar('mem', 8192)] });

    assert.is(
      (await call(t, { type: 'UPDATE_WEIGHTS', update_weights: { weight_infos: [{ role: 'web', weight: 2.5 }] } }))
        .status,
      200,
    );
    assert.equal((await call(t, { type: 'GET_WEIGHTS' })).json, {
      type: 'GET_WEIGHTS',
      get_weights: { weight_infos: [{ role: 'web', weight: 2.5 }] },
    });
    assert.equal(await (await fetch(`${t.master.url}/weights`)).json(), [{ role: 'web', weight: 2.5 }]);
    const badWeight = await call(t, {
      type: 'UPDATE_WEIGHTS',
      update_weights: { weight_infos: [{ role: 'web', weight: -1 }] },
    });
    assert.is(badWeight.status, 400);
    assert.match(badWeight.text, /positive/);

    const update = {
      type: 'UPDATE_QUOTA',
      update_quota: {
        quota_configs: [{ role: 'eng', guarantees: { cpus: { value: 2 } }, limits: { cpus: { value: 4 } } }],
      },
    };
    assert.is((await call(t, update)).status, 200);
    const quota = (await call(t, { type: 'GET_QUOTA' })).json!;
    assert.equal((quota['get_quota'] as Json)['status'], await t.getJson('/quota'));
    assert.is(
      (
        await call(t, {
          type: 'SET_QUOTA',
          set_quota: {
            quota_request: { role: 'eng', guarantee: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 } }] },
          },
        })
      ).status,
      409,
      'SET_QUOTA for a role with quota',
    );
    assert.is(
      (
        await call(t, {
          type: 'SET_QUOTA',
          set_quota: {
            quota_request: { role: 'ops', guarantee: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 } }] },
          },
        })
      ).status,
      200,
    );
    assert.is((await call(t, { type: 'REMOVE_QUOTA', remove_quota: { role: 'ops' } })).status, 200);
    assert.is((await call(t, { type: 'REMOVE_QUOTA', remove_quota: { role: 'ops' } })).status, 404);
    assert.is((await call(t, { type: 'UPDATE_QUOTA', update_quota: { quota_configs: [{ role: '*' }] } })).status, 400);
    assert.equal((await call(t, { type: 'GET_QUOTA' })).json!['get_quota'], { status: await t.getJson('/quota') });

    const schedule = {
      windows: [
        {
          machine_ids: [{ hostname: 'node-1.test' }],
          unavailability: { start: { nanoseconds: 1_000_000 }, duration: { nanoseconds: 3_600_000_000_000 } },
        },
      ],
    };
    assert.is(
      (await call(t, { type: 'UPDATE_MAINTENANCE_SCHEDULE', update_maintenance_schedule: { schedule } })).status,
      200,
    );
    assert.equal((await call(t, { type: 'GET_MAINTENANCE_SCHEDULE' })).json, {
      type: 'GET_MAINTENANCE_SCHEDULE',
      get_maintenance_schedule: { schedule: await t.getJson('/maintenance/schedule') },
    });
    assert.equal(await t.getJson('/maintenance/schedule'), schedule);
    const badSchedule = await call(t, {
      type: 'UPDATE_MAINTENANCE_SCHEDULE',
      update_maintenance_schedule: {
        schedule: { windows: [{ machine_ids: [{}], unavailability: { start: { nanoseconds: 1 } } }] },
      },
    });
    assert.is(badSchedule.status, 400);
    assert.equal(await t.getJson('/maintenance/schedule'), schedule, 'unchanged');
    assert.is(
      (await call(t, { type: 'STOP_MAINTENANCE', stop_maintenance: { machines: [{ hostname: 'node-1.test' }] } }))
        .status,
      400,
      'not DOWN',
    );
    assert.is(
      (await call(t, { type: 'START_MAINTENANCE', start_maintenance: { machines: [{ hostname: 'node-1.test' }] } }))
        .status,
      200,
    );
    await a.waitClosed();
    const status = (await call(t, { type: 'GET_MAINTENANCE_STATUS' })).json!;
    assert.equal((status['get_maintenance_status'] as Json)['status'], await t.getJson('/maintenance/status'));
    assert.equal(((status['get_maintenance_status'] as Json)['status'] as Json)['down_machines'], [
      { hostname: 'node-1.test' },
    ]);
    assert.is(
      (await call(t, { type: 'STOP_MAINTENANCE', stop_maintenance: { machines: [{ hostname: 'node-1.test' }] } }))
        .status,
      200,
    );

    // Missing sections and unknown calls.
    const missing = await call(t, { type: 'RESERVE_RESOURCES' });
    assert.is(missing.status, 400);
    assert.match(missing.text, /reserve_resources/);
    assert.is((await call(t, { type: 'UPDATE_WEIGHTS' })).status, 400);
    const unknown = await call(t, { type: 'NO_SUCH_CALL' });
    assert.is(unknown.status, 400);
    assert.match(unknown.text, /NO_SUCH_CALL/);
    assert.is((await call(t, '{not json')).status, 400);
  } finally {
    await cleanup(t, a);
  }
});

test('RESERVE_RESOURCES and UNRESERVE_RESOURCES reserve through the /reserve logic (202)', async () => {
  let t: TestMaster | undefined;
  let a: AgentPeer | undefined;
  try {
    t = await startMaster();
    a = await registerAgent(t, { resources: [scalar('cpus', 8), scalar('mem', 8192)] });
    const resources = [
      {
        name: 'cpus',
        type: 'SCALAR',
        scalar: { value: 2 },
        reservations: [{ type: 'DYNAMIC', role: 'eng', principal: 'ops' }],
      },
    ];
    const reserve = await call(t, {
      type: 'RESERVE_RESOURCES',
      reserve_resources: { agent_id: { value: a.agentId }, resources },
    });
    assert.is(reserve.status, 202, reserve.text);
    const slaves = (await t.getJson('/slaves')) as { slaves: Array<{ reserved_resources: Record<string, Json> }> };
    assert.is(slaves.slaves[0]!.reserved_resources['eng']?.['cpus'], 2);
    const tooMuch = await call(t, {
      type: 'RESERVE_RESOURCES',
      reserve_resources: {
        agent_id: { value: a.agentId },
        resources: [{ ...resources[0], scalar: { value: 100 } }],
      },
    });
    assert.is(tooMuch.status, 409);
    assert.is(
      (await call(t, { type: 'RESERVE_RESOURCES', reserve_resources: { agent_id: { value: 'nope' }, resources } }))
        .status,
      404,
    );
    const unreserve = await call(t, {
      type: 'UNRESERVE_RESOURCES',
      unreserve_resources: { agent_id: { value: a.agentId }, resources },
    });
    assert.is(unreserve.status, 202, unreserve.text);
    const after = (await t.getJson('/slaves')) as { slaves: Array<{ reserved_resources: Record<string, Json> }> };
    assert.equal(after.slaves[0]!.reserved_resources, {});
  } finally {
    await cleanup(t, a);
  }
});

test.run();
