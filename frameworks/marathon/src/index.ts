/**
 * @module @agora/marathon
 *
 * A Marathon-compatible service scheduler on Agora: Marathon's `/v2` REST
 * API and app JSON, keeping every app at its declared instance count on the
 * cluster, with launch backoff, state in Redis (or files), and
 * reconciliation with the master after a restart.
 *
 * ```ts
 * import { createMarathon } from '@agora/marathon';
 * const marathon = createMarathon({ master: '127.0.0.1:5050', port: 8080, stateDir: './.agora/marathon' });
 * await marathon.start();
 * // curl -X POST localhost:8080/v2/apps -d '{"id":"/web","cmd":"python3 -m http.server $PORT0","instances":2}'
 * await marathon.close();
 * ```
 */
export { createMarathon, MARATHON_API_VERSION, type Marathon, type MarathonDeps } from './marathon.js';
export { DEFAULT_MARATHON_CONFIG, type MarathonConfig, resolveMarathonConfig } from './config.js';
export type {
  AppDefinition,
  AppSpec,
  EnvVarValue,
  FetchUri,
  JsonObject,
  JsonValue,
  KillSelection,
  Network,
  PortDefinition,
  UnreachableStrategy,
  UpgradeStrategy,
  VersionInfo,
} from './model/app-definition.js';
export { APP_DEFAULTS, KNOWN_APP_FIELDS } from './model/app-definition.js';
export { type AppParseResult, mergeAppUpdate, parseAppDefinition, type ParseAppOptions } from './model/app-parser.js';
export { appToJson, isUpgrade } from './model/app-json.js';
export { appIdOfTaskId, canonicalPathId, taskIdFor } from './model/path-id.js';
export type { TaskRecord, TaskStateName } from './model/task.js';
export type { Violation } from './model/violations.js';
export { matchOffer, type MatchResult, type RefusalReason, REFUSAL_REASONS } from './scheduling/offer-matcher.js';
export {
  type AppRepository,
  type FrameworkIdRepository,
  type MarathonStore,
  type TaskRepository,
  DEFAULT_REDIS_PREFIX,
  FileStore,
  RedisStore,
} from './storage/index.js';
export {
  EventBus,
  EventStreams,
  HttpCallbacks,
  MARATHON_EVENT_TYPES,
  MarathonEvents,
  type EventPublisher,
  type EventsDroppedEvent,
  type HttpCallbackOptions,
  type MarathonEvent,
  type MarathonEventInput,
  type MarathonEventsConfig,
  type MarathonEventType,
  type PublishedEvent,
  type SubscriberMetrics,
} from './events/index.js';
