/**
 * A StoreChange in the file store: every directory it needs is created
 * first (a failure there writes nothing), then the change is written as one
 * journal file atomically — the commit point — then applied document by
 * document, then the journal is removed. A journal left behind (a crash, or
 * a write failing after the commit point) is applied again at the next open
 * and before the next change, so the state ends up with the whole change.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { AppRepository, DeploymentRepository, GroupRepository } from '../repositories.js';
import { guarded, parseStored } from '../repositories.js';
import { type StoreChange, writeInOrder } from '../store-change.js';

export const JOURNAL_FILE = 'pending-change.json';

export interface FileStoreParts {
  readonly location: string;
  readonly apps: AppRepository;
  readonly deployments: DeploymentRepository;
  readonly groups: GroupRepository;
  /** The store's atomic document write (temp file, fsync, rename). */
  writeAtomic(file: string, text: string): Promise<void>;
}

/** Apply a journal left by an interrupted change, if any; true when there was one. */
export function replayJournal(store: FileStoreParts): Promise<boolean> {
  return guarded('apply the pending change journal', async () => {
    const file = join(store.location, JOURNAL_FILE);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    await writeInOrder(store, parseStored<StoreChange>(text, 'the pending change journal'));
    await rm(file, { force: true });
    return true;
  });
}

export function fileCommit(store: FileStoreParts, change: StoreChange): Promise<void> {
  return guarded('write a change', async () => {
    await replayJournal(store);
    const dir = store.location;
    for (const sub of ['apps', 'app-versions', 'deployments', 'root-group-versions']) {
      await mkdir(join(dir, sub), { recursive: true });
    }
    await store.writeAtomic(join(dir, JOURNAL_FILE), JSON.stringify(change));
    await writeInOrder(store, change);
    await rm(join(dir, JOURNAL_FILE), { force: true });
  });
}
