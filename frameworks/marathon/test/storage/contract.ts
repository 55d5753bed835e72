/** The behaviour every MarathonStore must have, run against each implementation. */
import { hasErrorCode } from '@agora/common';
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AppDefinition } from '../../src/model/app-definition.js';
import type { TaskRecord } from '../../src/model/task.js';
import { MAX_APP_VERSIONS, type MarathonStore } from '../../src/storage/repositories.js';
import { app, task } from '../scheduling/fixtures.js';

function versioned(a: AppDefinition, i: number): AppDefinition {
  const version = new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString();
  return { ...a, version, versionInfo: { lastScalingAt: version, lastConfigChangeAt: version } };
}

/** Register round-trip tests; `fresh()` gives an opened, empty store. */
export function storeContract(test: Test, fresh: () => Promise<MarathonStore>): void {
  test('apps: put, get, list, delete round trip', async () => {
    const store = await fresh();
    const web = app({ id: '/prod/web', instances: 3, env: { A: 'b' }, labels: { x: 'y' } });
    const db = app({ id: '/db', args: ['run'], cmd: undefined });
    await store.apps.put(web);
    await store.apps.put(db);
    assert.equal(await store.apps.get('/prod/web'), web);
    assert.equal((await store.apps.list()).map((a) => a.id).sort(), ['/db', '/prod/web']);
    await store.apps.delete('/prod/web');
    assert.is(await store.apps.get('/prod/web'), undefined);
    assert.equal(await store.apps.versions('/prod/web'), []);
    assert.equal(
      (await store.apps.list()).map((a) => a.id),
      ['/db'],
    );
  });

  test('apps: versions are kept, oldest first, at most MAX_APP_VERSIONS', async () => {
    const store = await fresh();
    const base = app({ id: '/v' });
    for (let i = 0; i < MAX_APP_VERSIONS + 3; i++) await store.apps.put(versioned({ ...base, instances: i }, i));
    const versions = await store.apps.versions('/v');
    assert.is(versions.length, MAX_APP_VERSIONS);
    assert.is(versions[0], versioned(base, 3).version);
    assert.is((await store.apps.get('/v'))?.instances, MAX_APP_VERSIONS + 2);
    assert.is((await store.apps.getVersion('/v', versioned(base, 10).version))?.instances, 10);
    assert.is(await store.apps.getVersion('/v', versioned(base, 0).version), undefined);
  });

  test('tasks: put, list by app, update, delete', async () => {
    const store = await fresh();
    const t1 = task('/prod/web', { ports: [31000], state: 'TASK_STAGING' });
    const t2 = task('/prod/web');
    const t3 = task('/db');
    for (const t of [t1, t2, t3]) await store.tasks.put(t);
    assert.equal((await store.tasks.listByApp('/prod/web')).map((t) => t.id).sort(), [t1.id, t2.id].sort());
    const running: TaskRecord = { ...t1, state: 'TASK_RUNNING', startedAt: '2024-01-01T00:00:00.000Z' };
    await store.tasks.put(running);
    assert.equal(
      (await store.tasks.listByApp('/prod/web')).find((t) => t.id === t1.id),
      running,
    );
    await store.tasks.delete('/prod/web', t2.id);
    await store.tasks.delete('/db', t3.id);
    assert.equal(await store.tasks.list(), [running]);
  });

  test('framework id: absent, put, replaced, deleted', async () => {
    const store = await fresh();
    assert.is(await store.frameworkId.get(), undefined);
    await store.frameworkId.put('fw-1');
    assert.is(await store.frameworkId.get(), 'fw-1');
    await store.frameworkId.put('fw-2');
    assert.is(await store.frameworkId.get(), 'fw-2');
    await store.frameworkId.delete();
    assert.is(await store.frameworkId.get(), undefined);
  });

  test('a closed store fails with AGORA_ERR_STORAGE', async () => {
    const store = await fresh();
    await store.close();
    await store.apps.list().then(
      () => assert.unreachable('listing after close should fail'),
      (err: unknown) => assert.ok(hasErrorCode(err, 'AGORA_ERR_STORAGE'), String(err)),
    );
  });
}
