/**
 * @module @agora/agent
 *
 * The agent daemon: finds the leading master, registers its resources and
 * attributes, runs tasks as real processes in per-task sandboxes, and delivers
 * their status updates reliably (retried until acknowledged). When the leader
 * changes it re-registers with its running tasks; the tasks keep running.
 *
 * ```ts
 * import { createAgent } from '@agora/agent';
 * const agent = createAgent({ master: '127.0.0.1:5050', port: 5051, workDir: './.agora/agent1',
 *   resources: 'cpus:2;mem:2048;disk:10000;ports:[31000-31099]', attributes: 'rack:r1' });
 * await agent.start();
 * // ... later
 * await agent.close({ killTasks: true });
 * ```
 */
export { AGENT_VERSION, type Agent, type AgentDeps, createAgent } from './agent.js';
export { type AgentConfig, DEFAULT_AGENT_CONFIG, validateAgentConfig } from './config.js';
export type { Container, ContainerExit, Containerizer, LaunchSpec } from './containerizer/containerizer.js';
export { DEFAULT_MASTER_PORT, type Endpoint, leaderEndpoint, parseMasterFlag } from './master-link/leader.js';
export {
  DEFAULT_PORTS,
  defaultResources,
  detectHostFacts,
  type HostFacts,
  resolveAgentAttributes,
  resolveAgentResources,
} from './resources/detect.js';
