/**
 * The agent's checkpointed resources and persistent volume directories, on a
 * real file system: CheckpointResources is written and read back, new
 * volumes get a directory, destroyed ones lose it, a task's sandbox gets a
 * link at its container path, and the data outlives the sandbox.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasErrorCode } from '@agora/common';
import { agora, type Resource } from '@agora/proto';
import { removeTempDir, tempDir } from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  PersistentVolumes,
  resourcesCheckpointFile,
  volumeDir,
  volumesIn,
} from '../../src/volumes/persistent-volumes.js';

const test = suite('agent: checkpointed resources and persistent volume directories');
const { DYNAMIC } = agora.v1.Resource.ReservationInfo.Type;

function vol(id: string, role = 'db', path = 'data', mode = agora.v1.Volume.Mode.RW): Resource {
  return {
    name: 'disk',
    type: agora.v1.Value.Type.SCALAR,
    scalar: { value: 10 },
    reservations: [{ type: DYNAMIC, role, principal: 'ops' }],
    disk: { persistence: { id }, volume: { container_path: path, mode } },
  };
}
const cpus: Resource = {
  name: 'cpus',
  type: agora.v1.Value.Type.SCALAR,
  scalar: { value: 1 },
  reservations: [{ type: DYNAMIC, role: 'db' }],
};

test('apply writes the checkpoint, creates new volumes and removes destroyed ones; recover reads it back', async () => {
  const dir = await tempDir('agora-volumes');
  try {
    const volumes = new PersistentVolumes(dir);
    volumes.apply([cpus, vol('v1'), vol('v2', 'eng/web')]);
    assert.ok(existsSync(resourcesCheckpointFile(dir)));
    assert.ok(existsSync(join(dir, 'volumes', 'roles', 'db', 'v1')));
    assert.ok(existsSync(join(dir, 'volumes', 'roles', 'eng web', 'v2')), "a hierarchical role's '/' is ' '");
    writeFileSync(join(volumeDir(dir, 'db', 'v1'), 'keep'), 'data');

    const restarted = new PersistentVolumes(dir);
    restarted.recover();
    assert.is(restarted.checkpointed().length, 3);
    assert.equal(
      restarted.volumes().map((v) => [v.role, v.id, v.containerPath, v.mode]),
      [
        ['db', 'v1', 'data', 'RW'],
        ['eng/web', 'v2', 'data', 'RW'],
      ],
    );
    // A checkpointed volume whose directory went missing is made again at recovery.
    rmSync(volumeDir(dir, 'eng/web', 'v2'), { recursive: true });
    new PersistentVolumes(dir).recover();
    assert.ok(existsSync(volumeDir(dir, 'eng/web', 'v2')));

    restarted.apply([cpus, vol('v1')]);
    assert.not.ok(existsSync(volumeDir(dir, 'eng/web', 'v2')), 'the destroyed volume is removed');
    assert.is(readFileSync(join(volumeDir(dir, 'db', 'v1'), 'keep'), 'utf8'), 'data', 'the kept volume keeps its data');
    const again = new PersistentVolumes(dir);
    again.recover();
    assert.is(again.volumes().length, 1);
  } finally {
    await removeTempDir(dir);
  }
});

test('a volume that cannot name a directory is refused before anything is written', async () => {
  const dir = await tempDir('agora-volumes');
  try {
    const volumes = new PersistentVolumes(dir);
    volumes.apply([vol('v1')]);
    assert.throws(
      () => volumes.apply([vol('..')]),
      (e: unknown) => hasErrorCode(e, 'AGORA_ERR_INVALID_VOLUME'),
    );
    assert.ok(existsSync(volumeDir(dir, 'db', 'v1')), 'nothing changed');
    const back = new PersistentVolumes(dir);
    back.recover();
    assert.equal(
      back.volumes().map((v) => v.id),
      ['v1'],
    );
  } finally {
    await removeTempDir(dir);
  }
});

test('a corrupt checkpoint is an AGORA_ERR_CHECKPOINT at recovery', async () => {
  const dir = await tempDir('agora-volumes');
  try {
    mkdirSync(join(dir, 'meta', 'resources'), { recursive: true });
    writeFileSync(resourcesCheckpointFile(dir), Buffer.from([0xff, 0xff, 0xff, 0x0f]));
    assert.throws(
      () => new PersistentVolumes(dir).recover(),
      (e: unknown) => hasErrorCode(e, 'AGORA_ERR_CHECKPOINT'),
    );
  } finally {
    await removeTempDir(dir);
  }
});

test("a task's volume appears in its sandbox as a link; the data outlives the sandbox", async () => {
  const dir = await tempDir('agora-volumes');
  try {
    const volumes = new PersistentVolumes(dir);
    volumes.apply([vol('v1', 'db', 'state/data')]);
    const sandbox = join(dir, 'sandbox-1');
    mkdirSync(sandbox);
    volumes.linkIntoSandbox(sandbox, [cpus, vol('v1', 'db', 'state/data')]);
    assert.ok(lstatSync(join(sandbox, 'state', 'data')).isSymbolicLink());
    writeFileSync(join(sandbox, 'state', 'data', 'f'), 'x');
    rmSync(sandbox, { recursive: true, force: true }); // what sandbox GC does
    assert.is(readFileSync(join(volumeDir(dir, 'db', 'v1'), 'f'), 'utf8'), 'x');

    const second = join(dir, 'sandbox-2');
    mkdirSync(second);
    volumes.linkIntoSandbox(second, [vol('v1', 'db', 'state/data')]);
    assert.is(readFileSync(join(second, 'state', 'data', 'f'), 'utf8'), 'x', 'a second task sees the data');

    assert.throws(
      () => volumes.linkIntoSandbox(second, [vol('v1', 'db', 'state/data')]),
      (e: unknown) => hasErrorCode(e, 'AGORA_ERR_INVALID_VOLUME'),
      'the path is taken',
    );
    assert.throws(
      () => volumes.linkIntoSandbox(second, [vol('unknown')]),
      (e: unknown) => hasErrorCode(e, 'AGORA_ERR_INVALID_VOLUME'),
      'a volume the agent has not checkpointed',
    );
    assert.equal(
      volumesIn([cpus, vol('v1', 'db', 'p', agora.v1.Volume.Mode.RO)]).map((v) => v.mode),
      ['RO'],
    );
  } finally {
    await removeTempDir(dir);
  }
});

test.run();
