/**
 * Leadership: with `zk` set, the master contends in ZooKeeper (publishing its
 * MasterInfo as JSON under `<path>/json.info_<seq>`) and runs a detector, so a
 * standby knows where to redirect; without `zk` it leads alone (standalone).
 *
 * Losing leadership after having led is final for this master process: like
 * Mesos (which aborts), the master stops serving; `onDidLoseLeadership` fires
 * once, and the owner (master.ts) closes every connection and tells the CLI,
 * which exits with a non-zero code so a supervisor restarts it as a standby.
 */
import { Emitter, type Logger } from '@agora/common';
import { createContender, createDetector, type LeaderContender, type LeaderDetector } from '@agora/coordination';
import type { MasterInfo } from '@agora/proto';

export interface LeadershipOptions {
  zk: string | undefined;
  sessionTimeoutMs: number;
  info: MasterInfo;
  logger: Logger;
}

export class Leadership {
  private contender: LeaderContender<MasterInfo> | undefined;
  private detector: LeaderDetector<MasterInfo> | undefined;
  private led = false;
  private lost = false;
  private readonly elected = new Emitter<void>();
  private readonly lostLeadership = new Emitter<void>();

  /** This master became the leader. */
  readonly onDidBecomeLeader = this.elected.event;
  /** This master stopped leading after having led (fires at most once). */
  readonly onDidLoseLeadership = this.lostLeadership.event;

  constructor(private readonly options: LeadershipOptions) {}

  get isLeader(): boolean {
    return !this.lost && (this.contender?.isLeader ?? false);
  }

  /** The leading master's info: this one's when leading, else what the detector sees. */
  get leader(): MasterInfo | undefined {
    if (this.isLeader) return this.options.info;
    const seen = this.detector?.leader;
    // Never point at itself when not leading (its own znode may linger briefly), or clients would loop.
    return seen !== undefined && seen.id === this.options.info.id ? undefined : seen;
  }

  async start(): Promise<void> {
    const { zk, info, logger, sessionTimeoutMs } = this.options;
    if (zk !== undefined) {
      this.detector = createDetector<MasterInfo>(zk, { logger, sessionTimeoutMs });
      await this.detector.start();
    }
    const contender = createContender<MasterInfo>(zk, info, { logger, sessionTimeoutMs });
    this.contender = contender;
    contender.onDidChangeLeadership((leading) => {
      if (this.lost) return;
      if (leading) {
        this.led = true;
        logger.info({ masterId: info.id, zk: zk === undefined ? 'standalone' : 'zookeeper' }, 'elected leader');
        this.elected.fire();
      } else if (this.led) {
        this.lost = true;
        logger.error({ masterId: info.id }, 'lost leadership');
        this.lostLeadership.fire();
      }
    });
    await contender.start();
  }

  /** Stop contending (after losing leadership, so this process never leads again with stale state). */
  async withdraw(): Promise<void> {
    const contender = this.contender;
    this.contender = undefined;
    await contender?.close();
  }

  async close(): Promise<void> {
    this.lost = true;
    await this.withdraw();
    const detector = this.detector;
    this.detector = undefined;
    await detector?.close();
    this.elected.dispose();
    this.lostLeadership.dispose();
  }
}
