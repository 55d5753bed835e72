/** The state store chosen by the configuration: Redis when a URL is given, else files under a directory. */
export * from './repositories.js';
export { type AtomicStore, commitChange, isAtomicStore, type StoreChange } from './store-change.js';
export { FileStore, writeFileAtomic } from './file/file-store.js';
export { DEFAULT_REDIS_PREFIX, RedisStore, type RedisStoreOptions } from './redis/redis-store.js';
