/**
 * `/quota`, `/weights` and `/roles` on a real master: round trips, validation
 * (400/404/409/422 with a message; nothing changed), persistence in the
 * registry across a master restart, and the effect of quota and weights on
 * offers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type AgentPeer,
  cleanup,
  EventType,
  isOffers,
  nextOffer,
  registerAgent,
  scalar,
  type SchedulerPeer,
  startMaster,
  subscribeScheduler,
  type TestMaster,
} from '../../support/harness.js';

/** One entry of GET /roles. */
interface RoleJson {
  name: string;
  weight: number;
  frameworks: string[];
  reserved: Record<string, number>;
  offered: Record<string, number>;
  allocated: Record<string, number>;
  quota: { limit: Record<string, number>; guarantee: Record<string, number>; consumed: Record<string, number> };
}

async function call(t: TestMaster, method: string, path: string, body?: unknown) {
  const res = await fetch(`${t.master.url}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : {
          body: typeof body === 'string' ? body : JSON.stringify(body),
          headers: { 'Content-Type': 'application/json' },
        }),
  });
  const text = await res.text();
  return { status: res.status, text };
}

const AGENT = [scalar('cpus', 8), scalar('mem', 8192)];
const quota = suite('operator /quota');

quota('set with UPDATE_QUOTA, read back, replace, remove', async () => {
  let t: TestMaster | undefined;
  let agent: AgentPeer | undefined;
  try {
    t = await startMaster();
    agent = await registerAgent(t, { resources: AGENT });
    const set = await call(t, 'POST', '/quota', {
      type: 'UPDATE_QUOTA',
      update_quota: {
        force: false,
        quota_configs: [
          { role: 'dev', guarantees: { cpus: { value: 2 } }, limits: { cpus: { value: 4 }, mem: { value: 4096 } } },
        ],
      },
    });
    assert.is(set.status, 200, set.text);
    const got = JSON.parse((await call(t, 'GET', '/quota')).text);
    assert.equal(got.configs, [
      { role: 'dev', guarantees: { cpus: { value: 2 } }, limits: { cpus: { value: 4 }, mem: { value: 4096 } } },
    ]);
    assert.equal(got.infos[0].role, 'dev');
    assert.equal(got.infos[0].guarantee, [{ name: 'cpus', type: 'SCALAR', scalar: { value: 2 } }]);

    // POST again: the role has quota → 409, nothing changed.
    const again = await call(t, 'POST', '/quota', { role: 'dev', guarantees: { cpus: 1 } });
    assert.is(again.status, 409);
    assert.match(again.text, /already has quota/);
    // PUT replaces (the legacy Resource list form).
    const put = await call(t, 'PUT', '/master/quota', {
      role: 'dev',
      guarantee: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 } }],
    });
    assert.is(put.status, 200, put.text);
    assert.equal(JSON.parse((await call(t, 'GET', '/master/quota')).text).configs, [
      { role: 'dev', guarantees: { cpus: { value: 1 } }, limits: {} },
    ]);
    // An UPDATE_QUOTA body replaces, even with POST.
    const update = await call(t, 'POST', '/quota', {
      type: 'UPDATE_QUOTA',
      update_quota: { quota_configs: [{ role: 'dev', guarantees: { cpus: { value: 1.5 } } }] },
    });
    assert.is(update.status, 200, update.text);
    assert.equal(JSON.parse((await call(t, 'GET', '/quota')).text).configs[0].guarantees, { cpus: { value: 1.5 } });
    // Nested role path in DELETE.
    assert.is((await call(t, 'PUT', '/quota', { role: 'eng/web', limits: { cpus: 1 } })).status, 200);
    assert.is((await call(t, 'DELETE', '/quota/eng/web')).status, 200);
    assert.is((await call(t, 'DELETE', '/quota/dev')).status, 200);
    assert.equal(JSON.parse((await call(t, 'GET', '/quota')).text), { infos: [], configs: [] });
    const missing = await call(t, 'DELETE', '/quota/dev');
    assert.is(missing.status, 404);
    assert.match(missing.text, /has no quota/);
  } finally {
    await cleanup(t, agent);
  }
});

quota('bad bodies are refused with 400/409/422 and a message, and change nothing', async () => {
  let t: TestMaster | undefined;
  let agent: AgentPeer | undefined;
  try {
    t = await startMaster();
    agent = await registerAgent(t, { resources: AGENT });
    const cases: Array<[unknown, number, RegExp]> = [
      ['{not json', 400, /not valid JSON/],
      ['', 400, /empty/],
      [[1, 2], 400, /object with a role/],
      [{ guarantees: { cpus: 1 } }, 400, /role must be/],
      [{ role: '*', guarantees: { cpus: 1 } }, 400, /default role/],
      [{ role: 'a//b', guarantees: { cpus: 1 } }, 400, /not a valid role/],
      [{ role: 'dev', guarantees: { cpus: -1 } }, 400, /non-negative/],
      [{ role: 'dev', guarantees: { cpus: 'lots' } }, 400, /non-negative/],
      [{ role: 'dev', guarantees: 7 }, 400, /must be an object/],
      [{ role: 'dev', guarantee: [{ name: 'ports', type: 'RANGES' }] }, 400, /SCALAR/],
      [
        { role: 'dev', guarantee: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 1 }, role: 'dev' }] },
        400,
        /unreserved/,
      ],
      [{ role: 'dev', guarantees: { cpus: 1 }, force: 'yes' }, 400, /force/],
      [{ type: 'SET_WEIGHTS' }, 400, /UPDATE_QUOTA/],
      [{ type: 'UPDATE_QUOTA', update_quota: { quota_configs: [] } }, 400, /non-empty/],
      [{ role: 'dev', guarantees: { cpus: 3 }, limits: { cpus: 2 } }, 422, /above its limit/],
      // The agent has 8 cpus: a guarantee of 9 does not fit.
      [{ role: 'dev', guarantees: { cpus: 9 } }, 409, /above the cluster's total/],
    ];
    for (const [body, status, message] of cases) {
      const res = await call(t, 'PUT', '/quota', body);
      assert.is(res.status, status, `${JSON.stringify(body)} → ${res.status} ${res.text}`);
      assert.match(res.text, message);
    }
    // Children above the parent.
    assert.is(
      (await call(t, 'PUT', '/quota', { role: 'eng', guarantees: { cpus: 2 }, limits: { cpus: 4 } })).status,
      200,
    );
    const child = await call(t, 'PUT', '/quota', { role: 'eng/web', guarantees: { cpus: 3 } });
    assert.is(child.status, 422);
    assert.match(child.text, /children of 'eng'/);
    const childLimit = await call(t, 'PUT', '/quota', { role: 'eng/web', limits: { cpus: 5 } });
    assert.is(childLimit.status, 422);
    assert.match(childLimit.text, /above its parent/);
    assert.equal(
      JSON.parse((await call(t, 'GET', '/quota')).text).configs.map((c: { role: string }) => c.role),
      ['eng'],
    );
    // force skips the capacity check.
    const forced = await call(t, 'PUT', '/quota', { role: 'big', guarantees: { cpus: 100 }, force: true });
    assert.is(forced.status, 200, forced.text);
  } finally {
    await cleanup(t, agent);
  }
});

quota('quota and weights survive a master restart (stored in the registry)', async () => {
  const workDir = mkdtempSync(join(tmpdir(), 'agora-quota-'));
  let t: TestMaster | undefined;
  let agent: AgentPeer | undefined;
  try {
    t = await startMaster({ workDir });
    agent = await registerAgent(t, { resources: AGENT });
    assert.is((await call(t, 'PUT', '/quota', { role: 'dev', guarantees: { cpus: 2 } })).status, 200);
    assert.is((await call(t, 'PUT', '/weights', [{ role: 'dev', weight: 2.5 }])).status, 200);
    await cleanup(t, agent);
    agent = undefined;
    t = await startMaster({ workDir });
    assert.equal(JSON.parse((await call(t, 'GET', '/quota')).text).configs, [
      { role: 'dev', guarantees: { cpus: { value: 2 } }, limits: {} },
    ]);
    assert.equal(JSON.parse((await call(t, 'GET', '/weights')).text), [{ role: 'dev', weight: 2.5 }]);
  } finally {
    await cleanup(t, agent);
    rmSync(workDir, { recursive: true, force: true });
  }
});

const weights = suite('operator /weights and /roles');

weights('weights: set, read, reset to 1; bad bodies are 400 and change nothing', async () => {
  let t: TestMaster | undefined;
  try {
    t = await startMaster();
    assert.is(
      (
        await call(t, 'PUT', '/weights', [
          { role: 'web', weight: 2 },
          { role: 'eng/db', weight: 0.5 },
        ])
      ).status,
      200,
    );
    assert.equal(JSON.parse((await call(t, 'GET', '/master/weights')).text), [
      { role: 'eng/db', weight: 0.5 },
      { role: 'web', weight: 2 },
    ]);
    for (const [body, message] of [
      ['nope', /not valid JSON/],
      [{ role: 'web', weight: 2 }, /list/],
      [[{ role: 'web', weight: 0 }], /positive/],
      [[{ role: 'web', weight: 'x' }], /positive/],
      [[{ role: '*', weight: 2 }], /default role/],
      [
        [
          { role: 'web', weight: 2 },
          { role: 'web', weight: 3 },
        ],
        /twice/,
      ],
    ] as Array<[unknown, RegExp]>) {
      const res = await call(t, 'PUT', '/weights', body);
      assert.is(res.status, 400, `${JSON.stringify(body)} → ${res.status}`);
      assert.match(res.text, message);
    }
    assert.is((await call(t, 'PUT', '/weights', [{ role: 'web', weight: 1 }])).status, 200);
    assert.equal(JSON.parse((await call(t, 'GET', '/weights')).text), [{ role: 'eng/db', weight: 0.5 }]);
  } finally {
    await cleanup(t);
  }
});

weights('/roles lists roles with frameworks, reservations, weights and quota, parents included', async () => {
  let t: TestMaster | undefined;
  let agent: AgentPeer | undefined;
  let scheduler: SchedulerPeer | undefined;
  try {
    t = await startMaster();
    agent = await registerAgent(t, {
      resources: [scalar('cpus', 2), scalar('mem', 1024), scalar('cpus', 1, 'eng/web')],
    });
    assert.is((await call(t, 'PUT', '/weights', [{ role: 'ops', weight: 3 }])).status, 200);
    assert.is((await call(t, 'PUT', '/quota', { role: 'eng', limits: { cpus: 2 } })).status, 200);
    scheduler = await subscribeScheduler(t, { roles: ['eng/web'] });
    const offer = await nextOffer(scheduler);
    const roles = JSON.parse((await call(t, 'GET', '/roles')).text).roles as RoleJson[];
    assert.equal(
      roles.map((r) => r.name),
      ['eng', 'eng/web', 'ops'],
    );
    const web = roles.find((r) => r.name === 'eng/web')!;
    assert.equal(web.frameworks, [scheduler.frameworkId]);
    assert.is(web.reserved.cpus, 1);
    // The offer holds the reservation and, under eng's limit of 2 cpus (1 consumed by the reservation), 1 more cpu.
    assert.is(
      offer.resources.filter((r) => r.name === 'cpus').reduce((s, r) => s + (r.scalar?.value ?? 0), 0),
      2,
    );
    assert.is(web.offered.cpus, 2);
    const eng = roles.find((r) => r.name === 'eng')!;
    assert.is(eng.offered.cpus, 2, 'a parent includes its children');
    assert.equal(eng.quota.limit, { cpus: 2 });
    assert.equal(eng.quota.consumed, { cpus: 2, mem: 1024 });
    assert.is(roles.find((r) => r.name === 'ops')!.weight, 3);
  } finally {
    await cleanup(t, agent, scheduler);
  }
});

weights('setting a limit rescinds outstanding offers of the role; the new offer respects it', async () => {
  let t: TestMaster | undefined;
  let agent: AgentPeer | undefined;
  let scheduler: SchedulerPeer | undefined;
  try {
    t = await startMaster();
    agent = await registerAgent(t, { resources: AGENT });
    scheduler = await subscribeScheduler(t, { roles: ['eng/web'] });
    const before = await nextOffer(scheduler);
    assert.is(before.resources.find((r) => r.name === 'cpus')?.scalar?.value, 8);
    assert.is((await call(t, 'PUT', '/quota', { role: 'eng', limits: { cpus: 2 } })).status, 200);
    const rescind = await scheduler.next((e) => e.type === EventType.RESCIND, 'RESCIND');
    assert.is(rescind.rescind!.offer_id.value, before.id.value);
    const after = await nextOffer(scheduler, 'the offer under the limit');
    assert.is(after.resources.find((r) => r.name === 'cpus')?.scalar?.value, 2);
  } finally {
    await cleanup(t, agent, scheduler);
  }
});

weights('a quota limit caps what is offered to the role', async () => {
  let t: TestMaster | undefined;
  let agent: AgentPeer | undefined;
  let scheduler: SchedulerPeer | undefined;
  try {
    t = await startMaster();
    agent = await registerAgent(t, { resources: AGENT });
    assert.is((await call(t, 'PUT', '/quota', { role: 'dev', limits: { cpus: 3 } })).status, 200);
    scheduler = await subscribeScheduler(t, { roles: ['dev'] });
    const offer = await nextOffer(scheduler);
    const cpus = offer.resources.find((r) => r.name === 'cpus');
    assert.is(cpus?.scalar?.value, 3);
    assert.is(cpus?.allocation_info?.role, 'dev');
    assert.is(offer.resources.find((r) => r.name === 'mem')?.scalar?.value, 8192);
  } finally {
    await cleanup(t, agent, scheduler);
  }
});

weights('a guarantee holds resources back for its role, even before its framework subscribes', async () => {
  let t: TestMaster | undefined;
  const agents: AgentPeer[] = [];
  let dev: SchedulerPeer | undefined;
  let prod: SchedulerPeer | undefined;
  try {
    t = await startMaster();
    for (const hostname of ['a1', 'a2'])
      agents.push(await registerAgent(t, { hostname, resources: [scalar('cpus', 4), scalar('mem', 1024)] }));
    assert.is((await call(t, 'PUT', '/quota', { role: 'prod', guarantees: { cpus: 4, mem: 1024 } })).status, 200);
    dev = await subscribeScheduler(t, { roles: ['dev'] });
    const devOffer = await nextOffer(dev);
    // Required headroom is cpus 4 / mem 1024: dev gets one agent, the other is held for prod.
    const roles = JSON.parse((await call(t, 'GET', '/roles')).text).roles as RoleJson[];
    assert.is(roles.find((r) => r.name === 'dev')!.offered.cpus, 4);
    prod = await subscribeScheduler(t, { roles: ['prod'] });
    const prodOffer = await nextOffer(prod);
    assert.is.not(prodOffer.agent_id.value, devOffer.agent_id.value);
    assert.is(prodOffer.resources.find((r) => r.name === 'cpus')?.scalar?.value, 4);
    assert.equal(dev.all(isOffers).length, 1, 'dev got no second offer');
  } finally {
    await cleanup(t, dev, prod, ...agents);
  }
});

quota.run();
weights.run();
