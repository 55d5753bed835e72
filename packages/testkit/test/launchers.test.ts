import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { hasErrorCode } from '@agora/common';
import {
  fourLetterWord,
  freePort,
  killProcessesUnder,
  processAlive,
  removeTempDir,
  startRedis,
  startZooKeeper,
  tempDir,
  waitFor,
} from '@agora/testkit';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

/** Send one inline Redis command and return the raw reply. */
function redis(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    socket.setEncoding('utf8');
    socket.setTimeout(2_000, () => socket.destroy(new Error(`no reply to ${command}`)));
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (reply.endsWith('\r\n') && !/^\$\d+\r\n$/.test(reply)) socket.end();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(reply));
  });
}

function listenable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

const utils = suite('testkit utilities');

utils('waitFor - resolves with the first value that is not undefined, null or false', async () => {
  let calls = 0;
  const value = await waitFor(
    () => {
      calls++;
      return calls < 3 ? false : { calls };
    },
    { timeoutMs: 5_000, intervalMs: 1, message: 'three calls' },
  );
  assert.equal(value, { calls: 3 });
});

utils('waitFor - fails with AGORA_ERR_TIMEOUT naming what it waited for, keeping the last error', async () => {
  try {
    await waitFor(
      () => {
        throw new Error('not yet');
      },
      { timeoutMs: 50, intervalMs: 5, message: 'the moon' },
    );
    assert.unreachable('should time out');
  } catch (err) {
    assert.ok(hasErrorCode(err, 'AGORA_ERR_TIMEOUT'));
    assert.match(String((err as Error).message), /the moon/);
    assert.match(String((err as Error).message), /not yet/);
  }
});

utils('freePort - gives a port that can be bound', async () => {
  const port = await freePort();
  assert.ok(port > 0 && port < 65536);
  assert.ok(await listenable(port));
});

utils('processAlive - true for this process, false for an exited and reaped child', async () => {
  assert.ok(processAlive(process.pid));
  const child = spawn('true');
  const pid = child.pid!;
  await new Promise((resolve) => child.once('exit', resolve));
  assert.not.ok(processAlive(pid));
  assert.not.ok(processAlive(-1));
});

for (const how of ['exit', 'throw', 'sigterm']) {
  utils(`exit hook - a child started through the kit dies when the parent ends by ${how}`, async () => {
    const fixture = fileURLToPath(new URL('./fixtures/exit-hook-child.ts', import.meta.url));
    const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', fixture, how], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    await new Promise((resolve) => child.once('exit', resolve));
    const { pid, dir } = JSON.parse(out.trim()) as { pid: number; dir: string };
    assert.ok(pid > 0);
    await waitFor(() => !processAlive(pid), { timeoutMs: 10_000, message: `sleep ${pid} to be killed` });
    assert.not.ok(existsSync(dir), 'temp dir removed at exit');
  });
}

utils('killProcessesUnder - kills what runs in the directory or names it, never a sibling named alike', async () => {
  const root = await tempDir('agora-kill-under-');
  const dir = join(root, 'a1');
  for (const d of [dir, join(dir, 'sandbox'), `${dir}0`]) mkdirSync(d, { recursive: true });
  const start = (cwd: string, ...args: string[]) =>
    spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)', '--', ...args], { cwd, stdio: 'ignore' });
  const inside = start(join(dir, 'sandbox'));
  const naming = start(root, `--work_dir=${dir}`);
  const sibling = start(`${dir}0`, `--work_dir=${dir}0`);
  try {
    const started = (pid: number | undefined) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('60_000');
      } catch {
        return false;
      }
    };
    await waitFor(() => [inside, naming, sibling].every((c) => started(c.pid)), { message: 'the processes started' });
    assert.is(killProcessesUnder(dir), 2);
    await waitFor(() => !processAlive(inside.pid as number) && !processAlive(naming.pid as number), {
      message: 'the two processes of the directory killed',
    });
    assert.ok(processAlive(sibling.pid as number), 'the sibling directory’s process is left alone');
  } finally {
    for (const c of [inside, naming, sibling]) c.kill('SIGKILL');
    await removeTempDir(root);
  }
});

