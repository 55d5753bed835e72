/**
 * @module @agora/coordination
 *
 * Leader election and detection on ZooKeeper in Mesos' layout (ephemeral
 * sequential `<path>/json.info_<10 digits>` znodes holding JSON, lowest
 * sequence leads), surviving session expiry; and a standalone mode without
 * ZooKeeper.
 *
 * ```ts
 * import { createContender, createDetector } from '@agora/coordination';
 * const contender = createContender('zk://127.0.0.1:2181/agora', masterInfo);
 * contender.onDidChangeLeadership((leading) => console.log({ leading }));
 * await contender.start();
 * ```
 */
export * from './types.js';
export * from './standalone.js';
export * from './zookeeper/index.js';
