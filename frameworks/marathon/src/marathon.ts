/**
 * Wiring only: the store, the app manager, the task tracker, the launch
 * queue, the scheduler and the HTTP API, started and stopped in order.
 *
 * ```
 *  HTTP /v2 ─► AppManager ──(store first)──► onDidChangeApp ─► MarathonScheduler ─► SchedulerDriver ─► master
 *      │           │                                                │
 *      └──► TaskTracker ◄──────────── status updates / launches ────┘        MarathonStore: Redis or files
 * ```
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Clock, createLogger, Emitter, type Event, type Logger, systemClock, toAgoraError } from '@agora/common';
import { AppManager } from './apps/app-manager.js';
import { GroupManager } from './apps/group-manager.js';
import { createApiApp } from './api/server.js';
import type { ApiServices } from './api/services.js';
import { type MarathonConfig, type ResolvedMarathonConfig, resolveMarathonConfig } from './config.js';
import { DeploymentTracker } from './deployments/deployment-tracker.js';
import { MarathonEvents } from './events/index.js';
import type { JsonObject } from './model/app-definition.js';
import { HealthMonitor } from './health/health-monitor.js';
import { LEADER_HEADER, proxyToLeader } from './leadership/leader-proxy.js';
import { Leadership } from './leadership/leadership.js';
import { LogLevels } from './logging/log-levels.js';
import { ReadinessMonitor } from './readiness/readiness-monitor.js';
import { MarathonScheduler } from './scheduler/marathon-scheduler.js';
import { FileSecretSource } from './secrets/file-secrets.js';
import { ReservationTracker } from './scheduler/resident-tracker.js';
import { TaskTracker } from './scheduler/task-tracker.js';
import { LaunchQueue } from './scheduling/launch-queue.js';
import { applyRuntimeConfiguration } from './storage/backup.js';
import { FileStore } from './storage/file/file-store.js';
import { RedisStore } from './storage/redis/redis-store.js';
import type { MarathonStore } from './storage/repositories.js';

/** The Marathon API version Agora answers like. */
export const MARATHON_API_VERSION = '1.10.0';

export interface MarathonDeps {
  clock?: Clock;
  logger?: Logger;
  /** Draws in [0, 1) for random host ports. @default Math.random */
  random?: () => number;
  /** Use this store instead of the one the configuration names (tests). */
  store?: MarathonStore;
}

export interface Marathon {
  /** Open the store, load apps and tasks, listen, subscribe to the master (in the background). */
  start(): Promise<void>;
  /** Stop serving and disconnect from the master; tasks keep running (framework failover). */
  close(): Promise<void>;
  /** The HTTP port (known after start when configured as 0). */
  readonly port: number;
  /** `http://<hostname>:<port>` */
  readonly url: string;
  /** The framework id, once known. */
  readonly frameworkId: string | undefined;
  /** Whether this instance leads (always true without `zk`). */
  readonly isLeader: boolean;
  /** Fires when this Marathon stopped itself: it lost the leadership (HA) or abdicated. */
  readonly onDidStop: Event<string>;
  /** The Koa request handler (for in-process use without listening). */
  /** The event bus (publish, onDidPublish), HTTP callbacks and SSE streams. */
  readonly events: MarathonEvents;
  readonly handler: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void;
}

function storeFor(config: ResolvedMarathonConfig): MarathonStore {
  if (config.redis !== undefined) return new RedisStore({ url: config.redis, prefix: config.redisPrefix });
  return new FileStore(config.stateDir!);
}

