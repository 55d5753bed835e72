/**
 * enforceRole on a real cluster: the agent's cpus and mem are (mostly)
 * reserved for role `dev`; an app in the top-level group `/dev` with
 * enforceRole gets role `dev`, Marathon subscribes with that role too
 * (MULTI_ROLE), receives offers allocated to `dev` and launches the task on
 * the resources reserved for it — the master's /roles and /state show it.
 */
import { waitFor } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { client } from '../api/harness.js';
import { type Cluster, startCluster } from '../support/cluster.js';

let cluster: Cluster | undefined;
const http = client(() => cluster!.marathon!.url);
const master = client(() => `http://127.0.0.1:${cluster!.master.port}`);

interface RoleJson {
  name: string;
  frameworks: string[];
  allocated: Record<string, number>;
}

const test = suite('enforceRole - an app of an enforcing group runs on resources of the group role');
test.before(async () => {
  cluster = await startCluster({
    prefix: 'marathon-roles',
    // Too little unreserved cpu for the app: it can only run on what is reserved for dev.
    agents: [{ resources: 'cpus:0.2;mem:64;cpus(dev):1;mem(dev):256;disk:50;ports:[31400-31409]' }],
  });
});
test.after(async () => {
  await cluster?.close();
});

test('the task is launched with the group role; the framework is subscribed with it', async () => {
  const frameworkRoles = async (): Promise<string[]> =>
    ((await master.get('/state')).body.frameworks?.[0]?.roles as string[] | undefined) ?? [];
  await waitFor(async () => ((await frameworkRoles()).length > 0 ? true : undefined), {
    timeoutMs: 20_000,
    message: 'Marathon to subscribe',
  });
  assert.equal(await frameworkRoles(), ['*'], 'only --mesos_role before any app');

  const group = await http.post('/v2/groups', {
    id: '/dev',
    enforceRole: true,
    apps: [{ id: '/dev/web', cmd: 'sleep 300', cpus: 0.5, mem: 128, portDefinitions: [] }],
  });
  assert.is(group.status, 201, group.text);
  const task = await waitFor(
    async () => {
      const tasks = (await http.get('/v2/apps/dev/web/tasks')).body?.tasks ?? [];
      return tasks.find((t: { state: string }) => t.state === 'TASK_RUNNING');
    },
    { timeoutMs: 30_000, message: 'the /dev/web task to run' },
  );
  assert.is(task.role, 'dev');
  assert.equal(await frameworkRoles(), ['*', 'dev'], 'subscribed with the app role (MULTI_ROLE)');

  const roles = (await master.get('/roles')).body.roles as RoleJson[];
  const dev = roles.find((r) => r.name === 'dev');
  assert.ok(dev, JSON.stringify(roles));
  assert.is(dev.frameworks.length, 1);
  assert.is(dev.allocated['cpus'], 0.5, JSON.stringify(dev));
  assert.is(dev.allocated['mem'], 128);
  const state = (await master.get('/state')).body;
  const running = state.frameworks[0].tasks.find((t: { id: string }) => t.id === task.id);
  assert.ok(running, 'the master knows the task');
});

test('after a restart Marathon subscribes with the stored apps roles at once', async () => {
  const framework = async () => (await master.get('/state')).body.frameworks?.[0];
  await cluster!.marathon!.close();
  await waitFor(async () => ((await framework())?.connected === false ? true : undefined), {
    timeoutMs: 10_000,
    message: 'the master to see Marathon gone',
  });
  await cluster!.startMarathon();
  const f = await waitFor(
    async () => {
      const current = await framework();
      return current?.connected === true ? current : undefined;
    },
    { timeoutMs: 20_000, message: 'Marathon to subscribe again' },
  );
  assert.equal(f.roles, ['*', 'dev']);
  assert.ok((f.capabilities as string[]).includes('MULTI_ROLE'), JSON.stringify(f.capabilities));
});

test.run();
