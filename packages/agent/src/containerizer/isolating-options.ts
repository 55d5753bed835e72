/**
 * The isolating containerizer's options, the checkpoint it writes for each
 * container and their defaults (shared by `isolating.ts` and
 * `isolated-container.ts`).
 */
import type { Clock, Logger } from '@agora/common';
import type { ContainerCgroups } from '../isolation/cgroups.js';
import type { IsolationPlan } from '../isolation/isolation.js';

/** Mesos' `--container_disk_watch_interval`. */
export const DEFAULT_DISK_WATCH_INTERVAL_MS = 15_000;
/** How often memory (OOM) limitations are checked. */
export const DEFAULT_LIMIT_WATCH_INTERVAL_MS = 500;
/** How often a recovered container (no longer the agent's child) is checked for exit. */
export const DEFAULT_RECOVER_POLL_MS = 250;

export interface IsolatingContainerizerOptions {
  plan: IsolationPlan;
  /** Per-container runtime files (the exit status) go under `<runtimeDir>/<container>/`. */
  runtimeDir: string;
  /** Hard cap at `cpus` with the CFS quota. @default false */
  cgroupsEnableCfs?: boolean;
  /** Kill a container whose sandbox grows past its `disk`. @default false */
  enforceDiskQuota?: boolean;
  /** @default DEFAULT_DISK_WATCH_INTERVAL_MS */
  diskWatchIntervalMs?: number;
  /** @default DEFAULT_LIMIT_WATCH_INTERVAL_MS */
  limitWatchIntervalMs?: number;
  /** @default DEFAULT_RECOVER_POLL_MS */
  recoverPollMs?: number;
  /** @default 'unshare' */
  unshare?: string;
  /** @default 'nsenter' */
  nsenter?: string;
  /** The agent's sandboxes root (`<work_dir>/agents/`), to tell its orphan containers from other agents'. */
  sandboxRoot?: string;
  clock?: Clock;
  logger?: Logger;
}

/** What the agent checkpoints about a container. */
export interface IsolatedContainerCheckpoint {
  kind: 'agora-isolating/1';
  containerId: string;
  /** The supervisor's pid, also the process group id. */
  pid: number;
  /** The supervisor's start time (clock ticks since boot): tells it from a reused pid. */
  startTime: number | undefined;
  sandbox: string;
  statusFile: string;
  cgroups: ContainerCgroups | undefined;
  pidNamespace: boolean;
  /** The container has its own mount namespace (with the pid namespace), where its volumes are mounted. */
  mountNamespace?: boolean | undefined;
  limits: { cpus?: number | undefined; memBytes?: number | undefined; diskBytes?: number | undefined };
}
