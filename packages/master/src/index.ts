/**
 * @module @agora/master
 *
 * The Agora master: the market place of a Mesos-style two-level scheduler.
 * Agents register their resources over `ws://<leader>/agora/v1/agent`;
 * frameworks subscribe over `ws://<leader>/agora/v1/scheduler`, receive offers
 * (hierarchical DRF, a cycle every second and on change), launch tasks, and
 * get status updates; `/state` shows it all in Mesos' JSON shape. With `zk`
 * several masters elect a leader in ZooKeeper; standbys redirect (307).
 *
 * ```ts
 * import { createMaster } from '@agora/master';
 * const master = createMaster({ port: 5050 });
 * master.onDidLoseLeadership(() => process.exit(1)); // lost leadership after leading
 * await master.start();
 * console.log(master.url, master.isLeader);
 * ```
 */
export { createMaster, type Master, type MasterAbort, type MasterDeps } from './master.js';
export { type MasterConfig, DEFAULT_MASTER_CONFIG, resolveMasterConfig, type ResolvedMasterConfig } from './config.js';
export { buildMasterInfo, ipv4ToMesosUint32, mesosUint32ToIpv4, MASTER_VERSION } from './master-info.js';
export { SCHEDULER_PATH } from './api/scheduler-ws.js';
export { AGENT_PATH } from './api/agent-ws.js';
export { DEFAULT_REFUSE_SECONDS, MAX_REFUSE_SECONDS, refuseMs } from './offers/offer-manager.js';
/** The pure allocator (hierarchical weighted DRF with quota and reservations), public for benchmarks and alternative masters. */
export * from './allocator/index.js';
/** Parsing and validation of operator quota and weight requests (see docs/allocator.md). */
export {
  parseQuotaUpdate,
  parseWeights,
  type QuotaRequest,
  type QuotaUpdate,
  type WeightRequest,
} from './quota/index.js';
/** The registry's stored shape and where it lives (see docs/registry.md), for tools that read it. */
export {
  decodeRegistry,
  encodeRegistry,
  type Registry,
  REGISTRY_FILE,
  REGISTRY_ZNODE,
} from './registry/index.js';
/** Close code for an agent the master marked unreachable (it should reconnect and re-register). */
export { CLOSE_UNREACHABLE } from './routing/agent-lifecycle.js';
/** The `/state` views: cached serialized parts (StateSnapshot) and the per-request reference build; for benchmarks. */
export { type JsonPieces, type SnapshotSources, StateSnapshot } from './state/state-snapshot.js';
export { buildStateJson, type StateSources } from './state/state-view.js';
export { jsonPiecesBody } from './api/http/state.js';
export type { AgentRecord } from './agents/agent-manager.js';
export type { FrameworkRecord } from './frameworks/framework-manager.js';
export type { OfferRecord } from './offers/offer-manager.js';
export type { TaskRecord } from './tasks/task-tracker.js';
/** `--agent_removal_rate_limit` (`1/10mins`) parsing. */
export { parseRemovalRateLimit, type RemovalRateLimit } from './agents/removal-rate-limiter.js';
