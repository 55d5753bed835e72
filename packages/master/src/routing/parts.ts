/**
 * The components a master is built from, as the routing code sees them, and
 * the one function that builds them. master.ts owns their lifetimes; the
 * routers move messages between them.
 */
import type { Clock, IdGenerator, Logger } from '@agora/common';
import type { MasterInfo } from '@agora/proto';
import { AgentManager } from '../agents/agent-manager.js';
import { AllocationCycle } from '../allocation/allocation-cycle.js';
import { clusterTotalOf, QuotaService } from '../quota/index.js';
import { registryQuotaStore } from '../registry/config-store.js';
import { ReservationLedger } from '../reservations/ledger.js';
import type { ResolvedMasterConfig } from '../config.js';
import { FrameworkManager } from '../frameworks/framework-manager.js';
import { OfferManager } from '../offers/offer-manager.js';
import { Registrar } from '../registry/registrar.js';
import { createRegistryStorage } from '../registry/storage.js';
import { PendingKills } from '../tasks/pending-kills.js';
import { TaskTracker } from '../tasks/task-tracker.js';
import { Maintenance } from '../maintenance/maintenance.js';
import { AgentLifecycle } from './agent-lifecycle.js';
import { FrameworkLifecycle } from './framework-lifecycle.js';

export interface MasterParts {
  config: ResolvedMasterConfig;
  clock: Clock;
  logger: Logger;
  /** The only writer of the registry (recovered on election). */
  registrar: Registrar;
  /** Unreachable / gone agents, the re-register window after a failover. */
  agentLifecycle: AgentLifecycle;
  /** Failover timeouts and teardown of frameworks. */
  frameworkLifecycle: FrameworkLifecycle;
  /** Maintenance schedule, machine modes and inverse offers. */
  maintenance: Maintenance;
  agents: AgentManager;
  frameworks: FrameworkManager;
  offers: OfferManager;
  tasks: TaskTracker;
  pendingKills: PendingKills;
  allocation: AllocationCycle;
  /** Quota and role weights (stored in the registry). */
  quota: QuotaService;
  /** Dynamic reservations (RESERVE / UNRESERVE, /reserve, /unreserve). */
  reservations: ReservationLedger;
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
  const reservations = new ReservationLedger(agents, child('reservations'));
  // Before any other listener: a re-registered agent gets its dynamic reservations back at once.
  agents.onDidAddAgent(({ agent }) => reservations.reapply(agent));
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
    reservations,
    allocateOptions: {
      filterGpuResources: config.filterGpuResources,
      fairSharingExcludedResourceNames: config.fairSharingExcludedResourceNames,
    },
    // Maintenance is created below; the cycle only runs after.
    unavailabilityOf: (agent) => parts.maintenance.unavailabilityOf(agent),
    // Weights and quota from the registry (quota is created below; the cycle only runs after).
    roleConfig: () => ({ weights: quota.weights(), quota: quota.forAllocator() }),
  });
  const registrar = new Registrar(
    createRegistryStorage({
      zk: config.zk,
      workDir: config.workDir,
      sessionTimeoutMs: config.zkSessionTimeoutMs,
      logger: child('registry'),
    }),
    child('registrar'),
    () => clock.now(),
  );
  const quota = new QuotaService(registryQuotaStore(registrar), () => clusterTotalOf({ agents }));
  const parts: MasterParts = {
    config,
    clock,
    logger: o.logger,
    registrar,
    quota,
    reservations,
    // Set right below (they need the parts).
    agentLifecycle: undefined as unknown as AgentLifecycle,
    frameworkLifecycle: undefined as unknown as FrameworkLifecycle,
    maintenance: undefined as unknown as Maintenance,
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
  parts.agentLifecycle = new AgentLifecycle(parts);
  parts.frameworkLifecycle = new FrameworkLifecycle(parts);
  parts.maintenance = new Maintenance({
    ...parts,
    logger: child('maintenance'),
    removeAgentForMaintenance: (agentId) => parts.agentLifecycle.removeForMaintenance(agentId),
    intervalMs: config.allocationIntervalMs,
  });
  return parts;
}
