/**
 * The allocator: a pure function from a snapshot of agents, frameworks and
 * filters to offer decisions (hierarchical DRF over roles, then frameworks).
 *
 * ```ts
 * const { offers, expiredFilters, refusals } = allocate(snapshot, clock.now(), Math.random);
 * ```
 */
export { type AllocateOptions, allocate, isAllocatable, MIN_ALLOCATABLE } from './allocate.js';
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
} from './types.js';
