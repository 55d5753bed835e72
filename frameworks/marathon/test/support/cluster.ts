/**
 * An in-process cluster for Marathon's end-to-end tests: a real master, real
 * agents running real processes, and (unless told not to) Marathon on the
 * file store, all under one temp work dir. `close()` stops everything, kills
 * whatever task processes are left under the work dir, and removes it.
 */
import { join } from 'node:path';
import { type Agent, createAgent } from '@agora/agent';
import { silentLogger } from '@agora/common';
import { createMaster, type Master } from '@agora/master';
import { killProcessesUnder, removeTempDir, tempDir } from '@agora/testkit';
import type { MarathonConfig } from '../../src/index.js';
import { createMarathon, type Marathon } from '../../src/marathon.js';

export interface ClusterAgentOptions {
  /** e.g. 'cpus:4;mem:4096;disk:1000;ports:[31000-31099]' — each test file keeps its own port range. */
  resources: string;
  /** Advertised hostname; also names the agent's work dir. */
  hostname?: string;
  attributes?: string;
  /** The agent's fault domain (`--domain` JSON), for `@region` / `@zone`. */
  domain?: string;
}

export interface ClusterOptions {
  /** Prefix of the temp work dir. */
  prefix: string;
  agents: ClusterAgentOptions[];
  /** Overrides for Marathon's config, or `false` to start no Marathon. */
  marathon?: Partial<MarathonConfig> | false;
}

export interface Cluster {
  readonly work: string;
  readonly master: Master;
  readonly agents: readonly Agent[];
  /** The current in-process Marathon (the last one `startMarathon` started). */
  readonly marathon: Marathon | undefined;
  /** Start a (new) Marathon on the same state dir; it becomes `marathon`. */
  startMarathon(): Promise<Marathon>;
  /** Stop Marathon, agents (killing their tasks) and master; kill leftovers; remove the work dir. */
  close(): Promise<void>;
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const work = await tempDir(options.prefix);
  const agents: Agent[] = [];
  let master: Master | undefined;
  let marathon: Marathon | undefined;
  const marathonConfig = (): MarathonConfig => ({
    master: `127.0.0.1:${master!.port}`,
    port: 0,
    stateDir: join(work, 'marathon'),
    declineRefuseSeconds: 1,
    ...(options.marathon === false ? {} : options.marathon),
  });

  const close = async (): Promise<void> => {
    await marathon?.close();
    for (const a of agents) await a.close({ killTasks: true });
    await master?.close();
    killProcessesUnder(work);
    await removeTempDir(work);
  };

  const cluster: Cluster = {
    work,
    get master() {
      return master!;
    },
    agents,
    get marathon() {
      return marathon;
    },
    async startMarathon() {
      const m = createMarathon(marathonConfig(), { logger: silentLogger() });
      marathon = m;
      await m.start();
      return m;
    },
    close,
  };

  try {
    master = createMaster({ port: 0, allocationIntervalMs: 100 }, { logger: silentLogger() });
    await master.start();
    for (const [i, a] of options.agents.entries()) {
      const agent = createAgent(
        {
          master: `127.0.0.1:${master.port}`,
          port: 0,
          workDir: join(work, a.hostname ?? (i === 0 ? 'agent' : `agent-${i}`)),
          resources: a.resources,
          ...(a.hostname === undefined ? {} : { hostname: a.hostname }),
          ...(a.attributes === undefined ? {} : { attributes: a.attributes }),
          ...(a.domain === undefined ? {} : { domain: a.domain }),
        },
        { logger: silentLogger() },
      );
      agents.push(agent);
      await agent.start();
    }
    if (options.marathon !== false) await cluster.startMarathon();
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
  return cluster;
}
