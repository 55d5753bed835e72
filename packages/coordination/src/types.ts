/**
 * Leader election and detection. A contender takes part in the election and
 * says when it leads; a detector tells who leads. The data each contender
 * publishes is JSON (a Mesos MasterInfo for masters, so Mesos-aware tooling
 * finds the leader in ZooKeeper).
 */
import type { Event } from '@agora/common';

export interface LeaderContender<T> {
  /** Whether this process leads now. */
  readonly isLeader: boolean;
  /** Fires true when this process becomes leader, false when it stops leading. */
  readonly onDidChangeLeadership: Event<boolean>;
  /** Join the election. Resolves once the candidacy is registered (not when elected). */
  start(): Promise<void>;
  /** Withdraw from the election and release every resource. */
  close(): Promise<void>;
  /** The data this contender publishes. */
  readonly data: T;
}

export interface LeaderDetector<T> {
  /** The current leader's data, or undefined while there is none. */
  readonly leader: T | undefined;
  /** Fires on every change of leader (undefined: no leader). */
  readonly onDidChangeLeader: Event<T | undefined>;
  /** Resolves with the leader, waiting up to `timeoutMs` (AGORA_ERR_NO_LEADER after). */
  waitForLeader(timeoutMs?: number): Promise<T>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** A parsed `zk://[user:pass@]host1:2181,host2:2181/path` URL. */
export interface ZkUrl {
  /** `host:port` pairs joined by commas, as the ZooKeeper client wants them. */
  connectString: string;
  /** The znode path, e.g. `/agora`. Never ends in `/` (root is `/`). */
  path: string;
  /** Digest credentials `user:pass`, when given. */
  auth?: string;
}
