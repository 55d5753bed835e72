/**
 * Where the leading master is. `--master` is `host:port`, `http://host:port`
 * (a fixed master) or `zk://host:2181,.../path` (the leader is detected in
 * ZooKeeper, where each master publishes its MasterInfo as JSON). Either way
 * the agent sees a LeaderDetector; its data is read for an `address`.
 */
import { AgoraError, type Logger } from '@agora/common';
import { createDetector, type LeaderDetector, StaticDetector } from '@agora/coordination';

/** The default master port, as in Mesos. */
export const DEFAULT_MASTER_PORT = 5050;

/** A `host:port` to connect to. */
export interface Endpoint {
  host: string;
  port: number;
}

export type MasterFlag = { kind: 'fixed'; endpoint: Endpoint } | { kind: 'zk'; url: string };

function badMaster(value: string, why: string): AgoraError {
  return new AgoraError(
    'AGORA_ERR_BAD_FLAG',
    `--master '${value}' is invalid: ${why} (expected 'host:port', 'http://host:port' or 'zk://host:2181/path')`,
    { data: { flag: 'master', value } },
  );
}

/** Parse `host`, `host:port`, `[v6]:port`, with or without `http://`/`https://`/`//` and a trailing path. */
export function parseEndpoint(text: string, defaultPort?: number): Endpoint | undefined {
  let rest = text.trim().replace(/^(https?:)?\/\//i, '');
  const slash = rest.indexOf('/');
  if (slash >= 0) rest = rest.slice(0, slash);
  let host: string;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(rest);
  if (v6 !== null) {
    host = v6[1] ?? '';
    portText = v6[2];
  } else {
    const colon = rest.lastIndexOf(':');
    host = colon >= 0 ? rest.slice(0, colon) : rest;
    portText = colon >= 0 ? rest.slice(colon + 1) : undefined;
  }
  if (host === '' || /[\s@]/.test(host)) return undefined;
  const port = portText === undefined ? defaultPort : /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
  if (port === undefined || !Number.isInteger(port) || port < 1 || port > 65_535) return undefined;
  return { host, port };
}

export function parseMasterFlag(master: string): MasterFlag {
  const value = master.trim();
  if (value === '') throw badMaster(master, 'it is empty');
  if (/^zk:\/\//i.test(value)) {
    if (value.length <= 'zk://'.length) throw badMaster(master, 'no ZooKeeper servers given');
    return { kind: 'zk', url: value };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) && !/^https?:\/\//i.test(value)) {
    throw badMaster(master, 'unsupported scheme');
  }
  const endpoint = parseEndpoint(value, DEFAULT_MASTER_PORT);
  if (endpoint === undefined) throw badMaster(master, 'not a host:port');
  return { kind: 'fixed', endpoint };
}

/** A detector for `--master`: a fixed leader, or ZooKeeper detection. */
export function createLeaderDetector(master: string, logger: Logger): LeaderDetector<unknown> {
  const flag = parseMasterFlag(master);
  if (flag.kind === 'zk') return createDetector(flag.url, { logger });
  const { host, port } = flag.endpoint;
  return new StaticDetector<unknown>({ hostname: host, port, address: { hostname: host, port } });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function validPort(v: unknown): number | undefined {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65_535 ? n : undefined;
}

/** Mesos writes MasterInfo.ip as a uint32 in network byte order. */
function ipFromUint32(ip: number): string {
  return [ip & 0xff, (ip >>> 8) & 0xff, (ip >>> 16) & 0xff, (ip >>> 24) & 0xff].join('.');
}

/**
 * The endpoint in a leader's data (MasterInfo JSON): `address.ip` or
 * `address.hostname` with `address.port`, else `hostname`/`ip` with `port`.
 */
export function leaderEndpoint(data: unknown): Endpoint | undefined {
  if (!isRecord(data)) return undefined;
  const address = isRecord(data['address']) ? data['address'] : undefined;
  const port = validPort(address?.['port']) ?? validPort(data['port']);
  if (port === undefined) return undefined;
  const candidates = [address?.['ip'], address?.['hostname'], data['hostname']];
  for (const c of candidates) if (typeof c === 'string' && c !== '') return { host: c, port };
  const ip = data['ip'];
  if (typeof ip === 'number' && ip > 0) return { host: ipFromUint32(ip), port };
  return undefined;
}

export function formatEndpoint(endpoint: Endpoint): string {
  return endpoint.host.includes(':') ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`;
}
