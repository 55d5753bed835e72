/**
 * ZooKeeper leader election and detection in Mesos' layout, and the
 * factories that pick ZooKeeper or standalone mode.
 *
 * ```
 *  <path>/json.info_0000000007   {"id":"…","hostname":"m1","port":5050,…}  ← leader (lowest sequence)
 *  <path>/json.info_0000000009   {"id":"…","hostname":"m2","port":5050,…}    watches _07
 *  <path>/json.info_0000000012   {"id":"…","hostname":"m3","port":5050,…}    watches _09
 *  <path>/log_replicas/…                                                       ignored (other name)
 * ```
 */
import { StandaloneContender } from '../standalone.js';
import type { LeaderContender, LeaderDetector } from '../types.js';
import { ZkContender, type ZkContenderOptions } from './contender.js';
import { ZkDetector, type ZkDetectorOptions } from './detector.js';
import { parseZkUrl } from './url.js';

export { parseZkUrl, redactZkUrl, DEFAULT_ZK_PORT } from './url.js';
export { ZkContender, DEFAULT_CONTENDER_OPTIONS, type ZkContenderOptions } from './contender.js';
export { ZkDetector, DEFAULT_DETECTOR_OPTIONS, type ZkDetectorOptions } from './detector.js';
export { parseMember, sortMembers, standingOf, type Member, type Standing } from './members.js';

/**
 * A contender for `zk` (`zk://…/path`), or a StandaloneContender (leads as
 * soon as it starts) when `zk` is undefined. A bad URL throws AGORA_ERR_BAD_FLAG.
 */
export function createContender<T>(zk: string | undefined, data: T, options?: ZkContenderOptions): LeaderContender<T> {
  if (zk === undefined) return new StandaloneContender(data);
  return new ZkContender(parseZkUrl(zk), data, options);
}

/** A detector for the election at `zk` (`zk://…/path`). A bad URL throws AGORA_ERR_BAD_FLAG. */
export function createDetector<T>(zk: string, options?: ZkDetectorOptions): LeaderDetector<T> {
  return new ZkDetector<T>(parseZkUrl(zk), options);
}
export {
  createVersionedStore,
  type VersionedStore,
  type VersionedStoreOptions,
  type VersionedValue,
} from './versioned-store.js';
