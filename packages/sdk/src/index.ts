/**
 * @module @agora/sdk
 *
 * What a framework author uses to run tasks on Agora: the scheduler driver
 * (find the leading master, subscribe, receive offers and status updates,
 * launch/decline/kill/reconcile, re-subscribe with the same framework id
 * after any disconnect or master failover) and helpers to build tasks.
 *
 * ```ts
 * import { SchedulerDriver, offerResources, taskInfo } from '@agora/sdk';
 * import { parseResources } from '@agora/common';
 *
 * const driver = new SchedulerDriver({ master: '127.0.0.1:5050', framework: { user: 'me', name: 'hello' } });
 * const need = parseResources('cpus:0.1;mem:32');
 * driver.onDidReceiveOffers((offers) => {
 *   for (const offer of offers) {
 *     if (!offerResources(offer).contains(need)) { driver.decline([offer.id.value]); continue; }
 *     const task = taskInfo({ id: `hello-${Date.now()}`, agentId: offer.agent_id.value, resources: need, command: 'echo hello' });
 *     driver.launch([offer.id.value], [task]);
 *   }
 * });
 * driver.onDidUpdateStatus((status) => console.log(status.task_id.value, status.state));
 * await driver.start();
 * ```
 */
export { SchedulerDriver } from './scheduler/driver.js';
export {
  DEFAULT_SCHEDULER_DRIVER_OPTIONS,
  type ExecutorMessage,
  FATAL_ERROR_CODES,
  type FailureInfo,
  SCHEDULER_PATH,
  type SchedulerDriverOptions,
  type SubscribedInfo,
} from './scheduler/options.js';
export {
  addressFromLocation,
  addressFromMasterInfo,
  DEFAULT_MASTER_PORT,
  type MasterTarget,
  parseMasterOption,
} from './scheduler/master-address.js';
export { offerResources, type TaskCommand, type TaskSpec, taskInfo } from './tasks/task-info.js';
export {
  DEFAULT_EXECUTOR_RECOVERY_TIMEOUT_MS,
  DEFAULT_SUBSCRIPTION_BACKOFF_MAX_MS,
  EXECUTOR_PATH,
  ExecutorDriver,
  type ExecutorDriverOptions,
  type ExecutorKill,
  type ExecutorStatusUpdate,
  type ExecutorSubscribed,
} from './executor/driver.js';
