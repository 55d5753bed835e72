/**
 * Generalized checks (TaskInfo.check) through a whole in-process agent with
 * real task processes: TASK_RUNNING carries the check's type with no result;
 * each changed result (COMMAND exit code, HTTP status code, TCP connect)
 * comes as TASK_RUNNING with `check_status` and REASON_TASK_CHECK_STATUS_UPDATED,
 * unchanged results are not reported, failing checks never kill the task, and
 * later updates carry the last check status.
 */
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { agora, TaskState, TaskStatusReason } from '@agora/proto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkConfig, sameCheckStatus } from '../../src/checks/policy.js';
import { type PeerAgent, reachState, runTask, startPeerAgent } from '../support/peer-agent.js';
import { waitFor } from '../support/wait.js';

const Type = agora.v1.CheckInfo.Type;
const CHECK_UPDATED = TaskStatusReason.REASON_TASK_CHECK_STATUS_UPDATED;
/** Serves http (status from the file `status`) or tcp (until `sick` appears) on $PORT. */
const SERVER = `
import fs from 'node:fs'; import http from 'node:http'; import net from 'node:net';
const port = Number(process.env.PORT);
if (process.env.MODE === 'tcp') {
  const s = net.createServer((c) => c.end()); s.listen(port, '127.0.0.1');
  const t = setInterval(() => { if (fs.existsSync('sick')) { s.close(); clearInterval(t); setInterval(() => {}, 1000); } }, 20);
} else {
  http.createServer((req, res) => {
    let code = 200; try { code = Number(fs.readFileSync('status', 'utf8')); } catch {}
    res.writeHead(code).end();
  }).listen(port, '127.0.0.1');
}
`;
const FAST = { delay_seconds: 0, interval_seconds: 0.05, timeout_seconds: 5 };

const test = suite('checks: generalized checks report changes and never kill');
let setup: PeerAgent | undefined;
let acker: NodeJS.Timeout | undefined;

test.before(async () => {
  setup = await startPeerAgent({ prefix: 'agora-checks-' });
  const peer = setup.peer;
  let acked = 0;
  acker = setInterval(() => {
    const updates = peer.received.filter((m) => m.status_update);
    for (const m of updates.slice(acked)) if (m.status_update) peer.ack(m.status_update);
    acked = updates.length;
  }, 20);
});
test.after(async () => {
  clearInterval(acker);
  await setup?.close();
});

const peer = () => (setup as PeerAgent).peer;
const sandbox = (taskId: string) =>
  join((setup as PeerAgent).workDir, 'agents', 'A1', 'frameworks', 'F1', 'executors', taskId, 'runs', 'latest');
const checkUpdates = (taskId: string) =>
  peer()
    .updates(taskId)
    .filter((u) => u.status.reason === CHECK_UPDATED);

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Let a few more checks run (bounded), then the number of check updates must not have grown. */
async function assertNoMoreReports(taskId: string): Promise<void> {
  const before = checkUpdates(taskId).length;
  await new Promise((r) => setTimeout(r, 500));
  assert.is(checkUpdates(taskId).length, before, 'an unchanged result is not reported');
}

test('COMMAND: empty status with TASK_RUNNING, then each changed exit code, never killed', async () => {
  runTask(peer(), 'cmd', {
    command: { value: 'exec sleep 60' },
    check: { type: Type.COMMAND, command: { command: { value: 'exit "$(cat code 2>/dev/null || echo 3)"' } }, ...FAST },
  });
  const running = await reachState(peer(), 'cmd', TaskState.TASK_RUNNING);
  assert.is(running.status.check_status?.type, Type.COMMAND);
  assert.is(running.status.check_status?.command?.exit_code ?? null, null, 'no result yet');
  const first = await waitFor(() => checkUpdates('cmd')[0], 'first check result');
  assert.is(first.status.state, TaskState.TASK_RUNNING);
  assert.is(first.status.check_status?.command?.exit_code, 3);
  await assertNoMoreReports('cmd');
  assert.is(peer().updates('cmd').at(-1)?.status.state, TaskState.TASK_RUNNING, 'a failing check never kills');
  writeFileSync(join(sandbox('cmd'), 'code'), '0');
  const second = await waitFor(() => checkUpdates('cmd')[1], 'changed result');
  assert.is(second.status.check_status?.command?.exit_code, 0);
  await assertNoMoreReports('cmd');
  peer().send({ kill_task: { framework_id: { value: 'F1' }, task_id: { value: 'cmd' } } });
  const killed = await reachState(peer(), 'cmd', TaskState.TASK_KILLED);
  assert.is(killed.status.check_status?.command?.exit_code, 0, 'later updates carry the last check status');
});

