/**
 * Where the driver looks for the leading master. Pure parsing, no I/O:
 * the `master` option ('host:port', 'http://host:port', a comma list of
 * those, or 'zk://…/path'), the `Location` of a standby's 307, and the
 * address inside a MasterInfo published in ZooKeeper.
 */
import { AgoraError } from '@agora/common';

/** The port a master listens on when the option names none (Mesos' default). */
export const DEFAULT_MASTER_PORT = 5050;

/** How to find the leader: fixed addresses to try in turn, or a ZooKeeper group to watch. */
export type MasterTarget = { kind: 'static'; addresses: string[] } | { kind: 'zk'; url: string };

/**
 * Parse the `master` option. Static addresses come back as `host:port`
 * (IPv6 hosts in brackets). Throws AGORA_ERR_BAD_REQUEST, naming the option,
 * for anything else.
 */
export function parseMasterOption(master: string): MasterTarget {
  const text = master.trim();
  if (text === '') throw badMaster(master, 'it is empty');
  if (text.startsWith('zk://')) {
    if (text.length <= 'zk://'.length) throw badMaster(master, 'no ZooKeeper hosts');
    return { kind: 'zk', url: text };
  }
  const addresses = text.split(',').map((part) => toHostPort(part.trim(), master));
  return { kind: 'static', addresses };
}

/**
 * The `host:port` a standby's 307 points at. Standbys answer with
 * `Location: //host:port[/path]`; absolute `http://host:port/...` is accepted too.
 * Returns undefined when the header is missing or unusable.
 */
export function addressFromLocation(location: unknown): string | undefined {
  const value = Array.isArray(location) ? location[0] : location;
  if (typeof value !== 'string' || value === '') return undefined;
  const absolute = value.startsWith('//') ? `http:${value}` : value;
  try {
    const url = new URL(absolute);
    if (url.hostname === '' || (url.protocol !== 'http:' && url.protocol !== 'https:')) return undefined;
    return `${url.hostname}:${url.port === '' ? DEFAULT_MASTER_PORT : url.port}`;
  } catch {
    return undefined;
  }
}

/**
 * The `host:port` of a master from its MasterInfo JSON (as published in
 * ZooKeeper): `address.ip` or `address.hostname` with `address.port`, else the
 * top-level `hostname`/`ip` (uint32, network byte order) and `port`.
 */
export function addressFromMasterInfo(info: unknown): string | undefined {
  if (typeof info !== 'object' || info === null) return undefined;
  const record = info as Record<string, unknown>;
  const address = record['address'];
  if (typeof address === 'object' && address !== null) {
    const a = address as Record<string, unknown>;
    const host = nonEmptyString(a['ip']) ?? nonEmptyString(a['hostname']);
    const port = toPort(a['port']);
    if (host !== undefined && port !== undefined) return joinHostPort(host, port);
  }
  const port = toPort(record['port']);
  if (port === undefined) return undefined;
  const host = nonEmptyString(record['hostname']) ?? ipFromUint32(record['ip']);
  return host === undefined ? undefined : joinHostPort(host, port);
}

/** `host:port`, bracketing IPv6 literals. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

function toHostPort(part: string, whole: string): string {
  if (part === '') throw badMaster(whole, 'an address in the list is empty');
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(part) ? part : `http://${part}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw badMaster(whole, `'${part}' is not host:port`);
  }
  if (url.protocol !== 'http:')
    throw badMaster(whole, `scheme '${url.protocol}' is not supported (use http:// or zk://)`);
  if (url.hostname === '') throw badMaster(whole, `'${part}' has no host`);
  if (url.pathname !== '/' && url.pathname !== '') throw badMaster(whole, `'${part}' has a path; give host:port only`);
  return `${url.hostname}:${url.port === '' ? DEFAULT_MASTER_PORT : url.port}`;
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function toPort(value: unknown): number | undefined {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 && n < 65536 ? n : undefined;
}

/** Mesos writes MasterInfo.ip as a uint32 in network byte order (MESOS-1201): first octet in the low byte. */
function ipFromUint32(value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > 0xffffffff) return undefined;
  return [0, 8, 16, 24].map((shift) => (value >>> shift) & 0xff).join('.');
}

function badMaster(master: string, why: string): AgoraError {
  return new AgoraError(
    'AGORA_ERR_BAD_REQUEST',
    `bad master '${master}': ${why}; expected 'host:port', 'http://host:port' or 'zk://host:2181/path'`,
    { data: { option: 'master', value: master } },
  );
}
