/**
 * Reliable status updates (Mesos' `task_status_update_manager.cpp`).
 *
 * Every update gets a uuid, a source and a timestamp, and joins its task's
 * stream. Per task, only the head of the stream is forwarded to the master;
 * the next one goes out only after the head is acknowledged. An unacked head
 * is resent every 10 s, doubling up to 10 min, and at once when the agent
 * (re)registers (`resume`). While the agent is not registered the manager is
 * paused: updates queue up and nothing is sent. A stream ends when its
 * terminal update is acknowledged. Duplicate updates (a uuid already seen) and
 * stale or duplicate acknowledgements are ignored.
 */
import {
  type Clock,
  type Disposable,
  Emitter,
  type Logger,
  silentLogger,
  systemClock,
  uuidBytes,
  uuidToString,
} from '@agora/common';
import { type agora, isTerminalState, TaskState, TaskStatusSource } from '@agora/proto';

/** @default 10 s, Mesos' STATUS_UPDATE_RETRY_INTERVAL_MIN */
export const STATUS_UPDATE_RETRY_INTERVAL_MIN_MS = 10_000;
/** @default 10 min, Mesos' STATUS_UPDATE_RETRY_INTERVAL_MAX */
export const STATUS_UPDATE_RETRY_INTERVAL_MAX_MS = 600_000;

export type StatusUpdateMessage = agora.v1.agent.AgentToMaster.StatusUpdate.$Properties;

export interface StatusUpdateManagerOptions {
  /** Forward one update to the master; false when it could not be sent. */
  send: (update: StatusUpdateMessage) => boolean;
  /** The task's latest state, sent along with every update (`latest_state`). */
  latestState?: (taskId: string) => TaskState | undefined;
  clock?: Clock;
  logger?: Logger;
  /** @default STATUS_UPDATE_RETRY_INTERVAL_MIN_MS */
  retryIntervalMinMs?: number;
  /** @default STATUS_UPDATE_RETRY_INTERVAL_MAX_MS */
  retryIntervalMaxMs?: number;
}

/** What an acknowledgement did. */
export type AckOutcome = 'acknowledged' | 'duplicate' | 'unexpected' | 'unknown_task';

/** A stream whose terminal update was acknowledged. */
export interface StreamEnded {
  frameworkId: string;
  taskId: string;
  status: agora.v1.TaskStatus.$Properties;
}

interface Stream {
  frameworkId: string;
  taskId: string;
  pending: agora.v1.TaskStatus.$Properties[];
  /** Hex uuids of updates already acknowledged, for duplicate detection. */
  acked: Set<string>;
  /** A terminal update has been queued: later updates are dropped. */
  terminal: boolean;
  retryMs: number;
  timer: Disposable | undefined;
}

/** Whether the agent stops tracking a task after this state (Mesos counts TASK_LOST as terminal). */
function endsStream(state: TaskState): boolean {
  return isTerminalState(state) || state === TaskState.TASK_LOST;
}

function uuidKey(uuid: Uint8Array | null | undefined): string {
  return uuid === null || uuid === undefined ? '' : Buffer.from(uuid).toString('hex');
}

export class StatusUpdateManager implements Disposable {
  private readonly streams = new Map<string, Stream>();
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly minMs: number;
  private readonly maxMs: number;
  private isPaused = true;
  private disposed = false;
  private readonly streamEnded = new Emitter<StreamEnded>();
  /** Fires when a task's terminal update has been acknowledged and its stream is gone. */
  readonly onDidEndStream = this.streamEnded.event;

