/**
 * The framework lifecycle (Mesos docs/high-availability-framework-guide.md):
 *
 * - When a subscribed framework's connection breaks, the framework is disconnected (no offers; its tasks keep
 *   running) and its `failover_timeout` (seconds, default 0) starts. Re-subscribing with the same id before
 *   it expires cancels the timer and restores offers and updates. When it expires, the framework is torn
 *   down: its tasks are killed (ShutdownFramework to their agents), it moves to the completed frameworks.
 * - The timeout is not persisted: after a master failover a framework learned from agents waits for its
 *   scheduler indefinitely until it subscribes (Mesos MESOS-4659).
 * - TEARDOWN (scheduler call) and the operator's `/teardown` end a framework at once.
 */
import { AgoraError, type Clock, type Disposable, DisposableStore, type Logger } from '@agora/common';
import type { AgentManager } from '../agents/agent-manager.js';
import type { AllocationCycle } from '../allocation/allocation-cycle.js';
import type { FrameworkManager } from '../frameworks/framework-manager.js';
import type { OfferManager } from '../offers/offer-manager.js';
import type { TaskTracker } from '../tasks/task-tracker.js';

/** What the framework lifecycle works with (a slice of the master's parts). */
export interface FrameworkLifecycleParts {
  clock: Clock;
  logger: Logger;
  agents: AgentManager;
  frameworks: FrameworkManager;
  offers: OfferManager;
  tasks: TaskTracker;
  allocation: AllocationCycle;
}

export class FrameworkLifecycle implements Disposable {
  private readonly store = new DisposableStore();
  private readonly timers = new Map<string, Disposable>();

  constructor(private readonly parts: FrameworkLifecycleParts) {
    const { frameworks } = parts;
    this.store.add(
      frameworks.onDidDeactivateFramework((framework) => {
        // Torn down (no longer known) or recovered-only frameworks start no timer.
        if (frameworks.get(framework.id) !== framework || framework.connected) return;
        this.startFailoverTimer(framework.id, framework.info.failover_timeout ?? 0);
      }),
    );
    this.store.add(frameworks.onDidSubscribe(({ framework }) => this.cancel(framework.id)));
  }

  /** Frameworks whose failover timer runs (disconnected, not yet torn down). */
  get failingOver(): readonly string[] {
    return [...this.timers.keys()];
  }

  /** Tear a framework down now. Throws AGORA_ERR_NOT_SUBSCRIBED for a framework that is not known. */
  teardown(frameworkId: string, why: string): void {
    const { offers, tasks, agents, frameworks, logger, clock } = this.parts;
    if (frameworks.get(frameworkId) === undefined) {
      throw new AgoraError('AGORA_ERR_NOT_SUBSCRIBED', `framework ${frameworkId} is not known to this master`, {
        data: { frameworkId },
      });
    }
    this.cancel(frameworkId);
    for (const offer of offers.byFramework(frameworkId)) offers.remove(offer.id);
    offers.clearFilters(frameworkId);
    const removed = tasks.removeFramework(frameworkId, clock.now());
    const agentIds = new Set(removed.map((t) => t.agentId));
    for (const agentId of agentIds) {
      if (!agents.send(agentId, { shutdown_framework: { framework_id: { value: frameworkId } } })) {
        logger.warn({ frameworkId, agentId }, 'agent disconnected; framework shutdown sent on re-registration');
      }
    }
    frameworks.remove(frameworkId);
    logger.info({ frameworkId, why, tasks: removed.length }, 'framework torn down');
    this.parts.allocation.request();
  }

  dispose(): void {
    for (const timer of this.timers.values()) timer.dispose();
    this.timers.clear();
    this.store.dispose();
  }

  private startFailoverTimer(frameworkId: string, seconds: number): void {
    this.cancel(frameworkId);
    const ms = Math.max(0, Number.isFinite(seconds) ? seconds * 1000 : 0);
    this.parts.logger.info({ frameworkId, failoverTimeoutMs: ms }, 'framework disconnected; failover timer started');
    const timer = longTimeout(
      this.parts.clock,
      () => {
        this.timers.delete(frameworkId);
        const framework = this.parts.frameworks.get(frameworkId);
        if (framework === undefined || framework.connected) return;
        this.teardown(frameworkId, 'failover timeout expired');
      },
      ms,
    );
    this.timers.set(frameworkId, timer);
  }

  private cancel(frameworkId: string): void {
    this.timers.get(frameworkId)?.dispose();
    this.timers.delete(frameworkId);
  }
}

/** Node timers overflow above 2^31-1 ms (~24.8 days) and fire at once; Marathon's default is a week. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A timeout of any length: chained timers of at most MAX_TIMER_MS. */
export function longTimeout(clock: Clock, fn: () => void, ms: number): Disposable {
  let current: Disposable;
  const arm = (left: number): void => {
    const step = Math.min(left, MAX_TIMER_MS);
    current = clock.setTimeout(() => {
      if (left > step) arm(left - step);
      else fn();
    }, step);
  };
  arm(ms);
  return { dispose: () => current.dispose() };
}
