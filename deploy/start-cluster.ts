/**
 * A multi-process Agora cluster on this machine with real ZooKeeper and Redis
 * (from Debian's `zookeeper` and `redis-server` packages): 2 masters contending
 * in ZooKeeper, 3 agents and marathon with its state in Redis.
 *
 *   node --conditions=development --import tsx deploy/start-cluster.ts [--work_dir DIR]
 *
 * Prints the addresses; Ctrl-C stops every process (tasks are killed by their
 * agents' shutdown only in `agora local`; here agents leave tasks running as in
 * production, so this script kills what is left under its work dir).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRedis, startZooKeeper } from '@agora/testkit';

const argWorkDir = process.argv.indexOf('--work_dir');
const work = resolve(argWorkDir > 0 ? (process.argv[argWorkDir + 1] ?? './.agora-cluster') : './.agora-cluster');
mkdirSync(work, { recursive: true });
const main = fileURLToPath(new URL('../packages/cli/src/main.ts', import.meta.url));
const children: ChildProcess[] = [];

function daemon(name: string, args: string[]): ChildProcess {
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', main, ...args], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, AGORA_LOG_LEVEL: process.env['AGORA_LOG_LEVEL'] ?? 'warn' },
  });
  child.on('exit', (code, signal) => process.stderr.write(`${name} exited (${code ?? signal})\n`));
  children.push(child);
  return child;
}

const zk = await startZooKeeper();
const redis = await startRedis();
const zkUrl = zk.url('/agora');
process.stdout.write(`zookeeper ${zk.connectString}\nredis     ${redis.url}\n`);
daemon('master1', ['master', '--zk', zkUrl, '--port', '5050', '--work_dir', `${work}/master1`]);
daemon('master2', ['master', '--zk', zkUrl, '--port', '5060', '--work_dir', `${work}/master2`]);
for (const i of [1, 2, 3]) {
  daemon(`agent${i}`, [
    'agent',
    '--master',
    zkUrl,
    '--port',
    String(5050 + i),
    '--work_dir',
    `${work}/agent${i}`,
    '--resources',
    `cpus:1;mem:2048;disk:4096;ports:[${30000 + i * 1000}-${30999 + i * 1000}]`,
    '--attributes',
    `rack:r${i}`,
  ]);
}
daemon('marathon', ['marathon', '--master', zkUrl, '--redis', redis.url, '--http_port', '8080']);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) process.exit(1);
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      if (readlinkSync(`/proc/${entry}/cwd`).startsWith(work)) process.kill(Number(entry), 'SIGKILL');
    } catch {
      // gone or not ours
    }
  }
  await redis.stop();
  await zk.stop();
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
process.stdout.write('masters :5050 and :5060 (one leads), agents :5051-5053, marathon :8080. Ctrl-C stops all.\n');
