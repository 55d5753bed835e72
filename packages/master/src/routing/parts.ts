/**
 * The components a master is built from, as the routing code sees them, and
 * the one function that builds them. master.ts owns their lifetimes; the
 * routers move messages between them.
 */
import type { Clock, IdGenerator, Logger } from '@agora/common';
import type { MasterInfo } from '@agora/proto';
import { AgentManager } from '../agents/agent-manager.js';
import { AllocationCycle } from '../allocation/allocation-cycle.js';
import type { ResolvedMasterConfig } from '../config.js';
import { FrameworkManager } from '../frameworks/framework-manager.js';
import { OfferManager } from '../offers/offer-manager.js';
import { PendingKills } from '../tasks/pending-kills.js';
import { TaskTracker } from '../tasks/task-tracker.js';

export interface MasterParts {
  clock: Clock;
  logger: Logger;
  agents: AgentManager;
  frameworks: FrameworkManager;
  offers: OfferManager;
  tasks: TaskTracker;
  pendingKills: PendingKills;
  allocation: AllocationCycle;
  masterInfo(): MasterInfo;
  /** Whether agents may still be re-registering after this master's election (see reconciliation.ts). */
  inReregistrationWindow(): boolean;
}

export interface MasterPartsOptions {
  config: ResolvedMasterConfig;
  clock: Clock;
  logger: Logger;
  ids: IdGenerator;
  random?: () => number;
  masterInfo(): MasterInfo;
  /** When this master was elected (ms epoch), if it was. */
  electedTime(): number | undefined;
}

export function createMasterParts(o: MasterPartsOptions): MasterParts {
  const { config, clock, ids } = o;
  const child = (component: string) => o.logger.child({ component: `master.${component}` });
  const agents = new AgentManager({
    clock,
    logger: child('agents'),
    ids,
    pingIntervalMs: config.agentPingTimeoutMs,
    maxPingTimeouts: config.maxAgentPingTimeouts,
  });
  const frameworks = new FrameworkManager({
    clock,
    logger: child('frameworks'),
    ids,
    heartbeatIntervalSeconds: config.heartbeatIntervalSeconds,
    masterInfo: o.masterInfo,
  });
  const offers = new OfferManager({ clock, logger: child('offers'), ids, offerTimeoutMs: config.offerTimeoutMs });
  const tasks = new TaskTracker(child('tasks'));
  const allocation = new AllocationCycle({
    clock,
    logger: child('allocation'),
    intervalMs: config.allocationIntervalMs,
    agents,
    frameworks,
    offers,
    tasks,
    ...(o.random === undefined ? {} : { random: o.random }),
  });
  return {
    clock,
    logger: o.logger,
    agents,
    frameworks,
    offers,
    tasks,
    pendingKills: new PendingKills(),
    allocation,
    masterInfo: o.masterInfo,
    inReregistrationWindow: () => {
      const elected = o.electedTime();
      return elected !== undefined && clock.now() - elected < config.agentReregisterTimeoutMs;
    },
  };
}
