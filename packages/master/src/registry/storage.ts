/**
 * Where the registry is kept. Every backend is a versioned store: `fetch`
 * returns the bytes and a version, `store` writes only if the version is
 * unchanged (compare-and-set), so a master that lost the lead can never
 * overwrite what a newer leader wrote.
 *
 * - ZooKeeper (`zk` set): the persistent znode `<zk path>/registry`, the znode version as the CAS token.
 * - Work dir (standalone with `workDir`): `<work_dir>/registry.pb` (8-byte version header + the registry),
 *   written to a temporary file, fsynced and renamed over the old one.
 * - Memory (standalone without a work dir; Mesos' `--registry=in_memory`): lost when the process exits.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { AgoraError, type Logger } from '@agora/common';
import { createVersionedStore, parseZkUrl, type VersionedStore, type VersionedValue } from '@agora/coordination';

export type RegistryStorage = VersionedStore;

/** The znode under the master's ZooKeeper path that holds the registry. */
export const REGISTRY_ZNODE = 'registry';
/** The registry file in the master's work dir (standalone mode). */
export const REGISTRY_FILE = 'registry.pb';

export function createRegistryStorage(options: {
  zk: string | undefined;
  workDir: string | undefined;
  sessionTimeoutMs: number;
  logger: Logger;
}): RegistryStorage {
  if (options.zk !== undefined) {
    const zk = options.zk;
    // Connect when first used (on election), not while this master is a standby.
    const base = parseZkUrl(zk).path;
    return new LazyStorage(`${base === '/' ? '' : base}/${REGISTRY_ZNODE}`, () =>
      createVersionedStore(zk, REGISTRY_ZNODE, { logger: options.logger, sessionTimeoutMs: options.sessionTimeoutMs }),
    );
  }
  if (options.workDir !== undefined) return new FileRegistryStorage(options.workDir);
  return new MemoryRegistryStorage();
}

function conflict(path: string, expected: number, actual: number): AgoraError {
  return new AgoraError(
    'AGORA_ERR_REGISTRY',
    `registry write refused: ${path} is at version ${actual}, expected ${expected} (another writer)`,
    { data: { conflict: true, path, expected, actual } },
  );
}

/** A storage made on first use. */
class LazyStorage implements RegistryStorage {
  private inner: RegistryStorage | undefined;

  constructor(
    readonly path: string,
    private readonly make: () => RegistryStorage,
  ) {}

  fetch(): Promise<VersionedValue> {
    this.inner ??= this.make();
    return this.inner.fetch();
  }

  store(data: Uint8Array, version: number): Promise<number> {
    this.inner ??= this.make();
    return this.inner.store(data, version);
  }

  async close(): Promise<void> {
    await this.inner?.close();
  }
}

export class MemoryRegistryStorage implements RegistryStorage {
  readonly path = 'memory';
  private value: VersionedValue = { data: undefined, version: -1 };

  async fetch(): Promise<VersionedValue> {
    return { data: this.value.data?.slice(), version: this.value.version };
  }

  async store(data: Uint8Array, version: number): Promise<number> {
    if (version !== this.value.version) throw conflict(this.path, version, this.value.version);
    this.value = { data: data.slice(), version: version + 1 };
    return this.value.version;
  }

  async close(): Promise<void> {}
}

const HEADER_BYTES = 8;

export class FileRegistryStorage implements RegistryStorage {
  readonly path: string;

  constructor(private readonly dir: string) {
    this.path = join(dir, REGISTRY_FILE);
  }

  async fetch(): Promise<VersionedValue> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { data: undefined, version: -1 };
      throw new AgoraError('AGORA_ERR_REGISTRY', `cannot read ${this.path}: ${String(err)}`, { cause: err });
    }
    if (bytes.length < HEADER_BYTES) {
      throw new AgoraError('AGORA_ERR_REGISTRY', `${this.path} is truncated (${bytes.length} bytes)`);
    }
    return { data: new Uint8Array(bytes.subarray(HEADER_BYTES)), version: Number(bytes.readBigUInt64BE(0)) };
  }

  async store(data: Uint8Array, version: number): Promise<number> {
    const current = (await this.fetch()).version;
    if (current !== version) throw conflict(this.path, version, current);
    const next = version + 1;
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeBigUInt64BE(BigInt(next), 0);
    const tmp = `${this.path}.tmp-${process.pid}`;
    try {
      await mkdir(this.dir, { recursive: true });
      const file = await open(tmp, 'w');
      try {
        await file.writeFile(Buffer.concat([header, data]));
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(tmp, this.path);
    } catch (err) {
      throw new AgoraError('AGORA_ERR_REGISTRY', `cannot write ${this.path}: ${String(err)}`, { cause: err });
    }
    return next;
  }

  async close(): Promise<void> {}
}
