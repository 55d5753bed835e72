/**
 * Leader detection on ZooKeeper in Mesos' layout: watch the children of the
 * election path and read the JSON of the lowest `json.info_<seq>` member.
 * Children with other names are ignored. A leader whose data is not JSON is
 * reported as no leader (with a warning): a detector must not send clients
 * to a node it cannot read.
 *
 * While disconnected the last leader is kept; when the session is lost the
 * detector reports no leader and starts a new session.
 */
import { AgoraError, Emitter, type Logger, createLogger } from '@agora/common';
import type { LeaderDetector, ZkUrl } from '../types.js';
import { retryDelayMs, sortMembers } from './members.js';
import { ZK_NO_NODE, ZkSession, type ZkWatcher, isSessionGone, zkCodeOf } from './session.js';

export interface ZkDetectorOptions {
  /** @default createLogger({ component: 'coordination' }) */
  logger?: Logger;
  /** Requested ZooKeeper session timeout. @default 10000 */
  sessionTimeoutMs?: number;
  /** Prefix of the election znodes. @default 'json.info_' */
  label?: string;
  /** How long `start()` waits for the first look at the election before failing. @default 30000 */
  startTimeoutMs?: number;
  /** Default wait of `waitForLeader()`. @default 30000 */
  waitForLeaderTimeoutMs?: number;
}

export const DEFAULT_DETECTOR_OPTIONS = {
  sessionTimeoutMs: 10_000,
  label: 'json.info_',
  startTimeoutMs: 30_000,
  waitForLeaderTimeoutMs: 30_000,
} as const;

/** Tells who leads the election at `url.path`. */
export class ZkDetector<T> implements LeaderDetector<T> {
  private readonly log: Logger;
  private readonly opts: Required<Omit<ZkDetectorOptions, 'logger'>>;
  private session: ZkSession | undefined;
  private generation = 0;
  private current: { key: string; value: T } | undefined;
  private started = false;
  private closed = false;
  private looked = false;
  private looking = false;
  private lookAgain = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private watcher: ZkWatcher | undefined;
  /** Fires on every change waiters may care about: first look, leader change, close. */
  private readonly wake = new Emitter<void>();
  private readonly changed = new Emitter<T | undefined>();

  readonly onDidChangeLeader = this.changed.event;

  constructor(
    private readonly url: ZkUrl,
    options: ZkDetectorOptions = {},
  ) {
    this.log = (options.logger ?? createLogger({ component: 'coordination' })).child({ zkPath: url.path });
    this.opts = {
      sessionTimeoutMs: options.sessionTimeoutMs ?? DEFAULT_DETECTOR_OPTIONS.sessionTimeoutMs,
      label: options.label ?? DEFAULT_DETECTOR_OPTIONS.label,
      startTimeoutMs: options.startTimeoutMs ?? DEFAULT_DETECTOR_OPTIONS.startTimeoutMs,
      waitForLeaderTimeoutMs: options.waitForLeaderTimeoutMs ?? DEFAULT_DETECTOR_OPTIONS.waitForLeaderTimeoutMs,
    };
    if (!(this.opts.sessionTimeoutMs > 0)) {
      throw new AgoraError(
        'AGORA_ERR_BAD_FLAG',
        `sessionTimeoutMs must be positive, got ${this.opts.sessionTimeoutMs}`,
      );
    }
    if (this.opts.label === '' || this.opts.label.includes('/')) {
      throw new AgoraError(
        'AGORA_ERR_BAD_FLAG',
        `label must be a non-empty znode name prefix, got '${this.opts.label}'`,
      );
    }
  }

  get leader(): T | undefined {
    return this.current?.value;
  }

