#!/usr/bin/env node
// Runs every uvu test file (`**/test/**/*.test.ts`) in its own Node process
// (tsx for TypeScript, the `development` export condition for workspace
// packages), a few at a time, each with a time limit, and prints uvu's totals
// summed over all files and a closing line `N passed, N failed`.
//
// Usage: node scripts/run-tests.mjs [filter-substring...]
//   AGORA_TEST_JOBS=2          files run at once (default 2)
//   AGORA_TEST_TIMEOUT_S=300   per-file limit in seconds (default 300)
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);
const jobs = Number(process.env.AGORA_TEST_JOBS ?? 2);
const timeoutS = Number(process.env.AGORA_TEST_TIMEOUT_S ?? 300);
const SKIP = new Set(['node_modules', 'dist', '.git', '.agora']);

function findTests(dir, inTest = false) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...findTests(p, inTest || e.name === 'test'));
    else if (inTest && e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const files = ['packages', 'frameworks', 'test']
  .flatMap((d) => findTests(join(root, d), d === 'test'))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort((a, b) => (a.startsWith('test/') ? 1 : 0) - (b.startsWith('test/') ? 1 : 0) || a.localeCompare(b));

if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

const totals = { passed: 0, failed: 0, skipped: 0 };
const failedFiles = [];
const started = Date.now();

// Every process a test file starts (daemons, agents' task processes, servers) inherits
// AGORA_TEST_RUN_ID. Tasks live in their own process groups and outlive a test process that
// crashed or was killed at its time limit; they are found by this mark and killed when the
// file ends, so they cannot hold ports or CPU for the files after it.
function killMarked(runId) {
  const mark = `AGORA_TEST_RUN_ID=${runId}`;
  let killed = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(mark)) {
        process.kill(Number(entry), 'SIGKILL');
        killed++;
      }
    } catch {}
  }
  return killed;
}

function runFile(file) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const runId = randomUUID();
    const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', file], {
      cwd: root,
      env: {
        ...process.env,
        FORCE_COLOR: '0',
        AGORA_LOG_LEVEL: process.env.AGORA_LOG_LEVEL ?? 'silent',
        AGORA_TEST_RUN_ID: runId,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      out += `\n[run-tests] ${file} exceeded ${timeoutS}s and was killed\n`;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, timeoutS * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const leftovers = killMarked(runId);
      if (leftovers > 0) out += `\n[run-tests] killed ${leftovers} process(es) ${file} left behind\n`;
      // uvu prints "Total: N", "Passed: N", "Skipped: N" per process.
      const num = (label) =>
        [...out.matchAll(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'gm'))].reduce((s, m) => s + Number(m[1]), 0);
      const total = num('Total');
      const passed = num('Passed');
      const skipped = num('Skipped');
      let failed = Math.max(0, total - passed - skipped);
      if ((code !== 0 || signal) && failed === 0) failed = 1; // crashed, timed out, or exited non-zero
      if (total === 0 && failed === 0) failed = 1; // a file that ran no test is a failure
      totals.passed += passed;
      totals.failed += failed;
      totals.skipped += skipped;
      const secs = ((Date.now() - t0) / 1000).toFixed(1);
      if (failed > 0) {
        failedFiles.push(file);
        console.log(`✘ ${file} (${passed} passed, ${failed} failed, ${secs}s)\n${out.trim()}\n`);
      } else {
        console.log(`✔ ${file} (${passed} passed, ${secs}s)`);
      }
      if (leftovers > 0) console.log(`  ⚠ ${file} left ${leftovers} process(es) running; killed them`);
      resolve();
    });
  });
}

const queue = [...files];
await Promise.all(
  Array.from({ length: Math.max(1, jobs) }, async () => {
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) await runFile(f);
  }),
);

console.log(`\n${files.length} files in ${((Date.now() - started) / 1000).toFixed(1)}s`);
if (failedFiles.length) console.log(`failed files:\n  ${failedFiles.join('\n  ')}`);
console.log(`${totals.passed} passed, ${totals.failed} failed` + (totals.skipped ? `, ${totals.skipped} skipped` : ''));
process.exit(totals.failed > 0 ? 1 : 0);
