/**
 * How volumes reach a sandbox, on a real file system and (where the host has
 * them) in a real private mount namespace: symlinks for the posix fallback,
 * empty mount points plus bind mounts (read-only for RO) that only the
 * namespace sees; bad container paths and taken paths are refused; an
 * executor's container holds one volume per path.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasErrorCode } from '@agora/common';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  createMountPoints,
  linkVolumes,
  mountCommands,
  mountPoint,
  type VolumeMount,
} from '../../src/containerizer/volume-mounts.js';
import { ExecutorVolumes } from '../../src/custom-executor/executor-volumes.js';
import { detectHostIsolation } from '../../src/isolation/isolation.js';

const test = suite('volume mounts: symlinks, bind mounts in a private mount namespace, RO, refusals');
let root = '';
test.before.each(() => {
  root = mkdtempSync(join(tmpdir(), 'agora-vol-mounts-'));
});
test.after.each(() => {
  rmSync(root, { recursive: true, force: true });
});

function volume(name: string, containerPath: string, readOnly: boolean): VolumeMount {
  const hostPath = join(root, 'volumes', name);
  mkdirSync(hostPath, { recursive: true });
  return { hostPath, containerPath, readOnly };
}

test('bad container paths are refused', () => {
  for (const bad of ['', '/abs', '../up', 'a/../b', 'a//b', './a']) {
    assert.throws(
      () => mountPoint(root, { hostPath: '/x', containerPath: bad, readOnly: false }),
      (e: unknown) => hasErrorCode(e, 'AGORA_ERR_INVALID_VOLUME'),
      JSON.stringify(bad),
    );
  }
  assert.is(mountPoint('/sb', { hostPath: '/x', containerPath: 'a/b', readOnly: true }), '/sb/a/b');
});

test('posix: a symlink per volume; a taken path is refused', () => {
  const sandbox = join(root, 'sandbox');
  mkdirSync(sandbox);
  const v = volume('v1', 'state/data', true);
  linkVolumes(sandbox, [v]);
  assert.ok(lstatSync(join(sandbox, 'state', 'data')).isSymbolicLink());
  writeFileSync(join(sandbox, 'state', 'data', 'f'), 'x'); // RO is not enforced by a symlink
  assert.is(readFileSync(join(v.hostPath, 'f'), 'utf8'), 'x');
  assert.throws(
    () => linkVolumes(sandbox, [v]),
    (e: unknown) => hasErrorCode(e, 'AGORA_ERR_INVALID_VOLUME'),
  );
  assert.throws(
    () => createMountPoints(sandbox, [v]),
    (e: unknown) => hasErrorCode(e, 'AGORA_ERR_INVALID_VOLUME'),
  );
});

test('linux: bind mounts in a private mount namespace, RO read-only, nothing on the host', () => {
  const sandbox = join(root, 'sandbox');
  mkdirSync(sandbox);
  const rw = volume('rw', 'data', false);
  const ro = volume('ro', 'conf/ro', true);
  writeFileSync(join(ro.hostPath, 'setting'), 'on');
  createMountPoints(sandbox, [rw, ro]);
  assert.ok(lstatSync(join(sandbox, 'conf', 'ro')).isDirectory());
  if (!detectHostIsolation().pidNamespace) return; // no mount namespace here: the agent uses the symlinks
  const script = `${mountCommands(sandbox, [rw, ro])}echo w > ${sandbox}/data/w && cat ${sandbox}/conf/ro/setting && ! touch ${sandbox}/conf/ro/denied`;
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', '/bin/sh', '-c', script], {
    encoding: 'utf8',
  });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, 'on');
  assert.match(r.stderr, /Read-only file system/);
  assert.is(readFileSync(join(rw.hostPath, 'w'), 'utf8'), 'w\n');
  assert.not.ok(existsSync(join(ro.hostPath, 'denied')));
  assert.not.ok(readFileSync('/proc/self/mountinfo', 'utf8').includes(root), 'the host has no mount');
  // A volume that cannot be mounted: the script says so and exits 125.
  const gone = { hostPath: join(root, 'missing'), containerPath: 'data', readOnly: false };
  const bad = spawnSync('unshare', ['--mount', '/bin/sh', '-c', mountCommands(sandbox, [gone])], { encoding: 'utf8' });
  assert.is(bad.status, 125);
  assert.match(bad.stderr, /agora: cannot mount volume/);
});

test("an executor's container: a volume at a path once; another volume at a taken path is refused", () => {
  const a = volume('a', 'data', false);
  const volumes = new ExecutorVolumes([a]);
  assert.equal(volumes.missing([a]), []);
  const b = volume('b', 'other', true);
  assert.equal(volumes.missing([a, b, b]), [b]);
  assert.throws(
    () => volumes.missing([{ ...b, containerPath: 'data' }]),
    (e: unknown) => hasErrorCode(e, 'AGORA_ERR_INVALID_VOLUME'),
  );
  assert.throws(() => volumes.addTo(undefined, root, [b]), /not running/);
  const sandbox = join(root, 'exec-sandbox');
  mkdirSync(sandbox);
  const container = { containerId: 'c', pid: 1, exited: new Promise<never>(() => {}), hasExited: false } as const;
  const plain = { ...container, kill: () => container.exited, detach: () => {} };
  assert.equal(volumes.addTo(plain, sandbox, [b]), [b], 'no addVolumes: linked');
  assert.ok(lstatSync(join(sandbox, 'other')).isSymbolicLink());
  assert.equal(
    volumes.list().map((v) => v.containerPath),
    ['data', 'other'],
  );
});

test.run();
