import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { joinCgroupsScript, readStatusFile } from '../../src/containerizer/supervisor.js';

const test = suite('supervisor exit status file');
let root = '';
test.before.each(() => {
  root = mkdtempSync(join(tmpdir(), 'agora-supervisor-'));
});
test.after.each(() => {
  rmSync(root, { recursive: true, force: true });
});

test('a recorded status reads back; a missing, empty or garbled file is no status (not a success)', () => {
  const file = join(root, 'exit_status');
  assert.is(readStatusFile(file), undefined);
  writeFileSync(file, '137\n');
  assert.is(readStatusFile(file), 137);
  writeFileSync(file, '');
  assert.is(readStatusFile(file), undefined);
  writeFileSync(file, '  \n');
  assert.is(readStatusFile(file), undefined);
  writeFileSync(file, '1x');
  assert.is(readStatusFile(file), undefined);
});

test('joining no cgroup is no script; each cgroup.procs path is quoted for the shell', () => {
  assert.is(joinCgroupsScript([]), '');
  const script = joinCgroupsScript(["/sys/fs/cgroup/it's/cgroup.procs"]);
  assert.match(script, /^for f in '\/sys\/fs\/cgroup\/it'\\''s\/cgroup\.procs'; do/);
  assert.match(script, /exit 125/);
});

test.run();
