/**
 * One ZooKeeper session on node-zookeeper-client, with what the library lacks:
 * promise operations, a clear end of the session, and a watchdog.
 *
 * The library never gives up on a session by itself: while the servers are
 * unreachable (or answer nothing) it keeps the session "disconnected" forever,
 * and an expired session is only reported on reconnection. A `ZkSession`
 * instead declares itself lost when ZooKeeper has not answered for most of the
 * session timeout (the server may expire the session once the full timeout
 * passes, and another contender may then lead, so we stop first), when the
 * server says the session expired, or when authentication fails. A lost
 * session is closed; its owner makes a new one. Meanwhile a short
 * disconnection keeps the session and its ephemeral nodes.
 */
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { AgoraError, Emitter, type Logger } from '@agora/common';

const require = createRequire(import.meta.url);

// --- The slice of node-zookeeper-client 1.1 that we use (it ships no types). ---

export interface ZkState {
  readonly name: string;
  readonly code: number;
}

export interface ZkException extends Error {
  getCode(): number;
  getName(): string;
}

export interface ZkStat {
  readonly ephemeralOwner: Buffer;
  readonly version: number;
}

export interface ZkWatchEvent {
  getType(): number;
  getName(): string;
  getPath(): string;
}

export type ZkWatcher = (event: ZkWatchEvent) => void;
type Callback<R> = (error: ZkException | null, result: R) => void;

export interface ZkClient {
  connect(): void;
  close(): void;
  on(event: 'state', listener: (state: ZkState) => void): unknown;
  removeAllListeners(): unknown;
  getSessionId(): Buffer;
  getSessionPassword(): Buffer;
  getSessionTimeout(): number;
  addAuthInfo(scheme: string, auth: Buffer): void;
  create(path: string, data: Buffer, acls: unknown[], mode: number, callback: Callback<string>): void;
  remove(path: string, version: number, callback: (error: ZkException | null) => void): void;
  exists(path: string, watcher: ZkWatcher | undefined, callback: Callback<ZkStat | null>): void;
  getChildren(path: string, watcher: ZkWatcher | undefined, callback: Callback<string[]>): void;
  getData(
    path: string,
    watcher: ZkWatcher | undefined,
    callback: (error: ZkException | null, data: Buffer | undefined, stat: ZkStat | undefined) => void,
  ): void;
  setData(path: string, data: Buffer, version: number, callback: Callback<ZkStat | undefined>): void;
  mkdirp(path: string, acls: unknown[], mode: number, callback: Callback<string>): void;
}

export interface ZkClientOptions {
  sessionTimeout: number;
  spinDelay: number;
  retries: number;
  sessionId?: Buffer;
  sessionPassword?: Buffer;
}

interface ZkModule {
  createClient(connectString: string, options: ZkClientOptions): ZkClient;
  ACL: { OPEN_ACL_UNSAFE: unknown[]; CREATOR_ALL_ACL: unknown[]; READ_ACL_UNSAFE: unknown[] };
  CreateMode: { PERSISTENT: number; EPHEMERAL: number; EPHEMERAL_SEQUENTIAL: number };
}

/** The node-zookeeper-client module. */
export const zookeeper = require('node-zookeeper-client') as ZkModule;

/**
 * Names of error codes that ZooKeeper 3.5+ servers send and node-zookeeper-client
 * 1.1 does not know (`KeeperException.Code`).
 */
const NEWER_ERROR_CODES: Readonly<Record<number, string>> = {
  [-13]: 'NEW_CONFIG_NO_QUORUM',
  [-14]: 'RECONFIG_IN_PROGRESS',
  [-15]: 'SSL_ERROR',
  [-118]: 'SESSION_MOVED',
  [-119]: 'NOT_READ_ONLY',
  [-120]: 'EPHEMERAL_ON_LOCAL_SESSION',
  [-121]: 'NO_WATCHER',
  [-122]: 'REQUEST_TIMEOUT',
  [-123]: 'RECONFIG_DISABLED',
  [-124]: 'SESSION_CLOSED_REQUIRE_SASL',
  [-125]: 'QUOTA_EXCEEDED',
  [-127]: 'THROTTLED_OP',
};

/**
 * node-zookeeper-client throws "Unknown code" — from inside its socket data
 * handler, so the whole process dies — when a server answers with an error
 * code it does not know (e.g. SESSION_MOVED). Make such codes ordinary errors
 * that carry the server's code.
 */
