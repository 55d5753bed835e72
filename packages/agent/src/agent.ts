/**
 * The agent daemon: wiring only. It resolves its resources and attributes,
 * serves HTTP, and connects the master link, the task manager and the status
 * update manager:
 *
 * ```
 *  detector ─▶ MasterLink ──RunTask/KillTask──▶ TaskManager ──▶ CommandExecutor ──▶ IsolatingContainerizer
 *                 ▲   │ ack                          │ status                       (cgroups, pid namespace)
 *                 │   └───────────▶ StatusUpdateManager ◀┘
 *                 └──── StatusUpdate (head of each task's stream, retried) ────┘
 * ```
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { hostname as osHostname } from 'node:os';
import { type Clock, createLogger, type Logger, Resources, systemClock } from '@agora/common';
import type { LeaderDetector } from '@agora/coordination';
import type { agora } from '@agora/proto';
import { type AgentHttpServer, startAgentHttpServer } from './api/http-server.js';
import { agentStateJson } from './api/state.js';
import { type AgentConfig, DEFAULT_AGENT_CONFIG, validateAgentConfig } from './config.js';
import type { Containerizer } from './containerizer/containerizer.js';
import { ProcessContainerizer } from './containerizer/process.js';
import { Checkpointer } from './checkpoint/checkpoint.js';
import { recoverAgent } from './checkpoint/recovery.js';
import { IsolatingContainerizer } from './containerizer/isolating.js';
import { detectHostIsolation, type HostIsolation, type IsolationPlan, planIsolation } from './isolation/isolation.js';
import { readBootId } from './monitor/proc.js';
import { mountMonitorRoutes } from './monitor/statistics.js';
import { UsageReporter } from './monitor/usage-report.js';
import { ExecutorManager } from './custom-executor/executor-manager.js';
import { Fetcher } from './fetcher/fetcher.js';
import { mountFilesRoutes } from './files/files-routes.js';
import { SandboxGc } from './gc/sandbox-gc.js';
import { createLeaderDetector, parseEndpoint } from './master-link/leader.js';
import { MasterLink, type Registration } from './master-link/master-link.js';
import { type DomainInfo, parseDomainFlag } from './resources/domain.js';
import { detectHostFacts, type HostFacts, resolveAgentAttributes, resolveAgentResources } from './resources/detect.js';
import { StatusUpdateManager } from './status-updates/status-update-manager.js';
import { TaskManager } from './tasks/task-manager.js';
import { PersistentVolumes } from './volumes/persistent-volumes.js';

/** The version the agent reports to the master and in `/state`. */
export const AGENT_VERSION = '0.1.0';

export interface AgentDeps {
  /** @default systemClock */
  clock?: Clock;
  logger?: Logger;
  /** Who leads; by default built from `config.master` (fixed, or ZooKeeper for `zk://`). */
  detector?: LeaderDetector<unknown>;
  /** How tasks run. @default IsolatingContainerizer with the isolators of `config.isolation` */
  containerizer?: Containerizer;
  /** What the host can isolate. @default detected (cgroups v2/v1, pid namespace) */
  hostIsolation?: HostIsolation;
  /** The host's boot id. @default /proc/sys/kernel/random/boot_id */
  bootId?: string;
  /** Host facts for resource detection. @default read from the host */
  hostFacts?: HostFacts;
}

export interface Agent {
  /** Validate the config, listen, and start connecting to the master. Resolves once listening (not when registered). */
  start(): Promise<void>;
  /** Stop. killTasks=true kills every task's process group and waits; false leaves tasks running. */
  close(opts?: { killTasks?: boolean }): Promise<void>;
  /** The HTTP port (the real one once started). */
  readonly port: number;
  /** `http://host:port`. */
  readonly url: string;
  /** Set once the master has registered this agent. */
  readonly agentId: string | undefined;
  /** The agent's total resources (after start). */
  readonly resources: Resources | undefined;
}

