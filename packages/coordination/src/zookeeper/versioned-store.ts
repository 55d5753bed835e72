/**
 * A versioned store on one persistent znode: read the data with its version,
 * write it back only if nobody wrote in between (the znode version is the
 * compare-and-set token). The master's registrar stores its registry here
 * (`<zk path>/registry`); a conflicting write tells it another master wrote
 * since, so it must stop leading rather than continue on stale state.
 *
 * ```ts
 * const store = createVersionedStore('zk://127.0.0.1:2181/agora', 'registry');
 * const { data, version } = await store.fetch();      // version -1: no znode yet
 * const next = await store.store(encode(update(data)), version);
 * await store.close();
 * ```
 *
 * Failures are AgoraError AGORA_ERR_COORDINATION; a version conflict carries
 * `data.conflict === true`. One ZooKeeper session per store; a lost session
 * makes every later call fail (the owner makes a new store if it wants).
 */
import { AgoraError, createLogger, type Logger } from '@agora/common';
import { ZK_BAD_VERSION, ZK_NO_NODE, ZK_NODE_EXISTS, ZkSession, zkCodeOf, zookeeper } from './session.js';
import { parseZkUrl } from './url.js';

export interface VersionedValue {
  /** The stored bytes; undefined when the znode does not exist. */
  data: Uint8Array | undefined;
  /** The znode's data version; -1 when it does not exist. */
  version: number;
}

export interface VersionedStore {
  /** Where the data lives (the znode path). */
  readonly path: string;
  fetch(): Promise<VersionedValue>;
  /**
   * Write `data` if the stored version is still `version` (-1: the znode must not exist yet). Returns the new
   * version. A mismatch rejects with AGORA_ERR_COORDINATION and `data.conflict === true`.
   */
  store(data: Uint8Array, version: number): Promise<number>;
  close(): Promise<void>;
}

export interface VersionedStoreOptions {
  logger?: Logger;
  /** @default 10000 */
  sessionTimeoutMs?: number;
}

/**
 * A store on the znode `path` of the ensemble in `zkUrl` (`zk://host:port/base`). A relative `path` is taken
 * under the URL's path (`registry` → `/base/registry`). A bad URL throws AGORA_ERR_BAD_FLAG.
 */
export function createVersionedStore(zkUrl: string, path: string, options: VersionedStoreOptions = {}): VersionedStore {
  const url = parseZkUrl(zkUrl);
  const full = path.startsWith('/') ? path : `${url.path === '/' ? '' : url.path}/${path}`;
  return new ZkVersionedStore(
    full,
    new ZkSession({
      connectString: url.connectString,
      sessionTimeoutMs: options.sessionTimeoutMs ?? 10_000,
      auth: url.auth,
      logger: (options.logger ?? createLogger({ component: 'coordination' })).child({ zkPath: full }),
    }),
  );
}

class ZkVersionedStore implements VersionedStore {
  constructor(
    readonly path: string,
    private readonly session: ZkSession,
  ) {}

  async fetch(): Promise<VersionedValue> {
    await this.session.whenConnected();
    try {
      const { data, stat } = await this.session.getDataAndStat(this.path);
      return { data: data === undefined ? new Uint8Array() : new Uint8Array(data), version: stat?.version ?? 0 };
    } catch (err) {
      if (zkCodeOf(err) === ZK_NO_NODE) return { data: undefined, version: -1 };
      throw err;
    }
  }

  async store(data: Uint8Array, version: number): Promise<number> {
    await this.session.whenConnected();
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (version < 0) {
      const parent = this.path.slice(0, this.path.lastIndexOf('/'));
      if (parent !== '') await this.session.mkdirp(parent);
      try {
        await this.session.create(this.path, bytes, zookeeper.CreateMode.PERSISTENT);
      } catch (err) {
        if (zkCodeOf(err) === ZK_NODE_EXISTS) throw this.conflict(version, err);
        throw err;
      }
      return 0;
    }
    try {
      return (await this.session.setData(this.path, bytes, version))?.version ?? version + 1;
    } catch (err) {
      const code = zkCodeOf(err);
      if (code === ZK_BAD_VERSION || code === ZK_NO_NODE) throw this.conflict(version, err);
      throw err;
    }
  }

  close(): Promise<void> {
    return this.session.close();
  }

  private conflict(version: number, cause: unknown): AgoraError {
    return new AgoraError(
      'AGORA_ERR_COORDINATION',
      `ZooKeeper write of ${this.path} refused: it changed since version ${version} (another writer)`,
      { cause, data: { conflict: true, path: this.path, version } },
    );
  }
}