function tolerateUnknownErrorCodes(): void {
  const exceptions = require('node-zookeeper-client/lib/Exception.js') as {
    create: (code: number, path?: string) => ZkException & { code: number; name: string };
    SYSTEM_ERROR: number;
    agoraTolerant?: boolean;
  };
  if (exceptions.agoraTolerant === true) return;
  const create = exceptions.create;
  exceptions.create = (code, path) => {
    try {
      return create(code, path);
    } catch {
      const known = create(exceptions.SYSTEM_ERROR, path);
      const name = NEWER_ERROR_CODES[code] ?? `UNKNOWN_${code}`;
      return Object.assign(known, { code, name, message: `Exception: ${name}[${code}]` });
    }
  };
  exceptions.agoraTolerant = true;
}
tolerateUnknownErrorCodes();

/** ZooKeeper error codes we act on (`lib/Exception.js`). */
export const ZK_CONNECTION_LOSS = -4;
export const ZK_NO_NODE = -101;
export const ZK_NODE_EXISTS = -110;
export const ZK_BAD_VERSION = -103;
export const ZK_SESSION_EXPIRED = -112;

/** Watch event types (`lib/Event.js`). */
export const ZK_EVENT_NODE_DELETED = 2;

/** ConnectionManager states (`lib/ConnectionManager.js`), read for a clean shutdown. */
const CM_CLOSED = -2;
const CM_SESSION_EXPIRED = -3;

interface ConnectionManagerInternals {
  state?: number;
  socket?: Socket;
  connectTimeoutHandler?: NodeJS.Timeout | null;
}

// --- Errors ---

/** The ZooKeeper error code carried by an error from a `ZkSession` operation, if any. */
export function zkCodeOf(err: unknown): number | undefined {
  const details = (err as { data?: { zkCode?: unknown } } | null)?.data;
  return typeof details?.zkCode === 'number' ? details.zkCode : undefined;
}

/** Whether an operation failed because its session is lost or closed (retrying on it is pointless). */
export function isSessionGone(err: unknown): boolean {
  const details = (err as { data?: { sessionGone?: unknown } } | null)?.data;
  return details?.sessionGone === true || zkCodeOf(err) === ZK_SESSION_EXPIRED;
}

function zkError(err: ZkException, op: string, path: string): AgoraError {
  const zkCode = typeof err.getCode === 'function' ? err.getCode() : undefined;
  const zkName = typeof err.getName === 'function' ? err.getName() : err.name;
  return new AgoraError('AGORA_ERR_COORDINATION', `ZooKeeper ${op} ${path} failed: ${zkName}`, {
    cause: err,
    data: { zkCode, zkName, op, path },
  });
}

// --- The session ---

export interface ZkSessionOptions {
  /** `host:port,host:port` */
  connectString: string;
  /** Requested session timeout; the server may adjust it. */
  sessionTimeoutMs: number;
  /** Digest credentials `user:pass`. */
  auth?: string | undefined;
  logger: Logger;
  /** Attach to an existing session instead of making one (tests). */
  sessionId?: Buffer;
  sessionPassword?: Buffer;
}

export type ZkSessionState = 'connecting' | 'connected' | 'disconnected' | 'lost' | 'closed';

/** How long to wait for a clean close before the socket is cut. */
const CLOSE_GRACE_MS = 2_000;

/**
 * How long before the server may expire a silent session we declare it lost:
 * a tenth of the negotiated timeout, but at least 500 ms (or a quarter of
 * short timeouts), so that a late timer still fires before another contender
 * can be elected. 10 s sessions are given up after 9 s of silence.
 */
export function sessionLossMarginMs(timeoutMs: number): number {
  return Math.max(timeoutMs / 10, Math.min(500, timeoutMs / 4));
}

export class ZkSession {
  readonly client: ZkClient;
  private stateValue: ZkSessionState = 'connecting';
  private everConnected = false;
  private lastHeard = Date.now();
  private watchdog: NodeJS.Timeout | undefined;
  private prober: NodeJS.Timeout | undefined;
  private probing = false;
  private closing: Promise<void> | undefined;
  private readonly pending = new Set<(err: Error) => void>();
  private readonly connected = new Emitter<void>();
  private readonly lost = new Emitter<string>();
  private readonly log: Logger;

  /** Fires on every (re)connection of this session. */
  readonly onDidConnect = this.connected.event;
  /** Fires once when the session is lost (expired, unanswered too long, auth failed), with the reason. */
  readonly onDidLose = this.lost.event;

  constructor(private readonly options: ZkSessionOptions) {
    this.log = options.logger;
    const clientOptions: ZkClientOptions = {
      sessionTimeout: options.sessionTimeoutMs,
      spinDelay: Math.min(1_000, Math.max(100, Math.floor(options.sessionTimeoutMs / 10))),
      retries: 0,
    };
    if (options.sessionId !== undefined) clientOptions.sessionId = options.sessionId;
    if (options.sessionPassword !== undefined) clientOptions.sessionPassword = options.sessionPassword;
    this.client = zookeeper.createClient(options.connectString, clientOptions);
    if (options.auth !== undefined) this.client.addAuthInfo('digest', Buffer.from(options.auth));
    this.client.on('state', (state) => this.onState(state));
    this.armWatchdog();
    this.prober = setInterval(() => this.probe(), Math.max(50, Math.floor(options.sessionTimeoutMs / 3)));
    this.client.connect();
  }

