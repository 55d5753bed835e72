/**
 * The Registrar (Mesos src/master/registrar.cpp): the only writer of the
 * registry. Callers queue pure operations (operations.ts); the registrar
 * applies every queued operation to a copy of the registry and stores the
 * result once, with the version it read (compare-and-set), then settles all
 * the waiters of the batch. Operations queued while a store is in flight form
 * the next batch. A batch that changes nothing is not stored.
 *
 * A failed or conflicting store is fatal: the registrar stops accepting
 * operations and fires `onDidFail`; the master gives up leadership rather than
 * continue on a registry it can no longer trust (another master may have
 * written since). `recover()` reads the registry on election and stores it
 * back with this master's info, which also fences off the previous leader (its
 * next write conflicts).
 */
import { AgoraError, Emitter, type Logger, toAgoraError } from '@agora/common';
import type { MasterInfo } from '@agora/proto';
import {
  copyRegistry,
  decodeRegistry,
  emptyRegistry,
  encodeRegistry,
  MASTER_REGISTRY_CAPABILITIES,
  missingCapabilities,
  type Registry,
  type RegistryOperation,
  setMaster,
} from './operations.js';
import type { RegistryStorage } from './storage.js';

interface Pending {
  operation: RegistryOperation;
  resolve(changed: boolean): void;
  reject(err: Error): void;
}

export interface RegistrarMetrics {
  /** Stores done. */
  stores: number;
  /** Operations applied. */
  operations: number;
  /** Duration of the last store (ms). */
  lastStoreMs: number;
}

export class Registrar {
  private current: Registry | undefined;
  private version = -1;
  private queue: Pending[] = [];
  private writing = false;
  private scheduled = false;
  private failure: AgoraError | undefined;
  private readonly failed = new Emitter<AgoraError>();
  readonly metrics: RegistrarMetrics = { stores: 0, operations: 0, lastStoreMs: 0 };

  /** A store failed or conflicted (fires once): the registry can no longer be trusted. */
  readonly onDidFail = this.failed.event;

  constructor(
    private readonly storage: RegistryStorage,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
    /** The registry capabilities this master has (a registry requiring another one is not recovered). */
    private readonly capabilities: readonly string[] = MASTER_REGISTRY_CAPABILITIES,
  ) {}

  /** Whether `recover()` has completed. */
  get isRecovered(): boolean {
    return this.current !== undefined;
  }

  /** The registry as last stored (do not modify; queue operations instead). */
  get registry(): Registry {
    if (this.current === undefined) throw new AgoraError('AGORA_ERR_REGISTRY', 'the registry is not recovered yet');
    return this.current;
  }

  /** Where it is stored (znode path, file path or "memory"). */
  get location(): string {
    return this.storage.path;
  }

  /**
   * Read the registry and store it back with `master` as the leader. Returns the recovered registry (as it was
   * before this master's write). Throws AGORA_ERR_REGISTRY (and fires onDidFail) when it cannot.
   */
  async recover(master: MasterInfo): Promise<Registry> {
    try {
      const { data, version } = await this.storage.fetch();
      const registry = data === undefined || data.length === 0 ? emptyRegistry() : decodeRegistry(data);
      const missing = missingCapabilities(registry, this.capabilities);
      if (missing.length > 0) {
        // Written by a master with more capabilities (a downgrade): do not read, and do not write, it.
        throw new AgoraError(
          'AGORA_ERR_REGISTRY',
          `the registry at ${this.storage.path} requires master capabilities this master lacks: ` +
            `${missing.join(', ')} (it has: ${this.capabilities.join(', ') || 'none'}); refusing to recover it — ` +
            'run a master version that has them',
          { data: { missingCapabilities: missing } },
        );
      }
      const recovered = copyRegistry(registry);
      setMaster(master)(registry);
      const started = this.now();
      this.version = await this.storage.store(encodeRegistry(registry), version);
      this.metrics.lastStoreMs = this.now() - started;
      this.metrics.stores++;
      this.current = registry;
      this.logger.info(
        {
          location: this.storage.path,
          version: this.version,
          agents: registry.agents.length,
          unreachable: registry.unreachable.length,
          gone: registry.gone.length,
        },
        'registry recovered',
      );
      return recovered;
    } catch (err) {
      throw this.fail(err);
    }
  }

  /**
   * Queue an operation; resolves with whether it changed the registry once the batch holding it is stored.
   * Rejects with the operation's own error (nothing changed), or AGORA_ERR_REGISTRY once the registrar failed.
   */
  apply(operation: RegistryOperation): Promise<boolean> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.current === undefined) {
      return Promise.reject(new AgoraError('AGORA_ERR_REGISTRY', 'the registry is not recovered yet'));
    }
    return new Promise<boolean>((resolve, reject) => {
      this.queue.push({ operation, resolve, reject });
      this.schedule();
    });
  }

  async close(): Promise<void> {
    const closed = new AgoraError('AGORA_ERR_CLOSED', 'the registrar is closed');
    this.failure ??= closed;
    for (const p of this.queue.splice(0)) p.reject(closed);
    this.failed.dispose();
    await this.storage.close().catch((err) => this.logger.warn({ err }, 'closing the registry storage failed'));
  }

  private schedule(): void {
    if (this.writing || this.scheduled) return;
    this.scheduled = true;
    // Let the operations queued in this turn of the event loop join the batch.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.writing || this.queue.length === 0 || this.current === undefined) return;
    if (this.failure !== undefined) {
      for (const p of this.queue.splice(0)) p.reject(this.failure);
      return;
    }
    const batch = this.queue.splice(0);
    const next = copyRegistry(this.current);
    const outcomes: Array<{ pending: Pending; changed: boolean } | { pending: Pending; error: Error }> = [];
    let changed = false;
    for (const pending of batch) {
      try {
        const c = pending.operation(next);
        changed ||= c;
        outcomes.push({ pending, changed: c });
      } catch (err) {
        outcomes.push({ pending, error: toAgoraError(err) });
      }
    }
    this.metrics.operations += batch.length;
    if (changed) {
      this.writing = true;
      const started = this.now();
      try {
        this.version = await this.storage.store(encodeRegistry(next), this.version);
        this.metrics.stores++;
        this.metrics.lastStoreMs = this.now() - started;
        this.current = next;
      } catch (err) {
        const failure = this.fail(err);
        for (const { pending } of outcomes) pending.reject(failure);
        return;
      } finally {
        this.writing = false;
      }
    }
    for (const outcome of outcomes) {
      if ('error' in outcome) outcome.pending.reject(outcome.error);
      else outcome.pending.resolve(outcome.changed);
    }
    if (this.queue.length > 0) this.schedule();
  }

  private fail(err: unknown): AgoraError {
    if (this.failure !== undefined) return this.failure;
    const cause = toAgoraError(err);
    const failure =
      cause.code === 'AGORA_ERR_REGISTRY'
        ? cause
        : new AgoraError('AGORA_ERR_REGISTRY', `registry store at ${this.storage.path} failed: ${cause.message}`, {
            cause,
            data: { conflict: (cause.data as { conflict?: unknown } | undefined)?.conflict === true },
          });
    this.failure = failure;
    this.logger.error({ err: failure, location: this.storage.path }, 'registry store failed; giving up leadership');
    for (const p of this.queue.splice(0)) p.reject(failure);
    this.failed.fire(failure);
    return failure;
  }
}
