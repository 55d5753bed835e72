/**
 * @module @agora/testkit
 *
 * What Agora's tests share: private ZooKeeper and Redis servers from the
 * Debian packages (random ports, temp dirs, killed on stop and at exit;
 * installed with apt-get when running as root and missing, else a loud
 * AGORA_ERR_MISSING_PACKAGE naming the package), free ports, temp dirs,
 * bounded polling, process checks and the FakeClock.
 *
 * ```ts
 * import { startZooKeeper, waitFor } from '@agora/testkit';
 * const zk = await startZooKeeper();
 * try {
 *   const url = zk.url('/agora'); // zk://127.0.0.1:<port>/agora
 *   await waitFor(() => somethingReady(url), { timeoutMs: 10_000, message: 'the thing' });
 * } finally {
 *   await zk.stop();
 * }
 * ```
 */
export { FakeClock } from '@agora/common';
export { freePort, freePortRange } from './ports.js';
export { tempDir, removeTempDir } from './temp.js';
export { waitFor, sleep, DEFAULT_WAIT_FOR_OPTIONS, type WaitForOptions } from './wait.js';
export {
  killProcessesUnder,
  processAlive,
  onProcessExit,
  ServerProcess,
  type ServerProcessOptions,
} from './processes.js';
export { ensureDebianPackage } from './packages.js';
export {
  startZooKeeper,
  fourLetterWord,
  DEFAULT_ZOOKEEPER_OPTIONS,
  type ZooKeeperOptions,
  type ZooKeeperServer,
} from './zookeeper.js';
export { startRedis, type RedisOptions, type RedisServer } from './redis.js';
export { startTcpProxy, type TcpProxy, type PartitionMode } from './proxy.js';