  get state(): ZkSessionState {
    return this.stateValue;
  }

  /** The session id as 16 hex digits (as ZooKeeper logs it), once connected. */
  get sessionIdHex(): string {
    return this.client.getSessionId().toString('hex');
  }

  /** ACLs for new nodes: open without credentials; with them, the creator may do all and everyone may read. */
  get acls(): unknown[] {
    return this.options.auth === undefined
      ? zookeeper.ACL.OPEN_ACL_UNSAFE
      : [...zookeeper.ACL.CREATOR_ALL_ACL, ...zookeeper.ACL.READ_ACL_UNSAFE];
  }

  /** Resolves when connected (at once if connected now); rejects once the session is lost or closed. */
  whenConnected(): Promise<void> {
    if (this.stateValue === 'connected') return Promise.resolve();
    return this.call<void>('connect', '', (done) => {
      const sub = this.connected.event(() => {
        sub.dispose();
        done(null, undefined);
      });
    });
  }

  create(path: string, data: Buffer, mode: number): Promise<string> {
    return this.call('create', path, (done) => this.client.create(path, data, this.acls, mode, done));
  }

  /** Create `path` and its missing parents as persistent nodes. */
  mkdirp(path: string): Promise<void> {
    if (path === '/') return Promise.resolve();
    return this.call('mkdirp', path, (done) =>
      this.client.mkdirp(path, this.acls, zookeeper.CreateMode.PERSISTENT, (err) => done(err, undefined)),
    );
  }

  remove(path: string): Promise<void> {
    return this.call('remove', path, (done) => this.client.remove(path, -1, (err) => done(err, undefined)));
  }

  /** The node's stat, or null when it does not exist. A watcher fires once on its creation, change or deletion. */
  exists(path: string, watcher?: ZkWatcher): Promise<ZkStat | null> {
    return this.call('exists', path, (done) => this.client.exists(path, watcher, done));
  }

  /** Child names. A watcher fires once when the children change or the node is deleted. */
  getChildren(path: string, watcher?: ZkWatcher): Promise<string[]> {
    return this.call('getChildren', path, (done) => this.client.getChildren(path, watcher, done));
  }

  getData(path: string, watcher?: ZkWatcher): Promise<Buffer | undefined> {
    return this.call('getData', path, (done) => this.client.getData(path, watcher, (err, data) => done(err, data)));
  }

  /** The node's data with its stat (the version is a compare-and-set token). */
  getDataAndStat(path: string): Promise<{ data: Buffer | undefined; stat: ZkStat | undefined }> {
    return this.call('getData', path, (done) =>
      this.client.getData(path, undefined, (err, data, stat) => done(err, { data, stat })),
    );
  }

  /** Write the data if the node's version is still `version` (-1: any); the new stat. */
  setData(path: string, data: Buffer, version: number): Promise<ZkStat | undefined> {
    return this.call('setData', path, (done) => this.client.setData(path, data, version, done));
  }

  /** Close the session (its ephemeral nodes go with it) and release the client. Idempotent. */
  close(): Promise<void> {
    if (this.closing === undefined) {
      const answering = this.stateValue === 'connected';
      if (this.stateValue !== 'lost') this.stateValue = 'closed';
      this.closing = this.shutdown(answering);
    }
    return this.closing;
  }