export function createMarathon(config: MarathonConfig, deps: MarathonDeps = {}): Marathon {
  const c = resolveMarathonConfig(config);
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? createLogger({ component: 'marathon' });
  const logLevels = new LogLevels(logger, clock);
  const store = deps.store ?? storeFor(c);
  const deployments = new DeploymentTracker(store.deployments, logLevels.child('deployments'));
  const events = new MarathonEvents({
    clock,
    logger: logLevels.child('events'),
    repository: store.eventSubscriptions,
    config: c.events,
    httpEndpoints: c.httpEndpoints,
  });
  events.wireDeployments(deployments);
  const apps = new AppManager(store, deployments, clock, logLevels.child('apps'), {
    defaultRole: c.role,
    servicePorts: { min: c.localPortMin, max: c.localPortMax },
    events: events.bus,
    enabledFeatures: c.enableFeatures,
  });
  const tasks = new TaskTracker(store.tasks);
  const reservations = store.reservations === undefined ? undefined : new ReservationTracker(store.reservations);
  let killUnhealthy: (taskId: string) => void = () => {};
  const health = new HealthMonitor({
    app: (id) => apps.get(id),
    appVersion: (id, version) => apps.versionOf(id, version),
    tasks: () => tasks.all(),
    kill: (taskId) => killUnhealthy(taskId),
    clock,
    logger: logLevels.child('health'),
    events: events.bus,
  });
  tasks.setHealthView({
    health: (t) => health.health(t),
    results: (t) => health.resultsJson(t),
    hasChecks: (t) => (apps.get(t.appId)?.healthChecks.length ?? 0) > 0,
  });
  const readiness = new ReadinessMonitor({
    app: (id) => apps.get(id),
    tasks: () => tasks.all(),
    deployingApps: () =>
      new Map(
        deployments
          .currentActions()
          .filter((a) => a.action.action !== 'StopApplication')
          .map((a) => [a.action.app, a.deployment.createdAt] as const),
      ),
    clock,
    logger: logLevels.child('readiness'),
  });
  const launchQueue = new LaunchQueue();
  let port = c.port;
  const url = (): string => `http://${c.hostname}:${port}`;

  const scheduler = new MarathonScheduler(
    {
      apps,
      tasks,
      frameworkIds: store.frameworkId,
      deployments,
      launchQueue,
      health,
      readiness,
      events: events.bus,
      ...(reservations === undefined ? {} : { reservations }),
      ...(c.secretsDir === undefined ? {} : { secrets: new FileSecretSource(c.secretsDir) }),
      clock,
      logger: logLevels.child('scheduler'),
    },
    {
      master: c.master,
      frameworkName: c.frameworkName,
      ...(c.user === undefined ? {} : { user: c.user }),
      role: c.role,
      failoverTimeoutSeconds: c.failoverTimeoutSeconds,
      hostname: c.hostname,
      webuiUrl: url,
      declineRefuseSeconds: c.declineRefuseSeconds,
      reconcileIntervalMs: c.reconciliationIntervalMs,
      maxInstancesPerOffer: c.maxInstancesPerOffer,
      ...(deps.random === undefined ? {} : { random: deps.random }),
    },
  );

  const info = (): JsonObject => ({
    name: 'marathon',
    version: MARATHON_API_VERSION,
    buildref: 'agora',
    elected: true,
    leader: `${c.hostname}:${port}`,
    frameworkId: scheduler.frameworkId ?? null,
    marathon_config: {
      master: c.master,
      framework_name: c.frameworkName,
      failover_timeout: c.failoverTimeoutSeconds,
      hostname: c.hostname,
      mesos_role: c.role,
      mesos_user: c.user ?? null,
      checkpoint: true,
      executor: '//cmd',
      features: [...c.enableFeatures],
      ha: c.zk !== undefined,
      local_port_min: c.localPortMin,
      local_port_max: c.localPortMax,
      max_instances_per_offer: c.maxInstancesPerOffer,
      decline_offer_duration: c.declineRefuseSeconds * 1000,
      reconciliation_interval: c.reconciliationIntervalMs,
      webui_url: url(),
      store: store.kind,
    },
    zookeeper_config: {
      zk: c.zk ?? null,
      zk_timeout: 10_000,
      zk_session_timeout: c.zkSessionTimeoutMs,
      zk_max_versions: 50,
    },
    http_config: { http_port: port },
  });

  const services: ApiServices = { apps, tasks, deployments, info, logger: logLevels.child('api') };
  if (store.runtimeConfiguration !== undefined) {
    const runtime = store.runtimeConfiguration;
    services.requestBackupRestore = (config) => runtime.put(config);
  }
  services.killTasks = (ids) => scheduler.killTasks(ids);
  services.wipeTasks = (ids) => scheduler.wipeTasks(ids);
  services.launchQueue = launchQueue;
  services.now = () => clock.now();
  const groups = new GroupManager(apps, store, clock, logLevels.child('groups'));
  services.groups = groups;
  services.logLevels = logLevels;
  services.events = { callbacks: events.callbacks, streams: events.streams };
  const koa = createApiApp(services);
  const handler = koa.callback();
  let server: Server | undefined;
  let started = false;
  let closing: Promise<void> | undefined;
  // HA (with `zk`): only the elected leader activates (loads state, subscribes); standbys proxy to it.
  let leadership: Leadership | undefined;
  let active = false;
  const onDidStopEmitter = new Emitter<string>();

  /** The leader's URL for a standby (undefined: none, or this one), waiting up to ~2.5 s for an election. */
  async function leaderUrl(): Promise<string | undefined> {
    for (let i = 0; i < 10; i++) {
      const l = leadership?.leader;
      if (l !== undefined && l.url !== url()) return l.url;
      if (active) return undefined;
      await new Promise((r) => setTimeout(r, 250));
    }
    return undefined;
  }

  function serve(req: IncomingMessage, res: ServerResponse): void {
    if (leadership === undefined) {
      void handler(req, res);
      return;
    }
    if (active) {
      res.setHeader(LEADER_HEADER, url());
      void handler(req, res);
      return;
    }
    void proxyToLeader(req, res, url(), leaderUrl).catch(() => res.destroy());
  }

  /** Load the state, resume deployments and subscribe: at start, or when elected. */
  async function activate(): Promise<void> {
    await applyRuntimeConfiguration(store, logger, new Date(clock.now()));
    await apps.load();
    await groups.load();
    const resumed = await deployments.load();
    if (resumed > 0) logger.info({ deployments: resumed }, 'deployments resumed');
    await events.start();
    const loaded = await tasks.load();
    logger.info({ tasks: loaded, store: store.kind }, 'tasks loaded');
    if (reservations !== undefined) logger.info({ reservations: await reservations.load() }, 'reservations loaded');
    if (server === undefined) await listen();
    await scheduler.start();
    active = true;
  }

  async function listen(): Promise<void> {
    const s = createServer(serve);
    server = s;
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(c.port, c.host, () => {
        s.off('error', reject);
        resolve();
      });
    });
    port = (s.address() as AddressInfo).port;
  }

  killUnhealthy = (taskId) => scheduler.killUnhealthy(taskId);
  deployments.readinessOf = (appId) => readiness.resultsFor(appId);

  async function shutdown(): Promise<void> {
    active = false;
    await leadership?.close();
    await scheduler.close();
    health.close();
    readiness.close();
    logLevels.dispose();
    events.dispose();
    const s = server;
    server = undefined;
    if (s !== undefined) {
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    }
    await groups.drain();
    await apps.drain();
    await deployments.flush();
    apps.dispose();
    deployments.dispose();
    await store.close();
    logger.info('marathon stopped');
  }

  return {
    async start() {
      if (started) throw toAgoraError(new Error('marathon already started'));
      started = true;
      try {
        await store.open();
        if (c.zk === undefined) {
          await activate();
        } else {
          await listen();
          const l = new Leadership({
            zk: c.zk,
            self: { url: url(), leader: `${c.hostname}:${port}` },
            sessionTimeoutMs: c.zkSessionTimeoutMs,
            logger: logLevels.child('leadership'),
          });
          leadership = l;
          services.abdicate = () => l.abdicate();
          services.leader = () => (l.isLeader ? undefined : l.leader?.leader);
          await l.start(activate, (why) => {
            logger.warn({ why }, 'stepping down: stopping this Marathon');
            closing ??= shutdown();
            void closing.finally(() => onDidStopEmitter.fire(why));
          });
        }
        logger.info({ url: url(), master: c.master, ha: c.zk !== undefined }, 'marathon started');
      } catch (err) {
        await shutdown().catch(() => {});
        throw err;
      }
    },
    close() {
      closing ??= shutdown();
      return closing;
    },
    get port() {
      return port;
    },
    get url() {
      return url();
    },
    get frameworkId() {
      return scheduler.frameworkId;
    },
    get isLeader() {
      return leadership === undefined ? true : active;
    },
    onDidStop: onDidStopEmitter.event,
    handler,
    events,
  };
}
