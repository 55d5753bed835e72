/**
 * Leader election on ZooKeeper in Mesos' layout: each contender creates an
 * EPHEMERAL_SEQUENTIAL znode `<path>/json.info_<10 digits>` holding its data
 * as JSON; the lowest sequence leads. A contender watches only its
 * predecessor (and its own node), and looks again when either changes.
 *
 * Leadership ends when the session is lost (expired, or unanswered for most
 * of the session timeout — see `ZkSession`), when our znode disappears, or on
 * `close()`. After a loss the contender makes a new session and a new znode
 * and contends again; it leads again only if elected again. A short
 * disconnection changes nothing.
 *
 * Each session gets a generation number; callbacks from an older generation
 * (late replies, watches) are ignored.
 */
import { AgoraError, Emitter, type Logger, createLogger } from '@agora/common';
import type { LeaderContender, ZkUrl } from '../types.js';
import { retryDelayMs, standingOf } from './members.js';
import {
  ZK_CONNECTION_LOSS,
  ZK_NO_NODE,
  ZkSession,
  type ZkWatcher,
  isSessionGone,
  zkCodeOf,
  zookeeper,
} from './session.js';

export interface ZkContenderOptions {
  /** @default createLogger({ component: 'coordination' }) */
  logger?: Logger;
  /** Requested ZooKeeper session timeout. @default 10000 (Mesos' --zk_session_timeout) */
  sessionTimeoutMs?: number;
  /** Prefix of the election znodes. @default 'json.info_' (Mesos' MASTER_INFO_JSON_LABEL) */
  label?: string;
  /** How long `start()` waits for the candidacy to be registered before failing. @default 30000 */
  startTimeoutMs?: number;
}

export const DEFAULT_CONTENDER_OPTIONS = {
  sessionTimeoutMs: 10_000,
  label: 'json.info_',
  startTimeoutMs: 30_000,
} as const;

/** Joins the election at `url.path` with `data` (published as JSON). */
export class ZkContender<T> implements LeaderContender<T> {
  private readonly log: Logger;
  private readonly sessionTimeoutMs: number;
  private readonly label: string;
  private readonly startTimeoutMs: number;
  private readonly payload: Buffer;
  private session: ZkSession | undefined;
  private generation = 0;
  private node: string | undefined;
  private leading = false;
  private started = false;
  private closed = false;
  private checking = false;
  private checkAgain = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private registeredWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  private watcher: ZkWatcher | undefined;
  private readonly changed = new Emitter<boolean>();

  readonly onDidChangeLeadership = this.changed.event;

