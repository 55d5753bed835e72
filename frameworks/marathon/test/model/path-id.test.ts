import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  appIdOfTaskId,
  canonicalPathId,
  pathIdErrors,
  safePath,
  taskIdFor,
  taskNameFor,
} from '../../src/model/path-id.js';

const ids = suite('path ids - canonical form and Marathon id rules');

ids('relative ids are made absolute and . / .. are resolved', () => {
  assert.is(canonicalPathId('web'), '/web');
  assert.is(canonicalPathId('/a/b/'), '/a/b');
  assert.is(canonicalPathId('a/./b/../c'), '/a/c');
  assert.is(canonicalPathId('//a//b'), '/a/b');
  assert.is(canonicalPathId('/'), '/');
  assert.is(canonicalPathId('..'), '/');
});

ids('valid ids have no errors', () => {
  for (const id of ['/web', 'web', '/prod/web-1', '/a.b.c/d', '/x/y/z', '0', '/a-b.c-d']) {
    assert.equal(pathIdErrors(id), [], id);
  }
});

ids('segments must match the PathId pattern', () => {
  for (const id of ['/Web', '/a_b', '/-a', '/a-', '/a b', '/a..b', '/.a', '/a#b']) {
    const errors = pathIdErrors(id);
    assert.ok(
      errors.some((e) => e.startsWith('must fully match regular expression')),
      `${id}: ${errors}`,
    );
  }
});

ids('the last segment may not be a reserved route word', () => {
  for (const last of ['restart', 'tasks', 'versions']) {
    assert.ok(
      pathIdErrors(`/a/${last}`).some((e) => e.includes('reserved keywords')),
      last,
    );
  }
  assert.equal(pathIdErrors('/tasks/a'), []);
});

ids('the root is not an app id', () => {
  assert.ok(pathIdErrors('/').includes('Path must contain at least one path element'));
  assert.ok(pathIdErrors('/a/..').includes('Path must contain at least one path element'));
});

const tasks = suite('path ids - task ids and names');

tasks('task ids use the safe path and the instance prefix, and map back to the app', () => {
  const uuid = 'b6ff5fa5-7714-11e7-a55c-5ecf1c4671f6';
  const id = taskIdFor('/test/foo/bla/rest', uuid);
  assert.is(id, `test_foo_bla_rest.instance-${uuid}._app.1`);
  assert.is(appIdOfTaskId(id), '/test/foo/bla/rest');
  assert.is(appIdOfTaskId(taskIdFor('/a.b/c', uuid)), '/a.b/c');
  assert.is(appIdOfTaskId('frontend-foosball.083be411-5d1f-11e5-88f7-56b91e7a505b'), '/frontend-foosball');
  assert.is(appIdOfTaskId('not-a-task-id'), undefined);
});

tasks('safe paths and Mesos task names', () => {
  assert.is(safePath('/tools/docker/registry'), 'tools_docker_registry');
  assert.is(taskNameFor('/tools/docker/registry'), 'registry.docker.tools');
});

ids.run();
tasks.run();
