/**
 * The allocator: a pure function from a snapshot of agents, frameworks,
 * filters, weights and quota to offer decisions (hierarchical weighted DRF
 * over roles, then frameworks; quota guarantees first, limits never exceeded;
 * reservations only to their role and its descendants). See docs/allocator.md.
 *
 * ```ts
 * const { offers, expiredFilters, refusals } = allocate(snapshot, clock.now(), Math.random);
 * ```
 */
export {
  type AllocateOptions,
  allocate,
  FAIR_SHARING_EXCLUDED_RESOURCE_NAMES,
  isAllocatable,
  MIN_ALLOCATABLE,
} from './allocate.js';
export { type QuantityMap, Quantities } from './quantities.js';
export { HierarchicalDrfSorter } from './role-sorter.js';
export { allocatableTo, ancestorsAndSelf, isWithin, parentOf } from './roles.js';
export { DrfSorter, RandomSorter, type Sorter } from './sorter.js';
export {
  ALL,
  type AllocationResult,
  type AllocationSnapshot,
  type AllocatorAgent,
  type AllocatorFramework,
  type OfferDecision,
  type Refusal,
  RefusalReason,
  type RefuseFilter,
  type RoleQuota,
  type ScalarQuantities,
} from './types.js';
