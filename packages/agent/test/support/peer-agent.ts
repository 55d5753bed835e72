/**
 * A real in-process agent registered with a MasterPeer as agent 'A1' (the
 * peer plays the master): the common setup of the agent's wiring tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@agora/common';
import { type agora, TaskState } from '@agora/proto';
import { type Agent, type AgentConfig, type AgentDeps, createAgent } from '../../src/index.js';
import { MasterPeer } from './master-peer.js';
import { waitFor } from './wait.js';

export interface PeerAgentOptions {
  /** Prefix of the temp root dir (under the OS temp dir). */
  prefix: string;
  /** The agent's work dir under the root. @default 'work' ('' for the root itself) */
  workSubdir?: string;
  /** More agent config (master, port, workDir and resources are set here). */
  config?: Partial<AgentConfig>;
  /** Agent deps besides the (silent) logger, e.g. a containerizer. */
  deps?: AgentDeps;
  /** `hostname` of the MasterInfo the peer registers the agent with. */
  masterHostname?: string;
}

export interface PeerAgent {
  readonly root: string;
  readonly workDir: string;
  readonly peer: MasterPeer;
  readonly agent: Agent;
  /** Close the agent (killing its tasks) and the peer, and remove the root dir. */
  close(): Promise<void>;
}

export async function startPeerAgent(options: PeerAgentOptions): Promise<PeerAgent> {
  const root = mkdtempSync(join(tmpdir(), options.prefix));
  const workDir = join(root, options.workSubdir ?? 'work');
  let peer: MasterPeer | undefined;
  let agent: Agent | undefined;
  const close = async (): Promise<void> => {
    await agent?.close({ killTasks: true });
    await peer?.close();
    rmSync(root, { recursive: true, force: true });
  };
  try {
    peer = await MasterPeer.start();
    agent = createAgent(
      {
        master: `127.0.0.1:${peer.port}`,
        port: 0,
        workDir,
        resources: 'cpus:2;mem:1024;disk:1000;ports:[31000-31009]',
        ...options.config,
      },
      { logger: silentLogger(), ...options.deps },
    );
    await agent.start();
    await peer.next((m) => m.register, 'Register');
    const masterInfo = {
      id: 'M1',
      ip: 0,
      port: 5050,
      ...(options.masterHostname === undefined ? {} : { hostname: options.masterHostname }),
    };
    peer.send({ registered: { agent_id: { value: 'A1' }, master_info: masterInfo } });
    const a = agent;
    await waitFor(() => a.agentId === 'A1', 'registered');
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
  return { root, workDir, peer, agent, close };
}

/** Have the peer send RunTask for `taskId` (framework F1, agent A1), with `task`'s fields. */
export function runTask(peer: MasterPeer, taskId: string, task: Partial<agora.v1.TaskInfo.$Properties>): void {
  peer.send({
    run_task: {
      framework: { user: 'u', name: 'fw', id: { value: 'F1' } },
      task: { name: taskId, task_id: { value: taskId }, agent_id: { value: 'A1' }, ...task },
    },
  });
}

/** Acknowledge everything (updates are sent one at a time) until the task reports `state`; that update. */
export async function reachState(peer: MasterPeer, taskId: string, state: TaskState) {
  return waitFor(() => {
    for (const u of peer.updates(taskId)) peer.ack(u);
    return peer.updates(taskId).find((u) => u.status.state === state);
  }, `${taskId} ${TaskState[state]}`);
}
