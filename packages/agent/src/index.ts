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
export type {
  Container,
  ContainerExit,
  ContainerLimitation,
  Containerizer,
  ContainerUsage,
  LaunchSpec,
  VolumeMount,
} from './containerizer/containerizer.js';
export {
  type IsolatedContainerCheckpoint,
  IsolatingContainerizer,
  type IsolatingContainerizerOptions,
} from './containerizer/isolating.js';
export {
  detectHostIsolation,
  type HostIsolation,
  type IsolationPlan,
  KNOWN_ISOLATORS,
  planIsolation,
} from './isolation/isolation.js';
export { type AgentCheckpoint, atomicWrite, Checkpointer, type TaskCheckpoint } from './checkpoint/checkpoint.js';
export { DEFAULT_MASTER_PORT, type Endpoint, leaderEndpoint, parseMasterFlag } from './master-link/leader.js';
export {
  DEFAULT_PORTS,
  defaultResources,
  detectHostFacts,
  type HostFacts,
  resolveAgentAttributes,
  resolveAgentResources,
} from './resources/detect.js';
export { mountFilesRoutes, MAX_READ_LENGTH } from './files/files-routes.js';
export { confineToSandbox, FilesError } from './files/sandbox-files.js';
export { SandboxGc, type SandboxGcOptions, diskUsageOf } from './gc/sandbox-gc.js';
export { DEFAULT_GC_DELAY_MS, DEFAULT_GC_DISK_HEADROOM, gcMaxAgeMs } from './gc/policy.js';
export { DEFAULT_FETCH_STALL_TIMEOUT_MS, Fetcher, type FetcherOptions, type FetcherStats } from './fetcher/fetcher.js';
export { HealthChecker, type HealthHooks, type HealthProbeContext, probeFor } from './health/health-checker.js';
export { decideHealth, HEALTH_CHECK_DEFAULTS, type HealthPolicyConfig, healthPolicyConfig } from './health/policy.js';
export {
  DEFAULT_SIMULATED_RESOURCES,
  type SimulatedAgents,
  type SimulatedAgentsOptions,
  startSimulatedAgents,
} from './simulated/simulated-agents.js';
export { SimulatedContainerizer, type SimulatedLifecycle } from './simulated/simulated-containerizer.js';
export {
  DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS,
  DEFAULT_EXECUTOR_SHUTDOWN_GRACE_MS,
  EXECUTOR_PATH,
} from './custom-executor/executor-manager.js';
