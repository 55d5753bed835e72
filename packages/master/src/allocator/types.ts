/** The allocator's inputs and outputs: an immutable snapshot in, decisions out. */
import type { Resources } from '@agora/common';

export interface AllocatorAgent {
  id: string;
  hostname: string;
  total: Resources;
  /** Used by tasks + outstanding offers. */
  allocated: Resources;
  active: boolean;
}

export interface AllocatorFramework {
  id: string;
  /** Roles the framework subscribes with; empty means ['*']. */
  roles: string[];
  active: boolean;
  suppressedRoles: string[];
  /** Across all agents (tasks + outstanding offers). */
  allocated: Resources;
  /**
   * The allocation split by the role it was allocated to. Optional: when
   * absent, all of `allocated` counts toward the framework's first role.
   */
  allocatedByRole?: Readonly<Record<string, Resources>>;
  /** It has the GPU_RESOURCES capability: it may be offered agents with gpus. @default false */
  gpuAware?: boolean;
}

export interface RefuseFilter {
  frameworkId: string;
  agentId: string;
  /** The role the declined offer was allocated to; absent = every role of the framework. */
  role?: string;
  /** Ms since the epoch; the filter is over once `now >= expiresAt`. */
  expiresAt: number;
}

export interface AllocationSnapshot {
  agents: readonly AllocatorAgent[];
  frameworks: readonly AllocatorFramework[];
  filters: readonly RefuseFilter[];
  /** Weight per role (default 1; values that are not > 0 count as 1). Weights of inner roles (`eng` for `eng/web`) count at their level. */
  weights?: Readonly<Record<string, number>>;
  /** Quota per role. A role's consumption includes its descendants' (`eng` counts `eng/web`). */
  quota?: Readonly<Record<string, RoleQuota>>;
}

/** Scalar amounts by resource name, e.g. `{ cpus: 4, mem: 4096 }`. */
export type ScalarQuantities = Readonly<Record<string, number>>;

/**
 * Quota of one role (Mesos' QuotaConfig). `guarantee`: resources the role is
 * offered before any fair sharing, and that stay held back (headroom) from
 * other roles until it has them. `limit`: what the role (with its
 * descendants) may never be offered beyond. Names absent from `limit` are
 * unlimited.
 */
export interface RoleQuota {
  guarantee?: ScalarQuantities;
  limit?: ScalarQuantities;
}

export interface OfferDecision {
  frameworkId: string;
  agentId: string;
  /** The role the resources are offered to (allocation role). */
  role: string;
  resources: Resources;
}

/** Why a framework was not offered an agent's resources in a cycle. */
export const RefusalReason = {
  /** A decline filter (refuse_seconds) for this framework and agent has not expired. */
  FILTERED: 'FILTERED',
  /** The framework suppressed offers for the role (`role` set), or for all its roles. */
  SUPPRESSED: 'SUPPRESSED',
  /** The framework is not connected/active. Recorded once with agentId '*'. */
  INACTIVE: 'INACTIVE',
  /** The agent is deactivated. Recorded once with frameworkId '*'. */
  AGENT_INACTIVE: 'AGENT_INACTIVE',
  /** The agent has nothing free. Recorded once with frameworkId '*'. */
  NOTHING_FREE: 'NOTHING_FREE',
  /** What is free (for `role`, when set) is below cpus:0.01 and mem:32. frameworkId '*'. */
  BELOW_MIN_ALLOCATABLE: 'BELOW_MIN_ALLOCATABLE',
  /** The role (or an ancestor) is at its quota limit: what is left would exceed it. frameworkId '*'. */
  QUOTA_LIMIT: 'QUOTA_LIMIT',
  /** The unreserved resources are held back as headroom for unsatisfied quota guarantees of other roles. frameworkId '*'. */
  QUOTA_HEADROOM: 'QUOTA_HEADROOM',
  /** The agent has gpus and the framework lacks the GPU_RESOURCES capability (Mesos' --filter_gpu_resources). */
  GPU_NOT_SUPPORTED: 'GPU_NOT_SUPPORTED',
} as const;
export type RefusalReason = (typeof RefusalReason)[keyof typeof RefusalReason];

/** Wildcard id in a Refusal: every framework or every agent. */
export const ALL = '*';

export interface Refusal {
  /** '*' when the refusal concerns every framework (an agent-level reason). */
  frameworkId: string;
  /** '*' when the refusal concerns every agent (a framework-level reason). */
  agentId: string;
  reason: RefusalReason;
  /** The role concerned, when the reason is about one role. */
  role?: string;
}

export interface AllocationResult {
  offers: OfferDecision[];
  /** Filters that are over at `now`; the caller drops them. */
  expiredFilters: RefuseFilter[];
  refusals: Refusal[];
}
