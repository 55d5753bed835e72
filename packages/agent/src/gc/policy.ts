/**
 * Sandbox garbage collection, the decision (pure): Mesos' rule
 * (`src/slave/slave.cpp`, `Slave::_checkDiskUsage`). A finished sandbox is
 * removed `gc_delay` after its last change; when the disk fills up the delay
 * shrinks: `max_age = gc_delay × max(0, 1 − gc_disk_headroom − disk_usage)`,
 * so at `disk_usage ≥ 1 − headroom` every finished sandbox goes at once.
 */

/** Mesos' `--gc_delay` (1 week). */
export const DEFAULT_GC_DELAY_MS = 7 * 24 * 3600 * 1000;
/** Mesos' `--gc_disk_headroom`. */
export const DEFAULT_GC_DISK_HEADROOM = 0.1;
/** Mesos' `--disk_watch_interval` (1 min). */
export const DEFAULT_GC_CHECK_INTERVAL_MS = 60_000;

/** The longest a finished sandbox may stay, given the disk usage (a fraction 0..1). */
export function gcMaxAgeMs(gcDelayMs: number, diskHeadroom: number, diskUsage: number): number {
  const usage = Math.min(1, Math.max(0, Number.isFinite(diskUsage) ? diskUsage : 0));
  return gcDelayMs * Math.max(0, 1 - diskHeadroom - usage);
}

export interface GcCandidate {
  path: string;
  /** Milliseconds since the epoch of the sandbox's last change. */
  lastChangeMs: number;
  /** A live task still uses it. */
  inUse: boolean;
}

/** The sandboxes to remove now, oldest first. */
export function sandboxesToCollect(candidates: readonly GcCandidate[], nowMs: number, maxAgeMs: number): string[] {
  return candidates
    .filter((c) => !c.inUse && nowMs - c.lastChangeMs >= maxAgeMs)
    .sort((a, b) => a.lastChangeMs - b.lastChangeMs)
    .map((c) => c.path);
}
