/**
 * Each health-check protocol against a real task process: healthy, then
 * unhealthy once the task turns sick (a file `sick` appears in its sandbox),
 * then killed after consecutive failures.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '@agora/common';
import { agora, TaskState, TaskStatusReason } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ProcessContainerizer } from '../../src/containerizer/process.js';
import { CommandExecutor } from '../../src/executor/command-executor.js';
import { HealthChecker } from '../../src/health/health-checker.js';
import { CERT, KEY } from '../support/tls.js';
import { isAlive, killGroup, waitFor } from '../support/wait.js';

/** The task: serves http, https or tcp on $PORT until `sick` appears (then 503 / stops listening). */
const SERVER = `
import fs from 'node:fs'; import http from 'node:http'; import https from 'node:https'; import net from 'node:net';
const mode = process.env.MODE; const port = Number(process.env.PORT);
const sick = () => fs.existsSync('sick');
if (mode === 'tcp') {
  const s = net.createServer((c) => c.end()); s.listen(port, '127.0.0.1');
  const t = setInterval(() => { if (sick()) { s.close(); clearInterval(t); setInterval(() => {}, 1000); } }, 20);
} else if (mode === 'http' || mode === 'https') {
  const handler = (req, res) => res.writeHead(sick() ? 503 : 200).end(req.url);
  const s = mode === 'https'
    ? https.createServer({ key: fs.readFileSync('key.pem'), cert: fs.readFileSync('cert.pem') }, handler)
    : http.createServer(handler);
  s.listen(port, '127.0.0.1');
} else {
  setInterval(() => {}, 1000);
}
`;

const test = suite('health checks with real tasks');
let root = '';
const executors: CommandExecutor[] = [];

test.before(() => {
  root = mkdtempSync(join(tmpdir(), 'agora-health-'));
});

test.after(() => {
  for (const e of executors) killGroup(e.pid);
  rmSync(root, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function runChecked(mode: string, check: (port: number) => agora.v1.HealthCheck.$Properties) {
  const sandbox = join(root, mode);
  mkdirSync(sandbox, { recursive: true });
  writeFileSync(join(sandbox, 'server.mjs'), SERVER);
  writeFileSync(join(sandbox, 'key.pem'), KEY);
  writeFileSync(join(sandbox, 'cert.pem'), CERT);
  const port = await freePort();
  const healthCheck = {
    delay_seconds: 0,
    interval_seconds: 0.1,
    timeout_seconds: 2,
    grace_period_seconds: 10,
    consecutive_failures: 3,
    ...check(port),
  };
  const task: agora.v1.TaskInfo.$Properties = {
    name: mode,
    task_id: { value: `task-${mode}` },
    agent_id: { value: 'a1' },
    command: { value: `exec "${process.execPath}" server.mjs` },
    health_check: healthCheck,
    kill_policy: { grace_period: { nanoseconds: 500_000_000 } },
  };
  const statuses: agora.v1.TaskStatus.$Properties[] = [];
  const env = { PATH: process.env['PATH'] ?? '/bin', MODE: mode, PORT: String(port) };
  const executor = new CommandExecutor({
    task,
    framework: { user: 'u', name: 'fw', id: { value: 'f1' } },
    frameworkId: 'f1',
    agentId: 'a1',
    containerId: `c-${mode}`,
    sandbox,
    env,
    containerizer: new ProcessContainerizer(),
    healthCheck: (hooks) => HealthChecker.start(healthCheck, { sandbox, env }, systemClock, hooks),
    onStatus: (s) => statuses.push(s),
  });
  executors.push(executor);
  void executor.launch();

  const healthy = await waitFor(() => statuses.find((s) => s.healthy === true), `${mode}: a healthy update`, 15_000);
  assert.is(healthy.state, TaskState.TASK_RUNNING);
  assert.is(healthy.reason, TaskStatusReason.REASON_TASK_HEALTH_CHECK_STATUS_UPDATED);
  const pid = executor.pid as number;
  // Several more healthy probes happen; none is reported again.
  await new Promise((r) => setTimeout(r, 400));
  writeFileSync(join(sandbox, 'sick'), '');
  const unhealthy = await waitFor(() => statuses.find((s) => s.healthy === false), `${mode}: an unhealthy update`);
  assert.is(unhealthy.state, TaskState.TASK_RUNNING);
  assert.is(unhealthy.reason, TaskStatusReason.REASON_TASK_HEALTH_CHECK_STATUS_UPDATED);
  await waitFor(() => executor.isTerminal, `${mode}: the task killed`, 15_000);
  const last = statuses[statuses.length - 1];
  assert.is(last?.state, TaskState.TASK_KILLED);
  assert.is(last?.healthy, false);
  assert.match(last?.message ?? '', /3 consecutive failed health checks/);
  assert.equal(
    statuses
      .filter((s) => s.healthy !== null && s.healthy !== undefined && s.state === TaskState.TASK_RUNNING)
      .map((s) => s.healthy),
    [true, false],
    'health reported only on change',
  );
  await waitFor(() => !isAlive(pid), `${mode}: the process gone`);
  return { statuses, unhealthy };
}

test('HTTP: healthy → unhealthy (503) → killed', async () => {
  const { unhealthy } = await runChecked('http', (port) => ({
    type: agora.v1.HealthCheck.Type.HTTP,
    http: { port, path: '/health' },
  }));
  assert.match(unhealthy.message ?? '', /\/health returned 503/);
});

test('HTTPS (http.scheme https, self-signed): healthy → unhealthy → killed', async () => {
  const { unhealthy } = await runChecked('https', (port) => ({
    type: agora.v1.HealthCheck.Type.HTTP,
    http: { port, scheme: 'https', path: '/' },
  }));
  assert.match(unhealthy.message ?? '', /^https:\/\/.* returned 503/);
});

test('TCP: healthy → unhealthy (connection refused) → killed', async () => {
  const { unhealthy } = await runChecked('tcp', (port) => ({ type: agora.v1.HealthCheck.Type.TCP, tcp: { port } }));
  assert.match(unhealthy.message ?? '', /cannot connect/);
});

test('COMMAND: healthy → unhealthy (non-zero exit) → killed', async () => {
  const { unhealthy } = await runChecked('command', () => ({
    type: agora.v1.HealthCheck.Type.COMMAND,
    command: { value: 'test ! -e sick && test "$MODE" = command' },
  }));
  assert.match(unhealthy.message ?? '', /exited with status 1/);
});

test.run();
