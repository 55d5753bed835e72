/**
 * A private Redis server for tests, from Debian's `redis-server` package: on
 * 127.0.0.1 and a random free port, in a temporary dir, without persistence
 * unless asked for.
 */
import { launchInTempDir } from './launch.js';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { AgoraError } from '@agora/common';
import { ensureDebianPackage } from './packages.js';
import { ServerProcess } from './processes.js';
import { removeTempDir } from './temp.js';
import { sleep } from './wait.js';

export interface RedisOptions {
  /** Keep data across `restart()` (append-only file in the temp dir). @default false */
  persistence?: boolean;
  /** Port to listen on. @default a random free port */
  port?: number;
  /** How long to wait for the server to answer PING. @default 30000 */
  startTimeoutMs?: number;
}

export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly logFile: string;
  /** The pid of the running server process (undefined while it is down). */
  readonly pid: number | undefined;
  /** Stop the process (keeping its dir) and start it again on the same port; data survives only with `persistence`. */
  restart(options?: { downMs?: number }): Promise<void>;
  /** Stop the server and remove its dir. Safe to call twice. */
  stop(): Promise<void>;
}

let redisBinary: string | undefined;
function findRedisServer(): boolean {
  if (redisBinary !== undefined) return true;
  for (const candidate of ['/usr/bin/redis-server', 'redis-server']) {
    if (spawnSync(candidate, ['--version'], { stdio: 'ignore', timeout: 10_000 }).status === 0) {
      redisBinary = candidate;
      return true;
    }
  }
  return false;
}

/** Start a private Redis; resolves once it answers PING. */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  ensureDebianPackage('redis-server', findRedisServer, 'startRedis (test kit)');
  return launchInTempDir('agora-redis-', options.port, (dir, port) => new RedisInstance(dir, port, options));
}

class RedisInstance implements RedisServer {
  readonly url: string;
  readonly logFile: string;
  private process: ServerProcess | undefined;
  private stopped = false;

  constructor(
    readonly dir: string,
    readonly port: number,
    private readonly options: RedisOptions,
  ) {
    this.url = `redis://127.0.0.1:${port}`;
    this.logFile = join(dir, 'redis.log');
  }

  get pid(): number | undefined {
    return this.process?.hasExited === false ? this.process.pid : undefined;
  }

  async launch(): Promise<void> {
    const persistence = this.options.persistence === true;
    this.process = new ServerProcess({
      command: redisBinary ?? 'redis-server',
      args: [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--save',
        '',
        '--appendonly',
        persistence ? 'yes' : 'no',
        '--appendfsync',
        'always',
        '--daemonize',
        'no',
        '--protected-mode',
        'no',
        '--logfile',
        '',
      ],
      cwd: this.dir,
      logFile: this.logFile,
    });
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 30_000);
    while (Date.now() < deadline) {
      if (this.process.hasExited) {
        throw new AgoraError(
          'AGORA_ERR_INTERNAL',
          `redis-server exited (${await this.process.exited}) before serving on port ${this.port}: ${await this.logTail()}`,
        );
      }
      if ((await ping(this.port).catch(() => '')).startsWith('+PONG')) return;
      await sleep(50);
    }
    throw new AgoraError(
      'AGORA_ERR_TIMEOUT',
      `redis-server did not answer PING on port ${this.port}: ${await this.logTail()}`,
    );
  }

  async portWasTaken(): Promise<boolean> {
    return (await this.logTail()).includes('Address already in use');
  }

  private async logTail(): Promise<string> {
    const text = await readFile(this.logFile, 'utf8').catch(() => '');
    return text.slice(-2000).trim() || '(empty log)';
  }

  async halt(): Promise<void> {
    const proc = this.process;
    this.process = undefined;
    if (proc !== undefined) await proc.stop('SIGTERM', 5_000);
  }

  async restart(options: { downMs?: number } = {}): Promise<void> {
    if (this.stopped) throw new AgoraError('AGORA_ERR_CLOSED', 'this Redis server was stopped');
    await this.halt();
    if (options.downMs !== undefined && options.downMs > 0) await sleep(options.downMs);
    await this.launch();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.halt();
    await removeTempDir(this.dir);
  }
}

/** Send PING in the inline protocol and return the first reply line. */
function ping(port: number, timeoutMs = 1_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error('no answer to PING')));
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: string) => {
      socket.end();
      resolve(chunk);
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(''));
  });
}
