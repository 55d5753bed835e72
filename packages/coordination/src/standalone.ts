/**
 * Standalone mode: no ZooKeeper. The contender leads as soon as it starts; the
 * detector always reports one fixed leader. Used by `agora local` and by
 * agents and frameworks given `--master host:port`.
 */
import { AgoraError, Emitter } from '@agora/common';
import type { LeaderContender, LeaderDetector } from './types.js';

export class StandaloneContender<T> implements LeaderContender<T> {
  private leading = false;
  private readonly changed = new Emitter<boolean>();
  readonly onDidChangeLeadership = this.changed.event;

  constructor(readonly data: T) {}

  get isLeader(): boolean {
    return this.leading;
  }

  async start(): Promise<void> {
    if (this.leading) return;
    this.leading = true;
    this.changed.fire(true);
  }

  async close(): Promise<void> {
    if (this.leading) {
      this.leading = false;
      this.changed.fire(false);
    }
    this.changed.dispose();
  }
}

export class StaticDetector<T> implements LeaderDetector<T> {
  private readonly changed = new Emitter<T | undefined>();
  readonly onDidChangeLeader = this.changed.event;
  private closed = false;

  constructor(private readonly fixed: T) {}

  get leader(): T | undefined {
    return this.closed ? undefined : this.fixed;
  }

  async waitForLeader(): Promise<T> {
    if (this.closed) throw new AgoraError('AGORA_ERR_CLOSED', 'detector is closed');
    return this.fixed;
  }

  async start(): Promise<void> {
    this.changed.fire(this.fixed);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.changed.dispose();
  }
}
