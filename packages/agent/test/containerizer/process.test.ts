import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasErrorCode } from '@agora/common';
import { ValueType } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type Container, describeExit } from '../../src/containerizer/containerizer.js';
import { buildTaskEnvironment } from '../../src/containerizer/environment.js';
import { ProcessContainerizer } from '../../src/containerizer/process.js';
import { isAlive, killGroup, waitFor } from '../support/wait.js';

const test = suite('process containerizer');
let root = '';
const started: Container[] = [];
const containerizer = new ProcessContainerizer();

test.before(() => {
  root = mkdtempSync(join(tmpdir(), 'agora-containerizer-'));
});

test.after(() => {
  for (const c of started) killGroup(c.pid);
  rmSync(root, { recursive: true, force: true });
});

function sandbox(name: string): string {
  return join(root, name);
}

async function launch(name: string, command: { value: string; shell?: boolean; arguments?: string[] }, env = {}) {
  const c = await containerizer.launch({
    containerId: name,
    sandbox: sandbox(name),
    command,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
  });
  started.push(c);
  return c;
}

test('runs a shell command in its sandbox, writing stdout and stderr files', async () => {
  const c = await launch('io', { value: 'echo hello; echo oops >&2; pwd' });
  const exit = await c.exited;
  assert.equal(exit, { code: 0, signal: null });
  assert.equal(readFileSync(join(sandbox('io'), 'stdout'), 'utf8'), `hello\n${sandbox('io')}\n`);
  assert.equal(readFileSync(join(sandbox('io'), 'stderr'), 'utf8'), 'oops\n');
});

test('gives the task its ports, id and sandbox in the environment, and keeps PATH', async () => {
  const dir = sandbox('env');
  const env = buildTaskEnvironment({
    taskId: 'task-env',
    frameworkId: 'fw-1',
    executorId: 'task-env',
    sandbox: dir,
    agentEndpoint: '127.0.0.1:5051',
    hostname: 'agent-host',
    resources: [
      { name: 'cpus', type: ValueType.SCALAR, scalar: { value: 0.1 } },
      {
        name: 'ports',
        type: ValueType.RANGES,
        ranges: {
          range: [
            { begin: 31005, end: 31006 },
            { begin: 31001, end: 31001 },
          ],
        },
      },
    ],
    environment: { variables: [{ name: 'GREETING', value: 'hi' }] },
    base: { PATH: process.env['PATH'] },
  });
  const c = await containerizer.launch({
    containerId: 'env',
    sandbox: dir,
    command: {
      value:
        'echo "$PORT0 $PORT1 $PORT2 $PORT $PORTS"; echo "$MESOS_TASK_ID $MESOS_SANDBOX $MESOS_FRAMEWORK_ID"; echo "$HOST $MESOS_AGENT_ENDPOINT $GREETING"; command -v sh',
    },
    env,
  });
  started.push(c);
  assert.equal((await c.exited).code, 0);
  const lines = readFileSync(join(dir, 'stdout'), 'utf8').trim().split('\n');
  assert.equal(lines[0], '31005 31006 31001 31005 31005,31006,31001');
  assert.equal(lines[1], `task-env ${dir} fw-1`);
  assert.equal(lines[2], 'agent-host 127.0.0.1:5051 hi');
  assert.ok(lines[3]?.endsWith('/sh'), 'PATH from the agent finds sh');
});

test('reports a non-zero exit code and a signal', async () => {
  const failed = await launch('exit3', { value: 'exit 3' });
  const exit = await failed.exited;
  assert.equal(exit, { code: 3, signal: null });
  assert.is(describeExit(exit), 'Command exited with status 3');
  const signalled = await launch('selfkill', { value: 'kill -USR1 $$; sleep 5' });
  const exit2 = await signalled.exited;
  assert.is(exit2.signal, 'SIGUSR1');
  assert.is(describeExit(exit2), 'Command terminated with signal SIGUSR1');
});

test('runs a program with argv when shell is false', async () => {
  const c = await launch('argv', {
    value: '/bin/sh',
    shell: false,
    arguments: ['sh', '-c', 'echo "$0:$1"', 'zero', 'one'],
  });
  assert.equal((await c.exited).code, 0);
  assert.is(readFileSync(join(sandbox('argv'), 'stdout'), 'utf8'), 'zero:one\n');
});

test('fails to launch a program that does not exist, or an empty command', async () => {
  try {
    await launch('missing', { value: '/nonexistent/program', shell: false });
    assert.unreachable('should have failed');
  } catch (err) {
    assert.ok(hasErrorCode(err, 'AGORA_ERR_LAUNCH_FAILED'), String(err));
    assert.match((err as Error).message, '/nonexistent/program');
  }
  try {
    await launch('empty', { value: '   ' });
    assert.unreachable('should have failed');
  } catch (err) {
    assert.ok(hasErrorCode(err, 'AGORA_ERR_LAUNCH_FAILED'), String(err));
  }
});

test('runs the task in its own process group', async () => {
  const c = await launch('pgid', { value: 'cut -d" " -f5 /proc/$$/stat; echo $$' });
  await c.exited;
  const [pgid, pid] = readFileSync(join(sandbox('pgid'), 'stdout'), 'utf8')
    .trim()
    .split('\n');
  assert.is(pgid, String(c.pid));
  assert.is(pid, String(c.pid));
});

test('kill: SIGTERM to the group first; a cooperative task ends before the grace period', async () => {
  const c = await launch('term', {
    value: "trap 'echo got TERM; exit 0' TERM; echo ready; while true; do sleep 0.05; done",
  });
  await waitFor(() => readFileSync(join(sandbox('term'), 'stdout'), 'utf8').includes('ready'), 'task ready');
  const exit = await c.kill(60_000);
  assert.equal(exit, { code: 0, signal: null });
  assert.match(readFileSync(join(sandbox('term'), 'stdout'), 'utf8'), 'got TERM');
});

test('kill: a task that ignores SIGTERM gets SIGKILL after the grace period, with its whole process group', async () => {
  const dir = sandbox('stubborn');
  const c = await launch('stubborn', {
    value:
      "trap 'echo got TERM' TERM; (trap '' TERM; exec sleep 1000) & echo $! > child.pid; echo ready; while true; do sleep 0.05; done",
  });
  const childPid = await waitFor(() => {
    const out = readFileSync(join(dir, 'stdout'), 'utf8');
    if (!out.includes('ready')) return undefined;
    return Number(readFileSync(join(dir, 'child.pid'), 'utf8').trim());
  }, 'task ready');
  assert.ok(isAlive(childPid), 'the background child runs');
  const exit = await c.kill(300);
  assert.equal(exit, { code: null, signal: 'SIGKILL' });
  assert.match(readFileSync(join(dir, 'stdout'), 'utf8'), 'got TERM', 'SIGTERM came first');
  await waitFor(() => !isAlive(childPid), 'the background child to be gone', 5000);
  assert.not.ok(isAlive(c.pid));
});

test('when the main process exits, the rest of its process group is killed', async () => {
  const dir = sandbox('leftover');
  const c = await launch('leftover', { value: 'sleep 1000 & echo $! > child.pid; exit 0' });
  assert.equal((await c.exited).code, 0);
  const childPid = Number(readFileSync(join(dir, 'child.pid'), 'utf8').trim());
  await waitFor(() => !isAlive(childPid), 'the leftover child to be gone', 5000);
});

test.run();
