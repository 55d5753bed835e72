/**
 * Finds where the leading master may be. A static locator returns the
 * configured addresses (a standby among them answers with a 307, which the
 * driver follows); a ZooKeeper locator watches the masters' `json.info_*`
 * group and returns the leader's address from its MasterInfo JSON.
 */
import { AgoraError, Emitter, type Event, type Logger } from '@agora/common';
import { createDetector, type LeaderDetector, parseZkUrl, redactZkUrl } from '@agora/coordination';
import { addressFromMasterInfo, type MasterTarget } from './master-address.js';

export interface LeaderLocator {
  /** Addresses (`host:port`) to try now, in order. Rejects when none is known in time. */
  locate(): Promise<string[]>;
  /** Fires when the leader moved (ZooKeeper only) with its new address, or undefined while there is none. */
  readonly onDidChangeLeader: Event<string | undefined>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface LeaderLocatorOptions {
  /** Bound on one wait for a leader in ZooKeeper, ms. */
  leaderWaitMs: number;
  logger: Logger;
}

export function createLeaderLocator(target: MasterTarget, options: LeaderLocatorOptions): LeaderLocator {
  return target.kind === 'static'
    ? new StaticLeaderLocator(target.addresses)
    : new ZooKeeperLeaderLocator(target.url, options);
}

class StaticLeaderLocator implements LeaderLocator {
  private readonly changed = new Emitter<string | undefined>();
  readonly onDidChangeLeader = this.changed.event;

  constructor(private readonly addresses: readonly string[]) {}

  async locate(): Promise<string[]> {
    return [...this.addresses];
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {
    this.changed.dispose();
  }
}

/**
 * Watches the masters' election in ZooKeeper. The detector is made on first
 * use and made again after it failed to start (ZooKeeper unreachable), so
 * the driver's retries also retry ZooKeeper.
 */
class ZooKeeperLeaderLocator implements LeaderLocator {
  private readonly changed = new Emitter<string | undefined>();
  readonly onDidChangeLeader = this.changed.event;
  private detector: { instance: LeaderDetector<unknown>; ready: Promise<void> } | undefined;
  private last: string | undefined;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly options: LeaderLocatorOptions,
  ) {
    try {
      parseZkUrl(url); // a bad URL fails at construction, not at the first attempt
    } catch (err) {
      throw new AgoraError('AGORA_ERR_BAD_REQUEST', `bad master '${redactZkUrl(url)}': ${(err as Error).message}`, {
        cause: err,
        data: { option: 'master' },
      });
    }
  }

  async locate(): Promise<string[]> {
    const detector = await this.ready();
    const info = await detector.waitForLeader(this.options.leaderWaitMs);
    const address = addressFromMasterInfo(info);
    if (address === undefined) {
      throw new AgoraError(
        'AGORA_ERR_NO_LEADER',
        `the leading master in ${redactZkUrl(this.url)} published no usable address`,
        {
          data: { info },
        },
      );
    }
    return [address];
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
    const detector = this.detector;
    this.detector = undefined;
    this.changed.dispose();
    await detector?.instance.close();
  }

  private async ready(): Promise<LeaderDetector<unknown>> {
    if (this.closed) throw new AgoraError('AGORA_ERR_CLOSED', 'leader detection is closed');
    if (this.detector === undefined) {
      const instance = createDetector<unknown>(this.url, {
        logger: this.options.logger,
        startTimeoutMs: this.options.leaderWaitMs,
      });
      instance.onDidChangeLeader((info) => this.leaderChanged(info));
      this.detector = { instance, ready: instance.start() };
    }
    const current = this.detector;
    try {
      await current.ready;
    } catch (err) {
      // A detector that failed to start has closed itself; the next attempt makes a new one.
      if (this.detector === current) this.detector = undefined;
      throw err;
    }
    return current.instance;
  }

  private leaderChanged(info: unknown): void {
    const address = info === undefined ? undefined : addressFromMasterInfo(info);
    if (info !== undefined && address === undefined) {
      this.options.logger.warn({ info }, 'leading master published no usable address');
    }
    if (address === this.last || this.closed) return;
    this.last = address;
    this.changed.fire(address);
  }
}