utils.run();

const zk = suite('startZooKeeper');

zk('runs a private ZooKeeper that answers, restarts on the same port, and is gone after stop', async () => {
  const server = await startZooKeeper();
  try {
    assert.match(server.connectString, /^127\.0\.0\.1:\d+$/);
    assert.is(server.connectString, `127.0.0.1:${server.port}`);
    assert.is(server.url('/agora'), `zk://127.0.0.1:${server.port}/agora`);
    assert.is(server.url('agora'), `zk://127.0.0.1:${server.port}/agora`);
    assert.is(await fourLetterWord(server.port, 'ruok'), 'imok');
    const srvr = await fourLetterWord(server.port, 'srvr');
    assert.match(srvr, /Mode: standalone/);
    const first = server.pid!;
    assert.ok(processAlive(first));

    await server.restart();
    assert.is.not(server.pid, first);
    assert.not.ok(processAlive(first), 'old process gone after restart');
    assert.is(await fourLetterWord(server.port, 'ruok'), 'imok');

    const pid = server.pid!;
    await server.stop();
    assert.not.ok(processAlive(pid), 'process gone after stop');
    assert.not.ok(existsSync(server.dataDir), 'data dir removed');
    assert.ok(await listenable(server.port), 'port released');
    await server.stop(); // idempotent
  } finally {
    await server.stop();
  }
});

zk('pause freezes the server (no answers) and resume brings it back', async () => {
  const server = await startZooKeeper();
  try {
    server.pause();
    let answered = true;
    await fourLetterWord(server.port, 'ruok', '127.0.0.1', 500).then(
      () => undefined,
      () => {
        answered = false;
      },
    );
    assert.not.ok(answered, 'a paused server does not answer');
    server.resume();
    assert.is(await fourLetterWord(server.port, 'ruok'), 'imok');
  } finally {
    await server.stop();
  }
});

zk('two servers get different ports', async () => {
  const [a, b] = await Promise.all([startZooKeeper(), startZooKeeper()]);
  try {
    assert.is.not(a.port, b.port);
    assert.is(await fourLetterWord(a.port, 'ruok'), 'imok');
    assert.is(await fourLetterWord(b.port, 'ruok'), 'imok');
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

zk.run();

const rd = suite('startRedis');

rd('runs a private Redis without persistence: data is gone after restart; stop kills it', async () => {
  const server = await startRedis();
  try {
    assert.is(server.url, `redis://127.0.0.1:${server.port}`);
    assert.is(await redis(server.port, 'PING'), '+PONG\r\n');
    assert.is(await redis(server.port, 'SET k v1'), '+OK\r\n');
    assert.is(await redis(server.port, 'GET k'), '$2\r\nv1\r\n');
    await server.restart();
    assert.is(await redis(server.port, 'GET k'), '$-1\r\n');
    const pid = server.pid!;
    await server.stop();
    assert.not.ok(processAlive(pid));
    assert.not.ok(existsSync(server.dir));
  } finally {
    await server.stop();
  }
});

rd('with persistence, data survives a restart', async () => {
  const server = await startRedis({ persistence: true });
  try {
    assert.is(await redis(server.port, 'SET k kept'), '+OK\r\n');
    await server.restart();
    assert.is(await redis(server.port, 'GET k'), '$4\r\nkept\r\n');
  } finally {
    await server.stop();
  }
});

rd('tempDir - makes distinct directories', async () => {
  const a = await tempDir('agora-t-');
  const b = await tempDir('agora-t-');
  assert.is.not(a, b);
  assert.ok(existsSync(a) && existsSync(b));
});

rd.run();
