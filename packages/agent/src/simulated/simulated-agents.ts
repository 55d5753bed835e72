/**
 * Simulated agents (`agora agent --simulate [--count N]`): real agents —
 * the full protocol with the master (register, re-register, pings, status
 * updates retried until acknowledged, `/state`, `/files`) — whose tasks run
 * virtually in a SimulatedContainerizer. Many can run in one process, each
 * with its own work dir (`<work_dir>/sim-<i>`), port and hostname
 * (`<hostname>-sim-<i>`), and fixed resources (no host detection).
 */
import { join } from 'node:path';
import { AgoraError, type Clock, type Logger, silentLogger } from '@agora/common';
import type { LeaderDetector } from '@agora/coordination';
import { type Agent, createAgent } from '../agent.js';
import type { AgentConfig } from '../config.js';
import { SimulatedContainerizer, type SimulatedLifecycle } from './simulated-containerizer.js';

/** What each simulated agent offers unless `--resources` says otherwise. */
export const DEFAULT_SIMULATED_RESOURCES = 'cpus:8;mem:16384;disk:100000;ports:[31000-32000]';

export interface SimulatedAgentsOptions {
  /** The base config: master, workDir (each agent gets `<workDir>/sim-<i>`), resources, attributes. */
  config: AgentConfig;
  /** How many agents. @default 1 */
  count?: number;
  /** Task lifecycle for all the agents. */
  lifecycle?: SimulatedLifecycle;
  /** First port; agent i listens on `port + i` (0 = a free port each). */
  port?: number;
  /** Agents started at once. @default 100 */
  startConcurrency?: number;
  clock?: Clock;
  logger?: Logger;
  /** Per-agent detector (tests); by default each builds its own from `config.master`. */
  detector?: (index: number) => LeaderDetector<unknown>;
}

export interface SimulatedAgents {
  readonly agents: readonly Agent[];
  /** Agents the master has registered. */
  readonly registeredCount: number;
  /** Tasks launched on all the agents. */
  readonly launchedTasks: number;
  close(): Promise<void>;
}

/** Start `count` simulated agents; resolves when all listen (registration follows asynchronously). */
export async function startSimulatedAgents(options: SimulatedAgentsOptions): Promise<SimulatedAgents> {
  const count = options.count ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > 100_000) {
    throw new AgoraError('AGORA_ERR_BAD_FLAG', `--count ${count} is invalid: expected an integer from 1 to 100000`);
  }
  const logger = options.logger ?? silentLogger();
  const base = options.config;
  const basePort = options.port ?? base.port;
  const containerizers: SimulatedContainerizer[] = [];
  const agents: Agent[] = [];
  for (let i = 0; i < count; i++) {
    const containerizer = new SimulatedContainerizer({
      ...options.lifecycle,
      ...(options.clock ? { clock: options.clock } : {}),
    });
    containerizers.push(containerizer);
    const config: AgentConfig = {
      ...base,
      port: basePort === 0 ? 0 : basePort + i,
      workDir: join(base.workDir, `sim-${i}`),
      hostname: `${base.hostname ?? 'agent'}-sim-${i}`,
      resources: base.resources ?? DEFAULT_SIMULATED_RESOURCES,
    };
    agents.push(
      createAgent(config, {
        containerizer,
        hostFacts: { cpus: 8, memTotalMb: 17_408, diskTotalMb: 100_000 },
        logger: logger.child({ sim: i }),
        ...(options.clock ? { clock: options.clock } : {}),
        ...(options.detector ? { detector: options.detector(i) } : {}),
      }),
    );
  }
  const closeAll = () => Promise.all(agents.map((a) => a.close({ killTasks: true }))).then(() => undefined);
  const batch = Math.max(1, options.startConcurrency ?? 100);
  try {
    for (let i = 0; i < agents.length; i += batch) await Promise.all(agents.slice(i, i + batch).map((a) => a.start()));
  } catch (err) {
    await closeAll();
    throw err;
  }
  logger.info({ count }, 'simulated agents started');
  return {
    agents,
    get registeredCount() {
      return agents.filter((a) => a.agentId !== undefined).length;
    },
    get launchedTasks() {
      return containerizers.reduce((n, c) => n + c.launched, 0);
    },
    close: closeAll,
  };
}
