import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '@agora/common';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_GC_DELAY_MS, gcMaxAgeMs, sandboxesToCollect } from '../../src/gc/policy.js';
import { diskUsageOf, SandboxGc } from '../../src/gc/sandbox-gc.js';
import { waitFor } from '../support/wait.js';

const DAY = 24 * 3600 * 1000;

const policy = suite('gc policy');

policy('the max age shrinks with disk usage and is 0 past the headroom', () => {
  assert.is(gcMaxAgeMs(DEFAULT_GC_DELAY_MS, 0.1, 0), DEFAULT_GC_DELAY_MS * 0.9);
  assert.is(gcMaxAgeMs(1000, 0.1, 0.4), 500);
  assert.is(gcMaxAgeMs(1000, 0.1, 0.9), 0);
  assert.is(gcMaxAgeMs(1000, 0.1, 0.99), 0);
  assert.is(gcMaxAgeMs(1000, 0, Number.NaN), 1000);
});

policy('only unused sandboxes older than the max age are collected, oldest first', () => {
  const c = [
    { path: 'young', lastChangeMs: 900, inUse: false },
    { path: 'old', lastChangeMs: 100, inUse: false },
    { path: 'older', lastChangeMs: 50, inUse: false },
    { path: 'old-but-live', lastChangeMs: 10, inUse: true },
  ];
  assert.equal(sandboxesToCollect(c, 1000, 500), ['older', 'old']);
  assert.equal(sandboxesToCollect(c, 1000, 0), ['older', 'old', 'young']);
});

policy.run();

const test = suite('sandbox garbage collector');
let root = '';

test.before(() => {
  root = mkdtempSync(join(tmpdir(), 'agora-gc-'));
});
test.after(() => rmSync(root, { recursive: true, force: true }));

function makeSandbox(workDir: string, executor: string, run: string, lastChangeMs: number): string {
  const runs = join(workDir, 'agents', 'a1', 'frameworks', 'f1', 'executors', executor, 'runs');
  const dir = join(runs, run);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'stdout'), 'x');
  rmSync(join(runs, 'latest'), { force: true });
  symlinkSync(run, join(runs, 'latest'));
  const t = lastChangeMs / 1000;
  utimesSync(join(dir, 'stdout'), t, t);
  utimesSync(dir, t, t);
  return dir;
}

test('every check interval, sandboxes older than gc_delay × (1 − headroom − usage) go', async () => {
  const workDir = join(root, 'w1');
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const now = clock.now();
  const old = makeSandbox(workDir, 'e-old', 'r1', now - 8 * DAY);
  const recent = makeSandbox(workDir, 'e-recent', 'r1', now - 1 * DAY);
  const live = makeSandbox(workDir, 'e-live', 'r1', now - 30 * DAY);
  const usage = 0;
  const gc = new SandboxGc({
    workDir,
    clock,
    gcDelayMs: 7 * DAY,
    diskHeadroom: 0.1,
    checkIntervalMs: 60_000,
    inUse: () => [live],
    diskUsage: () => usage,
  });
  gc.start();
  try {
    clock.advance(59_000);
    await clock.settle();
    assert.ok(existsSync(old), 'nothing happens before the first check');
    clock.advance(1_000);
    await waitFor(() => !existsSync(old), 'the old sandbox removed');
    assert.ok(existsSync(recent), 'a sandbox younger than the max age stays');
    assert.ok(existsSync(live), 'a live task keeps its sandbox');
    assert.not.ok(existsSync(join(workDir, 'agents/a1/frameworks/f1/executors/e-old')), 'its empty executor dir goes');
    // Time passes: at 6.3 days (7 × 0.9) the recent one is due.
    clock.advance(5 * DAY);
    await clock.settle();
    assert.equal(await gc.collect(), [], 'six days old: still kept');
    clock.advance(DAY);
    await waitFor(() => !existsSync(recent), 'the recent sandbox removed once old enough');
    assert.ok(existsSync(live));
    assert.is(gc.removedCount, 2);
  } finally {
    gc.dispose();
  }
});

test('disk pressure: past the headroom every finished sandbox goes at the next check', async () => {
  const workDir = join(root, 'w2');
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const now = clock.now();
  const a = makeSandbox(workDir, 'e1', 'r1', now - 60_000);
  const b = makeSandbox(workDir, 'e1', 'r2', now - 1000);
  const live = makeSandbox(workDir, 'e2', 'r1', now - 1000);
  let usage = 0.5;
  const gc = new SandboxGc({ workDir, clock, checkIntervalMs: 60_000, inUse: () => [live], diskUsage: () => usage });
  gc.start();
  try {
    clock.advance(60_000);
    await clock.settle();
    assert.equal(await gc.collect(), [], 'at 50% usage a day-old limit of 2.8 days keeps both');
    assert.ok(existsSync(a) && existsSync(b));
    usage = 0.95;
    clock.advance(60_000);
    await waitFor(() => !existsSync(a) && !existsSync(b), 'both finished sandboxes removed under pressure');
    assert.ok(existsSync(live));
    assert.not.ok(
      existsSync(join(workDir, 'agents/a1/frameworks/f1/executors/e1/runs/latest')),
      'dangling latest removed',
    );
  } finally {
    gc.dispose();
  }
});

test('the default disk usage is read from the file system', () => {
  const u = diskUsageOf(root);
  assert.ok(u >= 0 && u <= 1, String(u));
});

test.run();