export function createAgent(config: AgentConfig, deps: AgentDeps = {}): Agent {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? createLogger({ component: 'agent' });
  const host = config.host ?? DEFAULT_AGENT_CONFIG.host;
  const hostname = config.hostname ?? osHostname();
  const startTime = clock.now() / 1000;

  let port = config.port;
  let agentId: string | undefined;
  let masterHostname: string | undefined;
  let resources: Resources | undefined;
  let attributes: agora.v1.Attribute.$Properties[] = [];
  let domain: DomainInfo | undefined;
  let http: AgentHttpServer | undefined;
  let link: MasterLink | undefined;
  let updates: StatusUpdateManager | undefined;
  let tasks: TaskManager | undefined;
  let isolation: IsolationPlan | undefined;
  let checkpointer: Checkpointer | undefined;
  const bootId = deps.bootId ?? readBootId();
  let gc: SandboxGc | undefined;
  let executors: ExecutorManager | undefined;
  let usageReporter: UsageReporter | undefined;
  /** Checkpointed reservations and persistent volumes (volumes/persistent-volumes.ts). */
  let volumes: PersistentVolumes | undefined;
  let started = false;
  let closing: Promise<void> | undefined;

  const endpointHost = host === '0.0.0.0' || host === '::' ? hostname : host;
  const agentEndpoint = () => `${endpointHost}:${port}`;

  function registration(): agora.v1.agent.AgentToMaster.$Properties {
    const agentInfo: agora.v1.AgentInfo.$Properties = {
      hostname,
      port,
      resources: resources?.toProto() ?? [],
      attributes,
    };
    if (domain !== undefined) agentInfo.domain = domain;
    if (agentId === undefined || tasks === undefined) {
      return {
        register: {
          agent_info: agentInfo,
          version: AGENT_VERSION,
          checkpointed_resources: volumes?.checkpointed() ?? [],
        },
      };
    }
    agentInfo.id = { value: agentId };
    return {
      reregister: {
        agent_info: agentInfo,
        tasks: tasks.tasksForReregistration(agentId),
        frameworks: tasks.frameworksForReregistration(),
        version: AGENT_VERSION,
        checkpointed_resources: volumes?.checkpointed() ?? [],
      },
    };
  }

  function onRegistered(reg: Registration): void {
    if (agentId !== undefined && agentId !== reg.agentId) {
      logger.warn({ previous: agentId, agentId: reg.agentId }, 'the master gave this agent a new id');
    }
    agentId = reg.agentId;
    try {
      checkpointer?.writeAgent({ agentId: reg.agentId, bootId });
    } catch (err) {
      logger.error({ err }, 'cannot checkpoint the agent id');
    }
    masterHostname = reg.masterInfo?.hostname ?? parseEndpoint(reg.master)?.host;
    updates?.resume();
  }

  function onMessage(message: agora.v1.agent.MasterToAgent): void {
    if (tasks === undefined || updates === undefined) return;
    if (message.run_task) {
      tasks.runTask(message.run_task.framework, message.run_task.task);
    } else if (message.kill_task) {
      const kill = message.kill_task;
      tasks.killTask(kill.framework_id.value, kill.task_id.value, kill.kill_policy);
    } else if (message.ack) {
      updates.acknowledge(message.ack.task_id.value, message.ack.uuid);
      tasks.persistTask(message.ack.task_id.value);
    } else if (message.shutdown_framework) {
      tasks.shutdownFramework(message.shutdown_framework.framework_id.value);
      void executors?.shutdownFramework(message.shutdown_framework.framework_id.value);
    } else if (message.checkpoint_resources) {
      try {
        volumes?.apply(message.checkpoint_resources.resources);
      } catch (err) {
        logger.error({ err }, 'cannot checkpoint the resources the master sent');
      }
    } else if (message.framework_message) {
      const m = message.framework_message;
      executors?.frameworkMessage(m.framework_id.value, m.executor_id.value, m.data);
    }
  }

  async function start(): Promise<void> {
    if (started) return;
    // Everything that can be wrong with the config fails here, before any side effect.
    validateAgentConfig(config);
    // An unknown isolator, or one the host cannot provide, stops the agent here.
    if (deps.containerizer === undefined) {
      isolation = planIsolation(
        config.isolation,
        deps.hostIsolation ??
          detectHostIsolation({
            cgroupsRoot: config.cgroupsRoot ?? DEFAULT_AGENT_CONFIG.cgroupsRoot,
            cgroupsVersion: config.cgroupsVersion ?? 'auto',
          }),
      );
    }
    const detector = deps.detector ?? createLeaderDetector(config.master, logger);
    resources = resolveAgentResources(config.resources, deps.hostFacts ?? detectHostFacts(config.workDir));
    attributes = resolveAgentAttributes(config.attributes);
    domain = config.domain === undefined ? undefined : parseDomainFlag(config.domain);
    started = true;
    try {
      mkdirSync(config.workDir, { recursive: true });
      http = await startAgentHttpServer({
        host,
        port: config.port,
        state,
        routes: [
          (router) => mountFilesRoutes(router, config.workDir),
          (router) => mountMonitorRoutes(router, () => tasks?.usage() ?? Promise.resolve([])),
        ],
        onUpgrade: (req, socket, head) => executors?.handleUpgrade(req, socket, head) ?? false,
      });
      port = http.port;
      const checkpoint = new Checkpointer(config.workDir, logger);
      const containerizer = deps.containerizer ?? isolatingContainerizer(isolation, checkpoint.runtimeDir);
      // Checkpoint and recover only what can be re-attached (not virtual or plain-process containers).
      checkpointer = containerizer.recover === undefined ? undefined : checkpoint;
      updates = new StatusUpdateManager({
        send: (update) => link?.send({ status_update: update }) ?? false,
        latestState: (taskId) => tasks?.latestState(taskId),
        clock,
        logger,
        retryIntervalMinMs: config.statusUpdateRetryMinMs ?? DEFAULT_AGENT_CONFIG.statusUpdateRetryMinMs,
        retryIntervalMaxMs: config.statusUpdateRetryMaxMs ?? DEFAULT_AGENT_CONFIG.statusUpdateRetryMaxMs,
      });
      executors = new ExecutorManager({
        workDir: config.workDir,
        agentId: () => agentId,
        agentEndpoint,
        hostname,
        containerizer,
        sendToMaster: (message) => link?.send(message) ?? false,
        clock,
        logger,
        registrationTimeoutMs:
          config.executorRegistrationTimeoutMs ?? DEFAULT_AGENT_CONFIG.executorRegistrationTimeoutMs,
        shutdownGraceMs: config.executorShutdownGraceMs ?? DEFAULT_AGENT_CONFIG.executorShutdownGraceMs,
        reregistrationTimeoutMs:
          config.executorReregistrationTimeoutMs ?? DEFAULT_AGENT_CONFIG.executorReregistrationTimeoutMs,
        heartbeatIntervalMs: config.executorHeartbeatIntervalMs ?? DEFAULT_AGENT_CONFIG.executorHeartbeatIntervalMs,
        volumes: (resources) => volumes?.resolve(resources) ?? [],
        checkpoint: checkpointer,
      });
      volumes = new PersistentVolumes(config.workDir, logger);
      volumes.recover();
      const persistentVolumes = volumes;
      tasks = new TaskManager({
        volumes: (resources) => persistentVolumes.resolve(resources),
        executors,
        workDir: config.workDir,
        agentId: () => agentId,
        agentEndpoint,
        hostname,
        containerizer,
        checkpointer,
        statusUpdates: updates,
        logger,
        clock,
        fetcher: new Fetcher({
          cacheDir: join(config.workDir, 'fetch-cache'),
          stallTimeoutMs: config.fetcherStallTimeoutMs ?? DEFAULT_AGENT_CONFIG.fetcherStallTimeoutMs,
          cacheSizeBytes: config.fetcherCacheSizeBytes ?? DEFAULT_AGENT_CONFIG.fetcherCacheSizeBytes,
          logger,
        }),
      });
      // Recover before anything (GC) looks at which sandboxes are in use.
      if (checkpointer === undefined) {
        logger.info('checkpointing off: this containerizer cannot recover containers');
      } else {
        await recoverAgent({
          checkpointer,
          bootId,
          tasks,
          updates,
          containerizer,
          executors,
          setAgentId: (id) => {
            agentId = id;
          },
          logger,
        });
      }
      // Executors that re-subscribed during recovery are served now.
      executors.recovered();
      gc = new SandboxGc({
        workDir: config.workDir,
        clock,
        gcDelayMs: config.gcDelayMs ?? DEFAULT_AGENT_CONFIG.gcDelayMs,
        diskHeadroom: config.gcDiskHeadroom ?? DEFAULT_AGENT_CONFIG.gcDiskHeadroom,
        checkIntervalMs: config.diskWatchIntervalMs ?? DEFAULT_AGENT_CONFIG.diskWatchIntervalMs,
        inUse: () => [
          ...(tasks?.snapshot() ?? []).flatMap((fw) => fw.live.flatMap((t) => (t.sandbox ? [t.sandbox] : []))),
          ...(executors?.sandboxes() ?? []),
        ],
        logger,
      });
      gc.start();
      link = new MasterLink({
        detector,
        registration,
        clock,
        logger,
        backoff: {
          initialMs: config.reconnectInitialMs ?? DEFAULT_AGENT_CONFIG.reconnectInitialMs,
          maxMs: config.reconnectMaxMs ?? DEFAULT_AGENT_CONFIG.reconnectMaxMs,
        },
        masterPingTimeoutMs: config.masterPingTimeoutMs ?? DEFAULT_AGENT_CONFIG.masterPingTimeoutMs,
      });
      link.onDidRegister(onRegistered);
      link.onDidDisconnect(() => updates?.pause());
      link.onDidReceive(onMessage);
      link.onDidRefuse((refusal) => {
        logger.error({ ...refusal }, 'the master refused this agent; killing its tasks');
        void tasks?.killAll();
      });
      usageReporter = new UsageReporter({
        intervalMs: config.usageReportIntervalMs ?? DEFAULT_AGENT_CONFIG.usageReportIntervalMs,
        usage: () => tasks?.usage() ?? Promise.resolve([]),
        send: (message) => link?.send(message) ?? false,
        clock,
        logger,
      });
      usageReporter.start();
      await link.start();
      logger.info({ url: `http://${agentEndpoint()}`, hostname, resources: resources.toString() }, 'agent started');
    } catch (err) {
      closing = shutdown(true);
      await closing;
      throw err;
    }
  }

  function isolatingContainerizer(plan: IsolationPlan | undefined, runtimeDir: string): Containerizer {
    if (plan === undefined) return new ProcessContainerizer({ clock, logger });
    if (plan.mode === 'posix' || plan.fallbacks.length > 0) {
      logger.warn(
        { isolation: plan.mode, isolators: plan.isolators, missing: plan.fallbacks },
        `isolation: posix fallback for ${plan.fallbacks.length > 0 ? plan.fallbacks.join('; ') : 'cpu and memory'} (no hard limits where cgroups are missing; a process that leaves its process group escapes without a pid namespace)`,
      );
    } else {
      logger.info({ isolation: plan.mode, isolators: plan.isolators }, 'isolation');
    }
    return new IsolatingContainerizer({
      plan,
      runtimeDir,
      sandboxRoot: `${join(config.workDir, 'agents')}/`,
      cgroupsEnableCfs: config.cgroupsEnableCfs ?? false,
      enforceDiskQuota: config.enforceContainerDiskQuota ?? false,
      diskWatchIntervalMs: config.containerDiskWatchIntervalMs ?? DEFAULT_AGENT_CONFIG.containerDiskWatchIntervalMs,
      clock,
      logger,
    });
  }

  /** The `isolation` field of `/state`. */
  function isolationJson(): Record<string, unknown> {
    if (isolation === undefined) return { mode: 'custom', isolators: [], fallbacks: [] };
    return {
      mode: isolation.mode,
      isolators: isolation.isolators,
      fallbacks: isolation.fallbacks,
      cgroups_version: isolation.cgroups?.version ?? null,
      pid_namespace: isolation.pidNamespace,
      cfs: isolation.cpu && (config.cgroupsEnableCfs ?? false),
      enforce_container_disk_quota: config.enforceContainerDiskQuota ?? false,
    };
  }

  function state(): Record<string, unknown> {
    return { ...stateJson(), isolation: isolationJson(), ...(domain === undefined ? {} : { domain }) };
  }

  function stateJson(): Record<string, unknown> {
    return agentStateJson({
      id: agentId,
      host,
      hostname,
      port,
      version: AGENT_VERSION,
      startTime,
      resources: resources ?? Resources.empty(),
      attributes,
      masterHostname,
      frameworks: tasks?.snapshot() ?? [],
    });
  }

  async function shutdown(killTasks: boolean): Promise<void> {
    gc?.dispose();
    usageReporter?.dispose();
    if (killTasks) await Promise.all([tasks?.killAll(), executors?.shutdownAll()]);
    else {
      tasks?.detachAll();
      executors?.detachAll();
    }
    executors?.dispose();
    await link?.close();
    updates?.dispose();
    await http?.close();
    logger.info({ killTasks }, 'agent stopped');
  }

  return {
    start,
    close(opts = {}) {
      if (!started) return Promise.resolve();
      closing ??= shutdown(opts.killTasks ?? false);
      return closing;
    },
    get port() {
      return port;
    },
    get url() {
      return `http://${agentEndpoint()}`;
    },
    get agentId() {
      return agentId;
    },
    get resources() {
      return resources;
    },
  };
}
