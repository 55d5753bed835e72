/**
 * The master's read-only views, built from its parts: the cached `/state`
 * family (StateSnapshot), `/metrics/snapshot` and `/flags`. Pure reads; the
 * daemon (master.ts) hands them to the HTTP app.
 */
import type { Clock } from '@agora/common';
import type { MasterInfo } from '@agora/proto';
import type { ResolvedMasterConfig } from '../config.js';
import type { MasterParts } from '../routing/parts.js';
import { masterFlags } from './flags.js';
import { metricsSnapshot } from './metrics.js';
import { StateSnapshot } from './state-snapshot.js';

export interface ViewSources {
  parts: MasterParts;
  config: ResolvedMasterConfig;
  clock: Clock;
  startTime: number;
  info(): MasterInfo;
  leader(): MasterInfo | undefined;
  electedTime(): number | undefined;
  /** Serving as the leader (`master/elected`). */
  elected(): boolean;
  boundPort(): number;
  /** The ZooKeeper URL with credentials removed, if any. */
  redactedZk(): string | undefined;
}

export class MasterViews {
  readonly snapshot: StateSnapshot;

  constructor(private readonly s: ViewSources) {
    const { agents, frameworks, tasks, offers } = s.parts;
    this.snapshot = new StateSnapshot({
      info: s.info,
      leader: s.leader,
      startTime: s.startTime,
      electedTime: s.electedTime,
      flags: () => this.flags(),
      agents: () => agents.all(),
      frameworks: () => frameworks.all(),
      completedFrameworks: () => frameworks.completed(),
      tasks: () => tasks.all(),
      unreachableTasks: () => tasks.allUnreachable(),
      completedTasksOf: (id) => tasks.completed(id),
      offers: () => offers.all(),
      unreachableAgents: () => this.unreachableAgents(),
    });
  }

  flags(): Record<string, string> {
    return masterFlags(this.s.config, this.s.boundPort(), this.s.info().hostname ?? '', this.s.redactedZk());
  }

  metrics(): Record<string, number> {
    const { agents, frameworks, tasks, offers, registrar, allocation } = this.s.parts;
    const snapshot = metricsSnapshot({
      elected: this.s.elected(),
      startTime: this.s.startTime,
      now: this.s.clock.now(),
      agents: agents.all(),
      unreachableAgents: this.unreachableAgents(),
      frameworks: frameworks.all(),
      completedFrameworks: frameworks.completed().length,
      tasks: tasks.all(),
      unreachableTasks: tasks.allUnreachable().length,
      ended: tasks.endedCounts(),
      offers: offers.all(),
      registrar: registrar.metrics,
    });
    return { ...snapshot, ...allocation.metrics() };
  }

  private unreachableAgents(): number {
    const { registrar } = this.s.parts;
    return registrar.isRecovered ? registrar.registry.unreachable.length : 0;
  }
}
