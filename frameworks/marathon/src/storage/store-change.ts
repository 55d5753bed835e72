/**
 * One change of the state that must be written at once: apps stored or
 * deleted, the deployment that change starts (and the deployments it
 * supersedes), and the new root group version. A crash or a failing store
 * never leaves an app change without its deployment, or the reverse.
 *
 * Redis: one Lua script that checks every key's type first and then writes
 * (Redis runs a script atomically; the check means no command can fail
 * half-way). Files: a journal written atomically (the commit point), then
 * applied; a journal left by a crash is applied again at the next open.
 */
import type { DeploymentRecord } from '../deployments/deployment-tracker.js';
import type { AppDefinition } from '../model/app-definition.js';
import type { MarathonStore, RootGroupRecord } from './repositories.js';

export interface StoreChange {
  /** Stored as current and added to the version history. */
  putApps?: AppDefinition[];
  /** Removed with their history. */
  deleteApps?: string[];
  putDeployment?: DeploymentRecord;
  deleteDeployments?: string[];
  /** The new root group version. */
  root?: RootGroupRecord;
}

/** A store that writes a StoreChange atomically. */
export interface AtomicStore {
  commit(change: StoreChange): Promise<void>;
}

export function isAtomicStore(store: MarathonStore): store is MarathonStore & AtomicStore {
  return typeof (store as Partial<AtomicStore>).commit === 'function';
}

/**
 * Write a change: atomically when the store can, else (a store without
 * `commit`) in order — apps, deployment, superseded deployments, root group.
 */
export async function commitChange(store: MarathonStore, change: StoreChange): Promise<void> {
  if (isAtomicStore(store)) await store.commit(change);
  else await writeInOrder(store, change);
}

/** Write a change document by document, in order (the file store's journal replay uses it too). */
export async function writeInOrder(
  store: Pick<MarathonStore, 'apps' | 'deployments' | 'groups'>,
  change: StoreChange,
): Promise<void> {
  for (const app of change.putApps ?? []) await store.apps.put(app);
  for (const id of change.deleteApps ?? []) await store.apps.delete(id);
  if (change.putDeployment !== undefined) await store.deployments.put(change.putDeployment);
  for (const id of change.deleteDeployments ?? []) await store.deployments.delete(id);
  if (change.root !== undefined) await store.groups?.putRoot(change.root);
}