  constructor(
    private readonly url: ZkUrl,
    readonly data: T,
    options: ZkContenderOptions = {},
  ) {
    this.log = (options.logger ?? createLogger({ component: 'coordination' })).child({ zkPath: url.path });
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? DEFAULT_CONTENDER_OPTIONS.sessionTimeoutMs;
    this.label = options.label ?? DEFAULT_CONTENDER_OPTIONS.label;
    this.startTimeoutMs = options.startTimeoutMs ?? DEFAULT_CONTENDER_OPTIONS.startTimeoutMs;
    if (!(this.sessionTimeoutMs > 0)) {
      throw new AgoraError('AGORA_ERR_BAD_FLAG', `sessionTimeoutMs must be positive, got ${this.sessionTimeoutMs}`);
    }
    if (this.label === '' || this.label.includes('/')) {
      throw new AgoraError('AGORA_ERR_BAD_FLAG', `label must be a non-empty znode name prefix, got '${this.label}'`);
    }
    const json = JSON.stringify(data);
    if (json === undefined) throw new AgoraError('AGORA_ERR_BAD_FLAG', 'contender data must be JSON-serializable');
    this.payload = Buffer.from(json);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** The full path of this contender's znode in the current session, once registered. */
  get znode(): string | undefined {
    return this.node;
  }

  /** The current ZooKeeper session (tests use it to reach the session id). */
  get currentSession(): ZkSession | undefined {
    return this.session;
  }

  /**
   * Connect and register the candidacy. Resolves once the znode exists (not
   * when elected); fails with AGORA_ERR_COORDINATION if that takes longer
   * than `startTimeoutMs`, after which the contender is closed.
   */
  async start(): Promise<void> {
    if (this.closed) throw new AgoraError('AGORA_ERR_CLOSED', 'contender is closed');
    if (!this.started) {
      this.started = true;
      this.openSession();
    }
    if (this.node !== undefined) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        new Promise<void>((resolve, reject) => this.registeredWaiters.push({ resolve, reject })),
        new Promise<void>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new AgoraError(
                  'AGORA_ERR_COORDINATION',
                  `could not join the election at ${this.url.connectString}${this.url.path} within ${this.startTimeoutMs} ms`,
                ),
              ),
            this.startTimeoutMs,
          );
        }),
      ]);
    } catch (err) {
      await this.close();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stop leading (if leading), delete the znode and close the session. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.generation++;
    clearTimeout(this.retryTimer);
    this.setLeading(false, 'closed');
    for (const waiter of this.registeredWaiters.splice(0)) {
      waiter.reject(new AgoraError('AGORA_ERR_CLOSED', 'contender closed before it joined the election'));
    }
    const session = this.session;
    const node = this.node;
    this.session = undefined;
    this.node = undefined;
    if (session !== undefined) {
      if (node !== undefined && session.state === 'connected') {
        await withTimeout(session.remove(node), Math.min(this.sessionTimeoutMs, 5_000)).catch((err) =>
          this.log.debug({ err, node }, 'could not remove our znode; it goes with the session'),
        );
      }
      await session.close();
    }
    this.changed.dispose();
  }

  private openSession(): void {
    const generation = ++this.generation;
    const session = new ZkSession({
      connectString: this.url.connectString,
      sessionTimeoutMs: this.sessionTimeoutMs,
      auth: this.url.auth,
      logger: this.log,
    });
    this.session = session;
    this.node = undefined;
    // One watcher function per session: the client keeps one registration per function and path.
    const watcher: ZkWatcher = () => this.check(generation);
    this.watcher = watcher;
    session.onDidLose((reason) => this.onSessionLost(generation, reason));
    session.onDidConnect(() => {
      if (this.node !== undefined) this.check(generation); // catch up on anything missed while away
    });
    void this.register(generation, session);
  }

  private onSessionLost(generation: number, reason: string): void {
    if (generation !== this.generation || this.closed) return;
    this.setLeading(false, `zookeeper session lost: ${reason}`);
    this.node = undefined;
    this.session = undefined;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(
      () => {
        if (!this.closed) this.openSession();
      },
      retryDelayMs(this.failures++),
    );
  }

  /** Create our znode (and the election path), then look at our standing. */
  private async register(generation: number, session: ZkSession): Promise<void> {
    try {
      await session.whenConnected();
      await session.mkdirp(this.url.path);
      const node = await this.createNode(session);
      if (generation !== this.generation || this.closed) {
        await session.remove(node).catch(() => undefined);
        return;
      }
      this.node = node;
      this.failures = 0;
      this.log.info({ znode: node, session: session.sessionIdHex }, 'joined the election');
      for (const waiter of this.registeredWaiters.splice(0)) waiter.resolve();
      this.check(generation);
    } catch (err) {
      if (generation !== this.generation || this.closed || isSessionGone(err)) return;
      const delay = retryDelayMs(this.failures++);
      this.log.warn({ err, retryInMs: delay }, 'could not join the election; retrying');
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => void this.register(generation, session), delay);
    }
  }

  /**
   * Create our EPHEMERAL_SEQUENTIAL znode. If the reply was lost with the
   * connection, the node may exist anyway: look for a member owned by this
   * session before creating another.
   */
  private async createNode(session: ZkSession): Promise<string> {
    const prefix = `${this.url.path === '/' ? '' : this.url.path}/${this.label}`;
    for (let attempt = 0; ; attempt++) {
      const mine = attempt === 0 ? undefined : await this.findOwnNode(session);
      if (mine !== undefined) return mine;
      try {
        return await session.create(prefix, this.payload, zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL);
      } catch (err) {
        if (zkCodeOf(err) !== ZK_CONNECTION_LOSS || attempt >= 5) throw err;
        await session.whenConnected();
      }
    }
  }

  private async findOwnNode(session: ZkSession): Promise<string | undefined> {
    const ownId = session.client.getSessionId();
    const base = this.url.path === '/' ? '' : this.url.path;
    for (const child of await session.getChildren(this.url.path)) {
      if (!child.startsWith(this.label)) continue;
      const stat = await session.exists(`${base}/${child}`);
      if (stat !== null && Buffer.compare(stat.ephemeralOwner, ownId) === 0) return `${base}/${child}`;
    }
    return undefined;
  }

  /**
   * Look at our standing: lead if our node is the lowest; otherwise watch the
   * predecessor. Runs one at a time; a request during a run causes one more run.
   */
  private check(generation: number): void {
    if (generation !== this.generation || this.closed) return;
    if (this.checking) {
      this.checkAgain = true;
      return;
    }
    this.checking = true;
    void this.runCheck(generation).finally(() => {
      this.checking = false;
      if (this.checkAgain) {
        // Asked for during the run, possibly for a newer session.
        this.checkAgain = false;
        this.check(this.generation);
      }
    });
  }

  private async runCheck(generation: number): Promise<void> {
    const session = this.session;
    const node = this.node;
    const watcher = this.watcher;
    if (session === undefined || node === undefined || watcher === undefined) return;
    const stale = (): boolean => generation !== this.generation || this.closed || this.node !== node;
    try {
      // Watch our own node: if someone deletes it we are no longer a member.
      const own = await session.exists(node, watcher);
      if (stale()) return;
      const base = this.url.path === '/' ? '' : this.url.path;
      const children = own === null ? [] : await session.getChildren(this.url.path);
      if (stale()) return;
      const standing = standingOf(children, this.label, node.slice(base.length + 1));
      if (standing.kind === 'missing') {
        this.setLeading(false, 'our znode disappeared');
        this.log.warn({ znode: node }, 'our znode disappeared; joining the election again');
        this.node = undefined;
        void this.register(generation, session);
        return;
      }
      if (standing.kind === 'leader') {
        this.setLeading(true, 'lowest sequence');
        return;
      }
      this.setLeading(false, `behind ${standing.predecessor.name}`);
      const predecessor = await session.exists(`${base}/${standing.predecessor.name}`, watcher);
      if (stale()) return;
      if (predecessor === null) this.checkAgain = true; // gone between the two reads: look again
      this.failures = 0;
    } catch (err) {
      if (stale() || isSessionGone(err)) return;
      if (zkCodeOf(err) === ZK_NO_NODE) {
        this.checkAgain = true; // the election path vanished under us; the next run re-registers
        return;
      }
      const delay = retryDelayMs(this.failures++);
      this.log.warn({ err, retryInMs: delay }, 'election check failed; retrying');
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.check(generation), delay);
    }
  }

  private setLeading(leading: boolean, why: string): void {
    if (this.leading === leading) return;
    this.leading = leading;
    this.log.info({ leading, why, znode: this.node }, leading ? 'elected leader' : 'no longer leader');
    this.changed.fire(leading);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new AgoraError('AGORA_ERR_TIMEOUT', `no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