  private call<R>(op: string, path: string, start: (done: Callback<R>) => void): Promise<R> {
    if (this.stateValue === 'lost' || this.stateValue === 'closed') return Promise.reject(this.goneError(op, path));
    return new Promise<R>((resolve, reject) => {
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        this.pending.delete(fail);
        reject(err);
      };
      this.pending.add(fail);
      const done: Callback<R> = (err, result) => {
        if (settled) return;
        settled = true;
        this.pending.delete(fail);
        const code = err === null ? 0 : typeof err.getCode === 'function' ? err.getCode() : ZK_CONNECTION_LOSS;
        // Any answer from the server (even "no node") shows the session is alive.
        if (code !== ZK_CONNECTION_LOSS && code !== ZK_SESSION_EXPIRED && op !== 'connect') this.lastHeard = Date.now();
        if (err === null) resolve(result);
        else reject(zkError(err, op, path));
      };
      try {
        start(done);
      } catch (err) {
        fail(
          new AgoraError('AGORA_ERR_COORDINATION', `ZooKeeper ${op} ${path} failed: ${String(err)}`, { cause: err }),
        );
      }
    });
  }

  private goneError(op: string, path: string): AgoraError {
    return new AgoraError('AGORA_ERR_COORDINATION', `ZooKeeper ${op} ${path}: the session is ${this.stateValue}`, {
      data: { sessionGone: true, op, path },
    });
  }

  private onState(state: ZkState): void {
    if (this.stateValue === 'lost' || this.stateValue === 'closed') return;
    switch (state.name) {
      case 'SYNC_CONNECTED':
        this.stateValue = 'connected';
        this.everConnected = true;
        this.lastHeard = Date.now();
        // The deadline may have been set for the (longer) first connection: set it from now.
        clearTimeout(this.watchdog);
        this.armWatchdog();
        this.log.debug(
          { session: this.sessionIdHex, timeoutMs: this.client.getSessionTimeout() },
          'zk session connected',
        );
        this.connected.fire();
        break;
      case 'DISCONNECTED':
        if (this.stateValue === 'connected') {
          this.stateValue = 'disconnected';
          this.log.info({ session: this.sessionIdHex }, 'zk session disconnected; keeping it until it expires');
        }
        break;
      case 'EXPIRED':
        this.lose('the session expired');
        break;
      case 'AUTH_FAILED':
        this.lose('authentication failed');
        break;
      default:
        break;
    }
  }

  /** Negotiated timeout once connected, else the requested one. */
  private get timeoutMs(): number {
    const negotiated = this.everConnected ? this.client.getSessionTimeout() : 0;
    return negotiated > 0 ? negotiated : this.options.sessionTimeoutMs;
  }

  private get lossAfterMs(): number {
    // Before the first connection there is no server-side session to outlive:
    // give the connection the whole timeout.
    return this.everConnected ? Math.floor(this.timeoutMs - sessionLossMarginMs(this.timeoutMs)) : this.timeoutMs;
  }

  private armWatchdog(): void {
    const wait = Math.max(10, this.lastHeard + this.lossAfterMs - Date.now());
    this.watchdog = setTimeout(() => {
      this.watchdog = undefined;
      if (this.stateValue === 'lost' || this.stateValue === 'closed') return;
      const silentMs = Date.now() - this.lastHeard;
      if (silentMs >= this.lossAfterMs) {
        this.lose(
          this.everConnected
            ? `no answer from ZooKeeper for ${silentMs} ms (session timeout ${this.timeoutMs} ms)`
            : `could not connect to ZooKeeper at ${this.options.connectString} within ${silentMs} ms`,
        );
      } else {
        this.armWatchdog();
      }
    }, wait);
  }

  /** A cheap request now and then, so that `lastHeard` tracks the server's answers. */
  private probe(): void {
    if (this.stateValue !== 'connected' || this.probing) return;
    this.probing = true;
    this.exists('/').then(
      () => {
        this.probing = false;
      },
      () => {
        this.probing = false;
      },
    );
  }

  private lose(reason: string): void {
    if (this.stateValue === 'lost' || this.stateValue === 'closed') return;
    // Expired: the server already ended it. Silent while connected: a
    // closeSession may still get through and free our nodes sooner.
    const answering = this.stateValue === 'connected';
    this.stateValue = 'lost';
    this.log.warn({ session: this.sessionIdHex, reason }, 'zk session lost');
    this.lost.fire(reason);
    if (this.closing === undefined) this.closing = this.shutdown(answering);
  }

  /** Stop timers, fail pending calls, end the session (cleanly if `answering`) and cut the socket. */
  private async shutdown(answering: boolean): Promise<void> {
    clearTimeout(this.watchdog);
    clearInterval(this.prober);
    for (const fail of [...this.pending]) fail(this.goneError('call', ''));
    this.connected.dispose();
    this.lost.dispose();
    const internals = (this.client as unknown as { connectionManager?: ConnectionManagerInternals }).connectionManager;
    const cmState = (): number | undefined => internals?.state;
    if (cmState() !== CM_CLOSED && cmState() !== CM_SESSION_EXPIRED) {
      try {
        this.client.close(); // sends closeSession when connected; stops reconnecting otherwise
      } catch (err) {
        this.log.debug({ err }, 'zk client close threw');
      }
      const deadline = Date.now() + Math.min(CLOSE_GRACE_MS, this.timeoutMs);
      while (cmState() !== CM_CLOSED && cmState() !== CM_SESSION_EXPIRED && Date.now() < deadline) {
        // Not connected: nothing to say to the server. Cut the socket, and any
        // socket the client's pending reconnect opens next; it then stops.
        if (!answering && internals?.socket?.destroyed === false) internals.socket.destroy();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    if (internals !== undefined) {
      if (internals.connectTimeoutHandler) clearTimeout(internals.connectTimeoutHandler);
      internals.socket?.destroy();
    }
    this.client.removeAllListeners();
  }
}
