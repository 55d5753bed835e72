/** The deployment executor's bookkeeping: steps advance in order, later steps hold their apps, state survives a restart. */
import { removeTempDir, tempDir } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { planDeployment } from '../../src/deployments/deployment-plan.js';
import {
  type DeploymentRecord,
  DeploymentTracker,
  deploymentToJson,
} from '../../src/deployments/deployment-tracker.js';
import type { AppDefinition } from '../../src/model/app-definition.js';
import { FileStore } from '../../src/storage/file/file-store.js';
import { app } from '../scheduling/fixtures.js';

const test = suite('deployment tracker');
let dir = '';

test.before(async () => {
  dir = await tempDir('agora-deployments-');
});
test.after(async () => {
  await removeTempDir(dir);
});

const map = (...apps: AppDefinition[]): Map<string, AppDefinition> => new Map(apps.map((a) => [a.id, a]));

test('steps advance only when every action of the current one is done; later apps are held', async () => {
  const store = new FileStore(`${dir}/a`);
  await store.open();
  const tracker = new DeploymentTracker(store.deployments);
  const db = app({ id: '/db' });
  const web = app({ id: '/web', dependencies: ['/db'] });
  const steps = planDeployment(map(), map(db, web));
  const finished: string[] = [];
  tracker.onDidFinish((e) => finished.push(`${e.deployment.id} ${e.outcome}`));
  tracker.start({
    id: 'd1',
    appId: '/db',
    action: 'StartApplication',
    version: db.version,
    createdAt: '2024-01-01T00:00:00.000Z',
    steps,
  });
  assert.is(tracker.isHeld('/web'), true, 'web only exists (StartApplication) until its own step');
  const done = new Set<string>(['StartApplication /db', 'StartApplication /web']);
  tracker.advance((a) => done.has(`${a.action} ${a.app}`));
  assert.is(tracker.get('d1')?.currentStep, 1);
  assert.is(tracker.isHeld('/web'), true, 'web waits for db');
  assert.is(tracker.isHeld('/db'), false);
  const json = deploymentToJson(tracker.get('d1')!);
  assert.is(json['currentStep'], 2);
  assert.is(json['totalSteps'], 3);
  assert.equal(json['currentActions'], [{ action: 'ScaleApplication', app: '/db', readinessCheckResults: [] }]);

  // Restart: the stored deployment resumes at the same step.
  await tracker.flush();
  const again = new DeploymentTracker(store.deployments);
  assert.is(await again.load(), 1);
  assert.is(again.get('d1')?.currentStep, 1);
  assert.is(again.isHeld('/web'), true);

  done.add('ScaleApplication /db');
  tracker.advance((a) => done.has(`${a.action} ${a.app}`));
  assert.is(tracker.isHeld('/web'), false);
  done.add('ScaleApplication /web');
  tracker.advance((a) => done.has(`${a.action} ${a.app}`));
  assert.is(tracker.get('d1'), undefined);
  assert.equal(finished, ['d1 success']);
  await tracker.flush();
  assert.equal(await store.deployments.list(), []);
  await store.close();
});

test('a new deployment of the same app supersedes the running one; cancel drops it', async () => {
  const tracker = new DeploymentTracker();
  const outcomes: string[] = [];
  tracker.onDidFinish((e) => outcomes.push(`${e.deployment.id} ${e.outcome}`));
  const base = { appId: '/a', version: 'v', createdAt: '2024-01-01T00:00:00.000Z' };
  tracker.start({ ...base, id: 'x', action: 'ScaleApplication' });
  tracker.start({ ...base, id: 'y', action: 'RestartApplication' });
  assert.equal(
    tracker.forApp('/a').map((d: DeploymentRecord) => d.id),
    ['y'],
  );
  tracker.cancel('y');
  assert.equal(tracker.list(), []);
  assert.equal(outcomes, ['x superseded', 'y canceled']);
});

test('DeploymentInfo JSON has the keys of a real Marathon answer', async () => {
  const { readFile } = await import('node:fs/promises');
  const corpus = JSON.parse(
    await readFile(new URL('../fixtures/corpus/responses/api-examples_deployments.json', import.meta.url), 'utf8'),
  ) as Array<Record<string, unknown>>;
  const tracker = new DeploymentTracker();
  const record = tracker.start({
    id: 'd',
    appId: '/foo',
    action: 'ScaleApplication',
    version: '2015-09-30T09:09:17.614Z',
    createdAt: '2015-09-30T09:09:17.614Z',
  });
  const json = deploymentToJson(record, () => [{ name: 'myReadyCheck', taskId: 'foo.instance-1', ready: false }]);
  assert.equal(Object.keys(json).sort(), Object.keys(corpus[0]!).sort());
  const action = (json['currentActions'] as Array<Record<string, unknown>>)[0]!;
  const real = (corpus[0]!['currentActions'] as Array<Record<string, unknown>>)[0]!;
  assert.equal(Object.keys(action).sort(), Object.keys(real).sort());
  assert.equal(json['steps'], [{ actions: [{ action: 'ScaleApplication', app: '/foo' }] }]);
});

test('a store of another schema version is refused at open with a clear error', async () => {
  const { writeFile } = await import('node:fs/promises');
  const store = new FileStore(`${dir}/b`);
  await store.open();
  await writeFile(`${dir}/b/schema-version`, '99\n');
  const again = new FileStore(`${dir}/b`);
  try {
    await again.open();
    assert.unreachable('opened a store of schema 99');
  } catch (err) {
    assert.match((err as Error).message, /schema version 99, this Marathon reads version 1/);
  }
});

test.run();
