/**
 * A leader detector whose leader the test sets, standing in for ZooKeeper
 * detection when a test moves "the leader" between two master peers. It
 * implements the same LeaderDetector contract as the ZooKeeper detector.
 */
import { AgoraError, Emitter } from '@agora/common';
import type { LeaderDetector } from '@agora/coordination';

export class MutableDetector implements LeaderDetector<unknown> {
  private current: unknown;
  private readonly changed = new Emitter<unknown>();
  readonly onDidChangeLeader = this.changed.event;

  constructor(leader?: unknown) {
    this.current = leader;
  }

  get leader(): unknown {
    return this.current;
  }

  set(leader: unknown): void {
    this.current = leader;
    this.changed.fire(leader);
  }

  async waitForLeader(): Promise<unknown> {
    if (this.current === undefined) throw new AgoraError('AGORA_ERR_NO_LEADER', 'no leader');
    return this.current;
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {
    this.changed.dispose();
  }
}

/** MasterInfo-shaped leader data for a master on 127.0.0.1:port. */
export function masterAt(port: number): unknown {
  return {
    id: `master-${port}`,
    hostname: 'localhost',
    port,
    address: { hostname: 'localhost', ip: '127.0.0.1', port },
  };
}
