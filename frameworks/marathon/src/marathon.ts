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
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Clock, createLogger, type Logger, systemClock, toAgoraError } from '@agora/common';
import { AppManager } from './apps/app-manager.js';
import { createApiApp } from './api/server.js';
import type { ApiServices } from './api/services.js';
import { type MarathonConfig, type ResolvedMarathonConfig, resolveMarathonConfig } from './config.js';
import { DeploymentTracker } from './deployments/deployment-tracker.js';
import type { JsonObject } from './model/app-definition.js';
import { MarathonScheduler } from './scheduler/marathon-scheduler.js';
import { TaskTracker } from './scheduler/task-tracker.js';
import { LaunchQueue } from './scheduling/launch-queue.js';
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
  /** The Koa request handler (for in-process use without listening). */
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
  const store = deps.store ?? storeFor(c);
  const deployments = new DeploymentTracker();
  const apps = new AppManager(store, deployments, clock, logger.child({ part: 'apps' }), {
    defaultRole: c.role,
    servicePorts: { min: c.localPortMin, max: c.localPortMax },
  });
  const tasks = new TaskTracker(store.tasks);
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
      clock,
      logger: logger.child({ part: 'scheduler' }),
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
      features: [],
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
      zk_session_timeout: 10_000,
      zk_max_versions: 50,
    },
    http_config: { http_port: port },
  });

  const services: ApiServices = { apps, tasks, deployments, info, logger: logger.child({ part: 'api' }) };
  const koa = createApiApp(services);
  const handler = koa.callback();
  let server: Server | undefined;
  let started = false;
  let closing: Promise<void> | undefined;

  async function listen(): Promise<void> {
    const s = createServer(handler);
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

  async function shutdown(): Promise<void> {
    await scheduler.close();
    const s = server;
    server = undefined;
    if (s !== undefined) {
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    }
    await apps.drain();
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
        await apps.load();
        const loaded = await tasks.load();
        logger.info({ tasks: loaded, store: store.kind }, 'tasks loaded');
        await listen();
        await scheduler.start();
        logger.info({ url: url(), master: c.master }, 'marathon started');
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
    handler,
  };
}
