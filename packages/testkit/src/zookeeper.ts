/**
 * A private ZooKeeper server for tests, from Debian's `zookeeper` package:
 * standalone, on 127.0.0.1 and a random free port, with a temporary data dir,
 * the admin server off and a short tick (so session timeouts can be short).
 */
import { launchInTempDir } from './launch.js';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { AgoraError } from '@agora/common';
import { ensureDebianPackage } from './packages.js';
import { ServerProcess } from './processes.js';
import { removeTempDir } from './temp.js';
import { sleep } from './wait.js';

const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar';
const SLF4J_SIMPLE_JAR = '/usr/share/java/slf4j-simple.jar';

export interface ZooKeeperOptions {
  /** ZooKeeper's tick; sessions may last 2..maxSessionTimeoutMs. @default 500 */
  tickTimeMs?: number;
  /** @default 60000 */
  maxSessionTimeoutMs?: number;
  /** Port to listen on. @default a random free port */
  port?: number;
  /** How long to wait for the server to answer `ruok`. @default 60000 */
  startTimeoutMs?: number;
}

export const DEFAULT_ZOOKEEPER_OPTIONS = {
  tickTimeMs: 500,
  maxSessionTimeoutMs: 60_000,
  startTimeoutMs: 60_000,
} as const;

export interface ZooKeeperServer {
  /** `127.0.0.1:<port>`, for ZooKeeper clients. */
  readonly connectString: string;
  readonly port: number;
  readonly dataDir: string;
  /** The server's log (stdout and stderr). */
  readonly logFile: string;
  /** The pid of the running server process (undefined while it is down). */
  readonly pid: number | undefined;
  /** `zk://127.0.0.1:<port><path>` (path gets a leading `/` if missing). */
  url(path: string): string;
  /** Stop the process (keeping the data dir), optionally wait `downMs`, and start it again on the same port. */
  restart(options?: { downMs?: number }): Promise<void>;
  /** Freeze the server (SIGSTOP): connections stay open but nothing is answered. */
  pause(): void;
  /** Continue a paused server (SIGCONT). */
  resume(): void;
  /** Stop the server and remove its data dir. Safe to call twice. */
  stop(): Promise<void>;
}

let javaChecked = false;
function javaPresent(): boolean {
  if (javaChecked) return true;
  javaChecked = spawnSync('java', ['-version'], { stdio: 'ignore', timeout: 30_000 }).status === 0;
  return javaChecked;
}

/** Start a private standalone ZooKeeper; resolves once it answers `ruok` with `imok`. */
export async function startZooKeeper(options: ZooKeeperOptions = {}): Promise<ZooKeeperServer> {
  const opts = { ...DEFAULT_ZOOKEEPER_OPTIONS, ...options };
  ensureDebianPackage('zookeeper', () => existsSync(ZOOKEEPER_JAR) && javaPresent(), 'startZooKeeper (test kit)');
  return launchInTempDir('agora-zk-', options.port, (dir, port) => new ZooKeeperInstance(dir, port, opts));
}

class ZooKeeperInstance implements ZooKeeperServer {
  readonly connectString: string;
  readonly dataDir: string;
  readonly logFile: string;
  private readonly configFile: string;
  private process: ServerProcess | undefined;
  private stopped = false;

  constructor(
    private readonly dir: string,
    readonly port: number,
    private readonly opts: Required<Omit<ZooKeeperOptions, 'port'>>,
  ) {
    this.connectString = `127.0.0.1:${port}`;
    this.dataDir = join(dir, 'data');
    this.logFile = join(dir, 'zookeeper.log');
    this.configFile = join(dir, 'zoo.cfg');
  }

  get pid(): number | undefined {
    return this.process?.hasExited === false ? this.process.pid : undefined;
  }

  url(path: string): string {
    return `zk://${this.connectString}${path.startsWith('/') ? path : `/${path}`}`;
  }

  async launch(): Promise<void> {
    await writeFile(
      this.configFile,
      [
        `tickTime=${this.opts.tickTimeMs}`,
        `dataDir=${this.dataDir}`,
        `clientPort=${this.port}`,
        'clientPortAddress=127.0.0.1',
        `minSessionTimeout=${this.opts.tickTimeMs * 2}`,
        `maxSessionTimeout=${this.opts.maxSessionTimeoutMs}`,
        'admin.enableServer=false',
        '4lw.commands.whitelist=ruok,srvr,stat,mntr,cons,wchp,wchc,dump',
        'maxClientCnxns=0',
        'autopurge.purgeInterval=0',
        '',
      ].join('\n'),
    );
    const classpath = [ZOOKEEPER_JAR, ...(existsSync(SLF4J_SIMPLE_JAR) ? [SLF4J_SIMPLE_JAR] : [])].join(':');
    this.process = new ServerProcess({
      command: 'java',
      args: [
        '-Xmx256m',
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        '-Djava.net.preferIPv4Stack=true',
        '-Dzookeeper.admin.enableServer=false',
        '-Dzookeeper.jmx.log4j.disable=true',
        '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
        '-cp',
        classpath,
        'org.apache.zookeeper.server.quorum.QuorumPeerMain',
        this.configFile,
      ],
      cwd: this.dir,
      logFile: this.logFile,
    });
    await this.waitUntilServing(this.process);
  }

  private async waitUntilServing(proc: ServerProcess): Promise<void> {
    const deadline = Date.now() + this.opts.startTimeoutMs;
    while (Date.now() < deadline) {
      if (proc.hasExited) {
        throw new AgoraError(
          'AGORA_ERR_INTERNAL',
          `ZooKeeper exited (${await proc.exited}) before serving on port ${this.port}: ${await this.logTail()}`,
        );
      }
      const srvr = await fourLetterWord(this.port, 'srvr').catch(() => '');
      if (srvr.includes('Mode: standalone')) return;
      await sleep(100);
    }
    throw new AgoraError(
      'AGORA_ERR_TIMEOUT',
      `ZooKeeper did not serve on port ${this.port} within ${this.opts.startTimeoutMs} ms: ${await this.logTail()}`,
    );
  }

  async portWasTaken(): Promise<boolean> {
    return (await this.logTail()).includes('Address already in use');
  }

  private async logTail(): Promise<string> {
    const text = await readFile(this.logFile, 'utf8').catch(() => '');
    return text.slice(-2000).trim() || '(empty log)';
  }

  /** Stop the process, keep the files. */
  async halt(): Promise<void> {
    const proc = this.process;
    this.process = undefined;
    if (proc !== undefined) await proc.stop('SIGTERM', 5_000);
  }

  async restart(options: { downMs?: number } = {}): Promise<void> {
    if (this.stopped) throw new AgoraError('AGORA_ERR_CLOSED', 'this ZooKeeper server was stopped');
    await this.halt();
    if (options.downMs !== undefined && options.downMs > 0) await sleep(options.downMs);
    await this.launch();
  }

  pause(): void {
    this.process?.pause();
  }

  resume(): void {
    this.process?.resume();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.process?.resume();
    await this.halt();
    await removeTempDir(this.dir);
  }
}

/** Send a ZooKeeper four-letter command (e.g. `ruok`, `srvr`) and return the whole answer. */
export function fourLetterWord(port: number, word: string, host = '127.0.0.1', timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let answer = '';
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer to '${word}' within ${timeoutMs} ms`)));
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.end(word));
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('error', reject);
    socket.on('close', (hadError) => {
      if (!hadError) resolve(answer);
    });
  });
}