  /**
   * Connect and take a first look. Resolves once `leader` is known (possibly
   * undefined); fails with AGORA_ERR_COORDINATION after `startTimeoutMs`,
   * after which the detector is closed.
   */
  async start(): Promise<void> {
    if (this.closed) throw new AgoraError('AGORA_ERR_CLOSED', 'detector is closed');
    if (!this.started) {
      this.started = true;
      this.openSession();
    }
    if (this.looked) return;
    try {
      await this.waitUntil(
        () => this.looked,
        this.opts.startTimeoutMs,
        () =>
          new AgoraError(
            'AGORA_ERR_COORDINATION',
            `could not read the election at ${this.url.connectString}${this.url.path} within ${this.opts.startTimeoutMs} ms`,
          ),
      );
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /** The leader now, or the first one elected within `timeoutMs` (else AGORA_ERR_NO_LEADER). */
  async waitForLeader(timeoutMs = this.opts.waitForLeaderTimeoutMs): Promise<T> {
    if (this.closed) throw new AgoraError('AGORA_ERR_CLOSED', 'detector is closed');
    const now = this.current;
    if (now !== undefined) return now.value;
    await this.waitUntil(
      () => this.current !== undefined,
      timeoutMs,
      () => new AgoraError('AGORA_ERR_NO_LEADER', `no leader elected at ${this.url.path} within ${timeoutMs} ms`),
    );
    const found = this.current as { value: T } | undefined;
    if (found === undefined) throw new AgoraError('AGORA_ERR_CLOSED', 'detector is closed');
    return found.value;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.generation++;
    clearTimeout(this.retryTimer);
    const had = this.current !== undefined;
    this.current = undefined;
    this.wake.fire(); // waiters see `closed`
    if (had) this.changed.fire(undefined);
    const session = this.session;
    this.session = undefined;
    await session?.close();
    this.changed.dispose();
    this.wake.dispose();
  }

  private waitUntil(done: () => boolean, timeoutMs: number, timeoutError: () => AgoraError): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const finish = (err?: Error): void => {
        clearTimeout(timer);
        sub.dispose();
        if (err === undefined) resolve();
        else reject(err);
      };
      const sub = this.wake.event(() => {
        if (this.closed) finish(new AgoraError('AGORA_ERR_CLOSED', 'detector is closed'));
        else if (done()) finish();
      });
      const timer = setTimeout(() => finish(timeoutError()), timeoutMs);
    });
  }

  private openSession(): void {
    const generation = ++this.generation;
    const session = new ZkSession({
      connectString: this.url.connectString,
      sessionTimeoutMs: this.opts.sessionTimeoutMs,
      auth: this.url.auth,
      logger: this.log,
    });
    this.session = session;
    this.watcher = () => this.look(generation);
    session.onDidLose((reason) => this.onSessionLost(generation, reason));
    session.onDidConnect(() => this.look(generation));
  }

  private onSessionLost(generation: number, reason: string): void {
    if (generation !== this.generation || this.closed) return;
    this.log.warn({ reason }, 'zk session lost; no leader known until a new session reads the election');
    this.session = undefined;
    this.setLeader(undefined);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(
      () => {
        if (!this.closed) this.openSession();
      },
      retryDelayMs(this.failures++),
    );
  }

  /** Read the election (one run at a time; a request during a run causes one more run). */
  private look(generation: number): void {
    if (generation !== this.generation || this.closed) return;
    if (this.looking) {
      this.lookAgain = true;
      return;
    }
    this.looking = true;
    void this.runLook(generation).finally(() => {
      this.looking = false;
      if (this.lookAgain) {
        // Asked for during the run, possibly for a newer session.
        this.lookAgain = false;
        this.look(this.generation);
      }
    });
  }

  private async runLook(generation: number): Promise<void> {
    const session = this.session;
    const watcher = this.watcher;
    if (session === undefined || watcher === undefined) return;
    const stale = (): boolean => generation !== this.generation || this.closed;
    const base = this.url.path === '/' ? '' : this.url.path;
    try {
      let children: string[];
      try {
        children = await session.getChildren(this.url.path, watcher);
      } catch (err) {
        if (zkCodeOf(err) !== ZK_NO_NODE) throw err;
        // No election path yet: watch for its creation.
        const stat = await session.exists(this.url.path, watcher);
        if (stat !== null) this.lookAgain = true;
        children = [];
      }
      if (stale()) return;
      const lowest = sortMembers(children, this.opts.label)[0];
      if (lowest === undefined) {
        this.setLeader(undefined);
      } else {
        let raw: Buffer | undefined;
        try {
          raw = await session.getData(`${base}/${lowest.name}`);
        } catch (err) {
          if (zkCodeOf(err) !== ZK_NO_NODE) throw err;
          if (!stale()) this.lookAgain = true; // it left between the two reads
          return;
        }
        if (stale()) return;
        const text = raw?.toString('utf8') ?? '';
        const key = `${lowest.name}\n${text}`;
        if (this.current?.key !== key) {
          try {
            this.setLeader({ key, value: JSON.parse(text) as T });
          } catch (err) {
            this.log.warn({ znode: lowest.name, err }, 'the leading znode does not hold JSON; reporting no leader');
            this.setLeader(undefined);
          }
        }
      }
      this.failures = 0;
      if (!this.looked) {
        this.looked = true;
        this.wake.fire();
      }
    } catch (err) {
      if (stale() || isSessionGone(err)) return;
      const delay = retryDelayMs(this.failures++);
      this.log.warn({ err, retryInMs: delay }, 'reading the election failed; retrying');
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.look(generation), delay);
    }
  }

  private setLeader(next: { key: string; value: T } | undefined): void {
    if (this.current?.key === next?.key) return;
    this.current = next;
    this.wake.fire();
    this.log.info({ leader: next?.key.split('\n')[0] }, next === undefined ? 'no leader' : 'leader detected');
    this.changed.fire(next?.value);
  }
}