  constructor(private readonly options: StatusUpdateManagerOptions) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger();
    this.minMs = options.retryIntervalMinMs ?? STATUS_UPDATE_RETRY_INTERVAL_MIN_MS;
    this.maxMs = options.retryIntervalMaxMs ?? STATUS_UPDATE_RETRY_INTERVAL_MAX_MS;
  }

  /**
   * Queue an update for delivery. Stamps a uuid, source (SOURCE_EXECUTOR unless
   * given) and timestamp (seconds) when missing. Returns the stamped status, or
   * undefined when it was dropped (duplicate uuid, or the task's stream already
   * has a terminal update).
   */
  update(frameworkId: string, status: agora.v1.TaskStatus.$Properties): agora.v1.TaskStatus.$Properties | undefined {
    const taskId = status.task_id.value;
    let stream = this.streams.get(taskId);
    const key = uuidKey(status.uuid);
    if (stream !== undefined) {
      const seen = key !== '' && (stream.acked.has(key) || stream.pending.some((s) => uuidKey(s.uuid) === key));
      if (seen) {
        this.logger.debug({ taskId, uuid: key }, 'duplicate status update ignored');
        return undefined;
      }
      if (stream.terminal) {
        this.logger.warn({ taskId, state: status.state }, 'status update after a terminal update ignored');
        return undefined;
      }
    } else {
      stream = {
        frameworkId,
        taskId,
        pending: [],
        acked: new Set(),
        terminal: false,
        retryMs: this.minMs,
        timer: undefined,
      };
      this.streams.set(taskId, stream);
    }
    const stamped: agora.v1.TaskStatus.$Properties = {
      ...status,
      uuid: status.uuid ?? uuidBytes(),
      source: status.source ?? TaskStatusSource.SOURCE_EXECUTOR,
      timestamp: status.timestamp ?? this.clock.now() / 1000,
    };
    stream.pending.push(stamped);
    if (endsStream(stamped.state)) stream.terminal = true;
    if (stream.pending.length === 1) this.forwardHead(stream, this.minMs);
    return stamped;
  }

  /** The master acknowledged the update `uuid` of `taskId`. */
  acknowledge(taskId: string, uuid: Uint8Array): AckOutcome {
    const stream = this.streams.get(taskId);
    if (stream === undefined) {
      this.logger.debug({ taskId, uuid: uuidToString(uuid) }, 'acknowledgement for an unknown task stream ignored');
      return 'unknown_task';
    }
    const key = uuidKey(uuid);
    const head = stream.pending[0];
    if (head === undefined || uuidKey(head.uuid) !== key) {
      const outcome = stream.acked.has(key) ? 'duplicate' : 'unexpected';
      this.logger.debug({ taskId, uuid: uuidToString(uuid), outcome }, 'acknowledgement ignored');
      return outcome;
    }
    stream.pending.shift();
    stream.acked.add(key);
    stream.timer?.dispose();
    stream.timer = undefined;
    if (stream.pending.length > 0) {
      this.forwardHead(stream, this.minMs);
    } else if (stream.terminal) {
      this.streams.delete(taskId);
      this.streamEnded.fire({ frameworkId: stream.frameworkId, taskId, status: head });
    }
    return 'acknowledged';
  }

  /** Stop sending (the agent lost its master). Queued updates are kept. */
  pause(): void {
    this.isPaused = true;
    for (const stream of this.streams.values()) {
      stream.timer?.dispose();
      stream.timer = undefined;
    }
  }

  /** Send every stream's head now (the agent has (re)registered), then retry as usual. */
  resume(): void {
    this.isPaused = false;
    for (const stream of this.streams.values()) {
      stream.timer?.dispose();
      stream.timer = undefined;
      if (stream.pending.length > 0) this.forwardHead(stream, this.minMs);
    }
  }

  get paused(): boolean {
    return this.isPaused;
  }

  /** The task's unacknowledged updates, oldest first. */
  pending(taskId: string): readonly agora.v1.TaskStatus.$Properties[] {
    return this.streams.get(taskId)?.pending ?? [];
  }

  /** Whether the task has updates waiting for acknowledgement. */
  hasPending(taskId: string): boolean {
    return this.pending(taskId).length > 0;
  }

  /** Task ids with an open stream. */
  taskIds(): string[] {
    return [...this.streams.keys()];
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pause();
    this.streamEnded.dispose();
  }

  private forwardHead(stream: Stream, retryMs: number): void {
    if (this.isPaused || this.disposed) return;
    const head = stream.pending[0];
    if (head === undefined) return;
    const message: StatusUpdateMessage = { framework_id: { value: stream.frameworkId }, status: head };
    const latest = this.options.latestState?.(stream.taskId);
    if (latest !== undefined) message.latest_state = latest;
    const sent = this.options.send(message);
    this.logger.debug(
      { taskId: stream.taskId, state: head.state, uuid: uuidToString(head.uuid ?? new Uint8Array()), sent, retryMs },
      'status update forwarded',
    );
    stream.retryMs = retryMs;
    stream.timer?.dispose();
    stream.timer = this.clock.setTimeout(() => {
      stream.timer = undefined;
      this.forwardHead(stream, Math.min(stream.retryMs * 2, this.maxMs));
    }, retryMs);
  }
}
