/**
 * The operator's persistent volumes (`/create-volumes`, `/destroy-volumes`,
 * v1 CREATE_VOLUMES / DESTROY_VOLUMES) and the master side of durability
 * (checkpoint_resources to the agent, checkpointed_resources from it), on a
 * real master with protocol-level agents over real WebSockets.
 */
import { agora } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type AgentPeer,
  agentBarrier,
  agentInfo,
  cleanup,
  connectAgentChannel,
  nextOffer,
  registerAgent,
  scalar,
  type SchedulerPeer,
  startMaster,
  subscribeScheduler,
  type TestMaster,
} from '../../support/harness.js';

const { DYNAMIC, STATIC } = agora.v1.Resource.ReservationInfo.Type;
const AGENT = [scalar('cpus', 4), scalar('mem', 1024), scalar('disk', 50), scalar('disk', 100, 'db')];

function vol(id: string, size: number, path = 'data', type = STATIC): Record<string, unknown> {
  return {
    name: 'disk',
    type: 'SCALAR',
    scalar: { value: size },
    reservations: [{ type: type === STATIC ? 'STATIC' : 'DYNAMIC', role: 'db' }],
    disk: { persistence: { id }, volume: { container_path: path, mode: 'RW' } },
  };
}

async function form(t: TestMaster, path: string, fields: Record<string, string>) {
  const res = await fetch(`${t.master.url}${path}`, {
    method: 'POST',
    body: new URLSearchParams(fields).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  return { status: res.status, text: await res.text() };
}

async function v1(t: TestMaster, call: unknown) {
  const res = await fetch(`${t.master.url}/api/v1`, {
    method: 'POST',
    body: JSON.stringify(call),
    headers: { 'Content-Type': 'application/json' },
  });
  return { status: res.status, text: await res.text() };
}

function checkpoints(agent: AgentPeer): agora.v1.Resource[][] {
  return agent.all((m) => m.checkpoint_resources !== null).map((m) => m.checkpoint_resources!.resources);
}

const operator = suite('operator: /create-volumes, /destroy-volumes, CREATE_VOLUMES, DESTROY_VOLUMES');

operator(
  'a volume on statically reserved disk is created and checkpointed on the agent; bad requests change nothing',
  async () => {
    let t: TestMaster | undefined;
    let agent: AgentPeer | undefined;
    try {
      t = await startMaster();
      agent = await registerAgent(t, { resources: AGENT });
      const ok = await form(t, '/create-volumes', { slaveId: agent.agentId, volumes: JSON.stringify([vol('v1', 40)]) });
      assert.is(ok.status, 202, ok.text);
      await agentBarrier(t, agent);
      const [sent] = checkpoints(agent);
      assert.is(sent?.length, 1);
      assert.is(sent?.[0]?.disk?.persistence?.id, 'v1');
      assert.is(sent?.[0]?.reservations[0]?.type, STATIC);

      const bad: Array<[Record<string, string>, number, string]> = [
        [{ slaveId: agent.agentId, volumes: JSON.stringify([vol('v1', 10, 'other')]) }, 409, 'AGORA_ERR_VOLUME_EXISTS'],
        [{ slaveId: agent.agentId, volumes: JSON.stringify([vol('v2', 500)]) }, 409, 'AGORA_ERR_CONFLICT'],
        [{ slaveId: agent.agentId, volumes: JSON.stringify([vol('v2', 5, '/abs')]) }, 400, 'AGORA_ERR_INVALID_VOLUME'],
        [
          { slaveId: agent.agentId, volumes: JSON.stringify([{ ...vol('v2', 5), disk: {} }]) },
          400,
          'AGORA_ERR_INVALID_VOLUME',
        ],
        [{ slaveId: agent.agentId, volumes: '[{' }, 400, 'AGORA_ERR_INVALID_JSON'],
        [{ slaveId: agent.agentId }, 400, 'AGORA_ERR_BAD_REQUEST'],
        [{ slaveId: 'nope', volumes: JSON.stringify([vol('v2', 5)]) }, 404, 'AGORA_ERR_UNKNOWN_AGENT'],
      ];
      for (const [fields, status, code] of bad) {
        const res = await form(t, '/create-volumes', fields);
        assert.is(res.status, status, `${JSON.stringify(fields)}: ${res.text}`);
        assert.match(res.text, code);
      }
      const unknown = await form(t, '/destroy-volumes', {
        slaveId: agent.agentId,
        volumes: JSON.stringify([vol('v9', 40)]),
      });
      assert.is(unknown.status, 409);
      assert.match(unknown.text, 'AGORA_ERR_UNKNOWN_VOLUME');
      await agentBarrier(t, agent);
      assert.is(checkpoints(agent).length, 1, 'no refused request reached the agent');
      const state = await t.getJson('/state');
      const slave = (state['slaves'] as Array<Record<string, unknown>>)[0]!;
      assert.is((slave['resources'] as Record<string, number>)['disk'], 150, 'the agent total is unchanged');
      const full = (slave['reserved_resources_full'] as Record<string, Array<Record<string, unknown>>>)['db']!;
      assert.equal(
        full.find((r) => r['disk'] !== undefined),
        {
          name: 'disk',
          role: 'db',
          type: 'SCALAR',
          scalar: { value: 40 },
          disk: { persistence: { id: 'v1' }, volume: { container_path: 'data', mode: 'RW' } },
        },
        '/state shows the volume as Mesos does',
      );
    } finally {
      await cleanup(t, agent);
    }
  },
);

operator('v1 DESTROY_VOLUMES and CREATE_VOLUMES answer 202; other v1 calls still reach their handler', async () => {
  let t: TestMaster | undefined;
  let agent: AgentPeer | undefined;
  try {
    t = await startMaster();
    agent = await registerAgent(t, { resources: AGENT });
    const create = {
      type: 'CREATE_VOLUMES',
      create_volumes: { agent_id: { value: agent.agentId }, volumes: [vol('v1', 40)] },
    };
    assert.is((await v1(t, create)).status, 202);
    const destroy = {
      type: 'DESTROY_VOLUMES',
      destroy_volumes: { agent_id: { value: agent.agentId }, volumes: [vol('v1', 40)] },
    };
    assert.is((await v1(t, destroy)).status, 202);
    const again = await v1(t, destroy);
    assert.is(again.status, 409);
    assert.match(again.text, 'AGORA_ERR_UNKNOWN_VOLUME');
    const noAgent = await v1(t, { type: 'CREATE_VOLUMES', create_volumes: { volumes: [vol('v1', 40)] } });
    assert.is(noAgent.status, 400);
    await agentBarrier(t, agent);
    assert.equal(
      checkpoints(agent).map((list) => list.length),
      [1, 0],
      'the agent was sent its volume, then an empty set',
    );
    // The body of another call is handed on intact: TEARDOWN of an unknown framework is answered by its handler.
    const teardown = await v1(t, { type: 'TEARDOWN', teardown: { framework_id: { value: 'nope' } } });
    assert.is(teardown.status, 404);
  } finally {
    await cleanup(t, agent);
  }
});

const durable = suite('durability: reservations and volumes come back from the agent');

durable(
  'a master that does not know the agent rebuilds its reservations and volumes from checkpointed_resources',
  async () => {
    let t: TestMaster | undefined;
    let agent: Awaited<ReturnType<typeof connectAgentChannel>> | undefined;
    let again: Awaited<ReturnType<typeof connectAgentChannel>> | undefined;
    let s: SchedulerPeer | undefined;
    try {
      t = await startMaster();
      const checkpointed = [
        {
          ...scalar('cpus', 1),
          role: undefined,
          reservations: [
            { type: DYNAMIC, role: 'db', principal: 'ops', labels: { labels: [{ key: 'k', value: 'v' }] } },
          ],
        },
        agora.v1.Resource.fromObject(vol('v2', 30, 'data', DYNAMIC)),
      ] as agora.v1.Resource.$Properties[];
      agent = await connectAgentChannel(t);
      agent.send({
        register: {
          agent_info: agentInfo({ resources: [scalar('cpus', 4), scalar('mem', 1024), scalar('disk', 50)] }),
          version: '0.1.0',
          checkpointed_resources: checkpointed,
        },
      });
      const registered = await agent.next((m) => m.registered !== null, 'Registered');
      const agentId = registered.registered!.agent_id.value;
      s = await subscribeScheduler(t, { roles: ['db'] });
      const offer = await nextOffer(s);
      const cpus = offer.resources.find((r) => r.name === 'cpus' && r.role === 'db');
      assert.is(cpus?.scalar?.value, 1);
      assert.equal(
        [cpus?.reservations[0]?.type, cpus?.reservations[0]?.principal, cpus?.reservations[0]?.labels?.labels[0]?.key],
        [DYNAMIC, 'ops', 'k'],
      );
      const volume = offer.resources.find((r) => r.disk?.persistence?.id === 'v2');
      assert.is(volume?.scalar?.value, 30);
      assert.is(volume?.reservations[0]?.type, DYNAMIC);
      const unreserved = offer.resources.filter((r) => r.name === 'disk' && r.role === '*');
      assert.is(unreserved[0]?.scalar?.value, 20, 'the volume came out of the unreserved disk');

      // The same agent reconnects with a stale (empty) checkpoint: this master's view wins and is sent back.
      agent.close();
      again = await connectAgentChannel(t);
      again.send({
        reregister: {
          agent_info: agentInfo({ resources: [scalar('cpus', 4), scalar('mem', 1024), scalar('disk', 50)] }, agentId),
          version: '0.1.0',
          checkpointed_resources: [],
        },
      });
      await again.next((m) => m.reregistered !== null, 'Reregistered');
      const resent = await again.next((m) => m.checkpoint_resources !== null, 'the master view sent to the agent');
      assert.equal(
        resent.checkpoint_resources!.resources.map((r) => [r.name, r.disk?.persistence?.id ?? null]),
        [
          ['cpus', null],
          ['disk', 'v2'],
        ],
      );
    } finally {
      await cleanup(t, agent, again, s);
    }
  },
);

operator.run();
durable.run();
