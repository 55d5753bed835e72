/**
 * Sandbox garbage collector: every `checkIntervalMs` it measures the disk of
 * the work dir, lists the run directories under
 * `<work_dir>/agents/<a>/frameworks/<f>/executors/<e>/runs/<run>`, and removes
 * the ones no live task uses whose last change is older than the policy's
 * maximum age (`policy.ts`). A dangling `latest` link goes too, and executor
 * and framework directories left holding nothing.
 */
import { lstatSync, readdirSync, rmSync, statfsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Clock, type Disposable, type Logger, silentLogger } from '@agora/common';
import {
  DEFAULT_GC_CHECK_INTERVAL_MS,
  DEFAULT_GC_DELAY_MS,
  DEFAULT_GC_DISK_HEADROOM,
  type GcCandidate,
  gcMaxAgeMs,
  sandboxesToCollect,
} from './policy.js';

export interface SandboxGcOptions {
  workDir: string;
  clock: Clock;
  /** @default DEFAULT_GC_DELAY_MS (1 week) */
  gcDelayMs?: number;
  /** @default 0.1 */
  diskHeadroom?: number;
  /** @default 60000 */
  checkIntervalMs?: number;
  /** Sandboxes of live tasks (never collected). */
  inUse: () => Iterable<string>;
  /** Used fraction (0..1) of the work dir's file system. @default statfs of workDir */
  diskUsage?: () => number;
  logger?: Logger;
}

/** The used fraction of the file system holding `path`. */
export function diskUsageOf(path: string): number {
  const st = statfsSync(path);
  if (st.blocks === 0) return 0;
  return 1 - st.bavail / st.blocks;
}

function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** The newest mtime of a directory and its direct entries. */
function lastChangeMs(dir: string): number {
  let newest = statSync(dir).mtimeMs;
  for (const name of listDir(dir)) {
    try {
      newest = Math.max(newest, lstatSync(join(dir, name)).mtimeMs);
    } catch {
      // vanished meanwhile
    }
  }
  return newest;
}

export class SandboxGc {
  private timer: Disposable | undefined;
  private running: Promise<string[]> | undefined;
  private readonly logger: Logger;
  /** Sandboxes removed since start. */
  removedCount = 0;

  constructor(private readonly options: SandboxGcOptions) {
    this.logger = options.logger ?? silentLogger();
  }

  /** Check every `checkIntervalMs` from now on. */
  start(): void {
    this.timer ??= this.options.clock.setInterval(() => {
      void this.collect().catch((err) => this.logger.warn({ err }, 'sandbox gc failed'));
    }, this.options.checkIntervalMs ?? DEFAULT_GC_CHECK_INTERVAL_MS);
  }

  dispose(): void {
    this.timer?.dispose();
    this.timer = undefined;
  }

  /** The sandboxes on disk, with their last change and whether a live task uses them. */
  candidates(): GcCandidate[] {
    const inUse = new Set(this.options.inUse());
    const out: GcCandidate[] = [];
    const agents = join(this.options.workDir, 'agents');
    for (const a of listDir(agents)) {
      const frameworks = join(agents, a, 'frameworks');
      for (const f of listDir(frameworks)) {
        const executors = join(frameworks, f, 'executors');
        for (const e of listDir(executors)) {
          const runs = join(executors, e, 'runs');
          for (const r of listDir(runs)) {
            const path = join(runs, r);
            try {
              if (lstatSync(path).isSymbolicLink() || !statSync(path).isDirectory()) continue;
              out.push({ path, lastChangeMs: lastChangeMs(path), inUse: inUse.has(path) });
            } catch {
              // vanished meanwhile
            }
          }
        }
      }
    }
    return out;
  }

  /** One pass now (a pass already under way is joined). Resolves with the removed sandboxes. */
  collect(): Promise<string[]> {
    this.running ??= Promise.resolve()
      .then(() => this.pass())
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private pass(): string[] {
    const usage = (this.options.diskUsage ?? (() => diskUsageOf(this.options.workDir)))();
    const maxAge = gcMaxAgeMs(
      this.options.gcDelayMs ?? DEFAULT_GC_DELAY_MS,
      this.options.diskHeadroom ?? DEFAULT_GC_DISK_HEADROOM,
      usage,
    );
    const doomed = sandboxesToCollect(this.candidates(), this.options.clock.now(), maxAge);
    for (const path of doomed) {
      try {
        rmSync(path, { recursive: true, force: true });
        this.removedCount++;
        this.pruneParents(path);
      } catch (err) {
        this.logger.warn({ err, path }, 'cannot remove a sandbox');
      }
    }
    if (doomed.length > 0) {
      this.logger.info({ removed: doomed.length, maxAgeMs: maxAge, diskUsage: usage }, 'sandboxes garbage-collected');
    }
    return doomed;
  }

  /** Remove a dangling `latest`, then executor and framework directories that hold nothing else. */
  private pruneParents(sandbox: string): void {
    const runs = join(sandbox, '..');
    const latest = join(runs, 'latest');
    try {
      statSync(latest);
    } catch {
      rmSync(latest, { force: true });
    }
    const executor = join(runs, '..');
    if (listDir(runs).length > 0 || listDir(executor).join() !== 'runs') return;
    rmSync(executor, { recursive: true, force: true });
    const framework = join(executor, '..', '..');
    if (listDir(join(framework, 'executors')).length > 0 || listDir(framework).join() !== 'executors') return;
    rmSync(framework, { recursive: true, force: true });
  }
}
