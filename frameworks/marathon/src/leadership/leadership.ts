/**
 * HA: several Marathon processes elect one leader in ZooKeeper (an election
 * under `<zk path>/marathon-leader`, each candidate publishing its URL). Only
 * the leader loads the state, subscribes to the master and serves the API;
 * the others proxy every request to it (`leader-proxy.ts`). Losing the
 * leadership (ZooKeeper session lost, or `DELETE /v2/leader`) stops this
 * Marathon, like Marathon's crash strategy: a supervisor restarts it as a
 * standby.
 */
import {
  createContender,
  createDetector,
  type LeaderContender,
  type LeaderDetector,
  ZkContender,
} from '@agora/coordination';
import { type Logger, toAgoraError } from '@agora/common';

/** What each candidate publishes. */
export interface MarathonLeaderInfo {
  /** `http://host:port` */
  url: string;
  /** `host:port` (GET /v2/leader). */
  leader: string;
}

export interface LeadershipOptions {
  /** `zk://host:2181/path`; the election runs under `<path>/marathon-leader`. */
  zk: string;
  self: MarathonLeaderInfo;
  logger: Logger;
  /** ZooKeeper session timeout asked for (`--zk_session_timeout`), ms. @default 10000 */
  sessionTimeoutMs?: number;
}

/** The election path for a Marathon `--zk` URL. */
export function marathonElectionUrl(zk: string): string {
  const trimmed = zk.replace(/\/+$/, '');
  return `${trimmed}/marathon-leader`;
}

export class Leadership {
  private readonly contender: LeaderContender<MarathonLeaderInfo>;
  private readonly detector: LeaderDetector<MarathonLeaderInfo>;
  private elected = false;
  private stopped = false;
  private defeated: ((why: string) => void) | undefined;

  constructor(private readonly o: LeadershipOptions) {
    const url = marathonElectionUrl(o.zk);
    const zkOptions = {
      logger: o.logger.child({ part: 'election' }),
      ...(o.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: o.sessionTimeoutMs }),
    };
    this.contender = createContender(url, o.self, zkOptions);
    this.detector = createDetector<MarathonLeaderInfo>(url, zkOptions);
  }

  /** The session timeout the election's ZooKeeper session was given by the server (ms), once connected. */
  get negotiatedSessionTimeoutMs(): number | undefined {
    return this.contender instanceof ZkContender
      ? this.contender.currentSession?.client.getSessionTimeout()
      : undefined;
  }

  get isLeader(): boolean {
    return this.elected && this.contender.isLeader;
  }

  /** The current leader's info (this one's while it leads), undefined while there is none. */
  get leader(): MarathonLeaderInfo | undefined {
    if (this.isLeader) return this.o.self;
    return this.detector.leader;
  }

  /** Wait up to `timeoutMs` for a leader. */
  async waitForLeader(timeoutMs: number): Promise<MarathonLeaderInfo | undefined> {
    if (this.isLeader) return this.o.self;
    try {
      return await this.detector.waitForLeader(timeoutMs);
    } catch {
      return undefined;
    }
  }

  /**
   * Join the election. `onElected` runs once when this process becomes
   * leader (load state, subscribe); `onDefeated` when it stops leading after
   * having led (the process should stop).
   */
  async start(onElected: () => Promise<void>, onDefeated: (why: string) => void): Promise<void> {
    let fired = false;
    this.defeated = (why) => {
      if (fired) return;
      fired = true;
      onDefeated(why);
    };
    this.contender.onDidChangeLeadership((leading) => {
      if (this.stopped) return;
      if (leading && !this.elected) {
        this.elected = true;
        this.o.logger.info({ url: this.o.self.url }, 'elected leader');
        onElected().catch((err: unknown) => {
          this.o.logger.error({ err: toAgoraError(err).toJSON() }, 'cannot take over as leader; stepping down');
          this.defeated?.('takeover failed');
        });
      } else if (!leading && this.elected) {
        this.o.logger.warn('lost leadership');
        this.defeated?.('lost leadership');
      }
    });
    await this.detector.start();
    await this.contender.start();
  }

  /** Give up leadership (DELETE /v2/leader): withdraw from the election; `onDefeated` follows. */
  async abdicate(): Promise<void> {
    this.o.logger.info('abdicating');
    await this.contender.close();
    if (this.elected) this.defeated?.('abdicated');
  }

  async close(): Promise<void> {
    this.stopped = true;
    await this.contender.close().catch(() => {});
    await this.detector.close().catch(() => {});
  }
}
