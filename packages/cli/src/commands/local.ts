/**
 * `agora local` (what `npm start` runs): a master, N agents (each a disjoint
 * slice of this machine with its own port range) and marathon in one process,
 * standalone (no ZooKeeper, no Redis: marathon keeps its state in files).
 * Ctrl-C stops marathon, kills every task and stops agents and master.
 */
import { createWriteStream, mkdirSync, statfsSync } from 'node:fs';
import os from 'node:os';
import { resolve } from 'node:path';
import { createAgent } from '@agora/agent';
import { createLogger } from '@agora/common';
import { createMarathon } from '@agora/marathon';
import { createMaster } from '@agora/master';
import { badFlag, parsePort, parsePositiveInt } from '../flags.js';
import type { Running } from './daemon.js';

export interface LocalFlags {
  work_dir?: string;
  agents?: string;
  ip?: string;
  master_port?: string;
  agent_port?: string;
  marathon_port?: string;
  task_ports_from?: string;
}

export interface AgentSlice {
  resources: string;
  attributes: string;
}

/** Split this machine into `count` disjoint agent slices (pure; exported for tests). */
export function machineSlices(
  count: number,
  machine: { cpus: number; memMb: number; diskMb: number },
  firstPort = 31000,
  portsPerAgent = 1000,
): AgentSlice[] {
  const usableMem = machine.memMb >= 2048 ? machine.memMb - 1024 : machine.memMb / 2;
  const usableDisk = machine.diskMb >= 10240 ? machine.diskMb - 5120 : machine.diskMb / 2;
  const cpus = Math.max(0.1, Math.floor((machine.cpus / count) * 1000) / 1000);
  const mem = Math.max(32, Math.floor(usableMem / count));
  const disk = Math.max(0, Math.floor(usableDisk / count));
  return Array.from({ length: count }, (_, i) => {
    const lo = firstPort + i * portsPerAgent;
    return {
      resources: `cpus:${cpus};mem:${mem};disk:${disk};ports:[${lo}-${lo + portsPerAgent - 1}]`,
      attributes: `agent:a${i + 1};zone:local`,
    };
  });
}

export async function runLocal(flags: LocalFlags): Promise<Running> {
  const workDir = resolve(flags.work_dir ?? './.agora');
  const count = parsePositiveInt('agents', flags.agents, 3);
  const host = flags.ip ?? '127.0.0.1';
  const masterPort = parsePort('master_port', flags.master_port, 5050);
  const agentPort = parsePort('agent_port', flags.agent_port, 5051);
  const marathonPort = parsePort('marathon_port', flags.marathon_port, 8080);
  const firstTaskPort = parsePort('task_ports_from', flags.task_ports_from, 31000);
  if (firstTaskPort + count * 1000 - 1 > 65535) {
    throw badFlag('task_ports_from', `leaves no room for ${count} agents × 1000 ports below 65536`);
  }
  mkdirSync(`${workDir}/logs`, { recursive: true });
  const logFile = `${workDir}/logs/agora.log`;
  const destination = createWriteStream(logFile, { flags: 'a' });
  const log = (component: string) => createLogger({ component, destination });

  const disk = statfsSync(workDir);
  const slices = machineSlices(
    count,
    {
      cpus: os.availableParallelism(),
      memMb: Math.floor(os.totalmem() / 1048576),
      diskMb: Math.floor((Number(disk.bavail) * Number(disk.bsize)) / 1048576),
    },
    firstTaskPort,
  );

  const stops: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const stop of stops.reverse()) {
      await stop().catch(() => undefined);
    }
    await new Promise<void>((done) => destination.end(done));
  };
  try {
    const master = createMaster({ port: masterPort, host, workDir: `${workDir}/master` }, { logger: log('master') });
    await master.start();
    stops.push(() => master.close());
    const agentUrls: string[] = [];
    for (const [i, slice] of slices.entries()) {
      const agent = createAgent(
        {
          master: `${host}:${master.port}`,
          port: agentPort === 0 ? 0 : agentPort + i,
          host,
          workDir: `${workDir}/agent${i + 1}`,
          resources: slice.resources,
          attributes: slice.attributes,
        },
        { logger: log(`agent${i + 1}`) },
      );
      await agent.start();
      stops.push(() => agent.close({ killTasks: true }));
      agentUrls.push(`${agent.url}  ${slice.resources}`);
    }
    const marathon = createMarathon(
      { master: `${host}:${master.port}`, port: marathonPort, host, stateDir: `${workDir}/marathon` },
      { logger: log('marathon') },
    );
    await marathon.start();
    stops.push(() => marathon.close());
    return {
      banner: [
        'Agora local cluster is up:',
        `  master    ${master.url}   (state: ${master.url}/state)`,
        ...agentUrls.map((u, i) => `  agent${i + 1}    ${u}`),
        `  marathon  ${marathon.url}   (apps: ${marathon.url}/v2/apps)`,
        `  logs      ${logFile}`,
        'Press Ctrl-C to stop everything (tasks included).',
      ],
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
