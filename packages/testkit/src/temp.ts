/** Temporary directories that are removed at the latest when the process exits. */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onProcessExit } from './processes.js';

const live = new Set<string>();
let hooked = false;

/**
 * Create a fresh directory under the OS temp dir, named `<prefix>XXXXXX`.
 * It is removed by `removeTempDir` or, failing that, when the process exits.
 */
export async function tempDir(prefix = 'agora-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  live.add(dir);
  if (!hooked) {
    hooked = true;
    onProcessExit(() => {
      for (const d of live) rmSync(d, { recursive: true, force: true });
      live.clear();
    });
  }
  return dir;
}

/** Remove a directory made by `tempDir` (and everything in it). Safe to call twice. */
export async function removeTempDir(dir: string): Promise<void> {
  live.delete(dir);
  await rm(dir, { recursive: true, force: true });
}