test('COMMAND checks run inside the task’s container too', async () => {
  runTask(peer(), 'cmd-ns', {
    command: { value: 'readlink /proc/self/ns/pid > ns; cat /proc/self/cgroup > cg; exec sleep 60' },
    check: {
      type: Type.COMMAND,
      command: {
        command: { value: '[ "$(readlink /proc/self/ns/pid)" = "$(cat ns)" ] && cat /proc/self/cgroup | cmp -s - cg' },
      },
      ...FAST,
    },
  });
  const result = await waitFor(() => checkUpdates('cmd-ns')[0], 'check result');
  assert.is(result.status.check_status?.command?.exit_code, 0);
});

test('HTTP: the status code, reported when it changes', async () => {
  const port = await freePort();
  runTask(peer(), 'web', {
    command: {
      value: `cat > server.mjs <<'JS'\n${SERVER}\nJS\nexec "${process.execPath}" server.mjs`,
      environment: { variables: [{ name: 'PORT', value: String(port) }] },
    },
    check: { type: Type.HTTP, http: { port, path: '/health' }, ...FAST },
  });
  const first = await waitFor(() => checkUpdates('web').find((u) => u.status.check_status?.http?.status_code), '200');
  assert.is(first.status.check_status?.http?.status_code, 200);
  writeFileSync(join(sandbox('web'), 'status'), '503');
  const changed = await waitFor(
    () => checkUpdates('web').find((u) => u.status.check_status?.http?.status_code === 503),
    '503',
  );
  assert.is(changed.status.state, TaskState.TASK_RUNNING, 'a 503 does not kill the task');
});

test('TCP: succeeded true, then false once the task stops listening', async () => {
  const port = await freePort();
  runTask(peer(), 'tcp', {
    command: {
      value: `cat > server.mjs <<'JS'\n${SERVER}\nJS\nexec "${process.execPath}" server.mjs`,
      environment: {
        variables: [
          { name: 'PORT', value: String(port) },
          { name: 'MODE', value: 'tcp' },
        ],
      },
    },
    check: { type: Type.TCP, tcp: { port }, ...FAST },
  });
  await waitFor(() => checkUpdates('tcp').find((u) => u.status.check_status?.tcp?.succeeded === true), 'succeeded');
  writeFileSync(join(sandbox('tcp'), 'sick'), '');
  const down = await waitFor(
    () => checkUpdates('tcp').find((u) => u.status.check_status?.tcp?.succeeded === false),
    'not succeeded',
  );
  assert.is(down.status.state, TaskState.TASK_RUNNING);
});

test('an invalid check is refused: TASK_ERROR, REASON_TASK_INVALID', async () => {
  runTask(peer(), 'bad', { command: { value: 'sleep 60' }, check: { type: Type.HTTP } });
  const error = await reachState(peer(), 'bad', TaskState.TASK_ERROR);
  assert.is(error.status.reason, TaskStatusReason.REASON_TASK_INVALID);
  assert.match(error.status.message ?? '', /invalid check: an HTTP check needs http.port/);
  assert.throws(() => checkConfig({ type: Type.UNKNOWN }), /type must be COMMAND, HTTP or TCP/);
  assert.throws(() => checkConfig({ type: Type.TCP, tcp: { port: 1 }, interval_seconds: -1 }), /interval_seconds/);
  assert.ok(sameCheckStatus({ type: 1, command: { exit_code: 1 } }, { type: 1, command: { exit_code: 1 } }));
  assert.not.ok(sameCheckStatus({ type: 1, command: {} }, { type: 1, command: { exit_code: 0 } }));
});

test.run();
