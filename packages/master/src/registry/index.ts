/**
 * The master's registry: what must survive a master failover (admitted,
 * unreachable and gone agents; maintenance; quota; weights), written through
 * the Registrar as batches of pure operations with compare-and-set. See
 * docs/registry.md.
 */
export * from './operations.js';
export { Registrar, type RegistrarMetrics } from './registrar.js';
export {
  createRegistryStorage,
  FileRegistryStorage,
  MemoryRegistryStorage,
  REGISTRY_FILE,
  REGISTRY_ZNODE,
  type RegistryStorage,
} from './storage.js';
export { registryQuotaStore, type QuotaStore, type RoleWeight } from './config-store.js';
