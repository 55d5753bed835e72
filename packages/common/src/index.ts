/**
 * @module @agora/common
 *
 * What every Agora package shares: the resource algebra and its text syntax
 * (`cpus:4;mem:1024;ports:[31000-32000]`, `cpus(role):2`), attributes, ids,
 * the Clock (with a FakeClock for tests), typed errors with stable codes,
 * disposables, typed events and structured logging.
 *
 * ```ts
 * import { parseResources, formatResources } from '@agora/common';
 * const r = parseResources('cpus:2;mem:1024;ports:[31000-31009]');
 * formatResources(r); // 'cpus:2;mem:1024;ports:[31000-31009]'
 * ```
 */
export * from './errors.js';
export * from './clock.js';
export * from './disposable.js';
export * from './emitter.js';
export * from './ids.js';
export * from './logger.js';
export * from './resources/index.js';
