/**
 * MasterInfo as Mesos publishes it: `ip` is the IPv4 address as a uint32 in
 * network byte order read on a little-endian host (127.0.0.1 → 16777343,
 * MESOS-1201), `pid` is `master@ip:port`. The JSON form goes into ZooKeeper.
 */
import { isIPv4 } from 'node:net';
import { hostname as osHostname } from 'node:os';
import type { MasterInfo } from '@agora/proto';

export const MASTER_VERSION = '0.1.0';

/** The uint32 Mesos writes for an IPv4 address (bytes in network order, read little-endian). */
export function ipv4ToMesosUint32(ip: string): number {
  const parts = ip.split('.').map((p) => Number(p));
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: ${ip}`);
  }
  const [a = 0, b = 0, c = 0, d = 0] = parts;
  return (a | (b << 8) | (c << 16) | (d << 24)) >>> 0;
}

/** The inverse of ipv4ToMesosUint32. */
export function mesosUint32ToIpv4(value: number): string {
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff].join('.');
}

/** The IPv4 address to publish for a bind host: the host itself, else 127.0.0.1. */
export function publishedIp(host: string): string {
  return isIPv4(host) && host !== '0.0.0.0' ? host : '127.0.0.1';
}

/** The hostname to publish: the configured one, else the bind address, else the machine's name for 0.0.0.0. */
export function publishedHostname(host: string, configured: string | undefined): string {
  if (configured !== undefined && configured !== '') return configured;
  if (host === '0.0.0.0' || host === '::') return osHostname();
  return host;
}

export function buildMasterInfo(opts: { id: string; host: string; hostname?: string; port: number }): MasterInfo {
  const ip = publishedIp(opts.host);
  const hostname = publishedHostname(opts.host, opts.hostname);
  return {
    id: opts.id,
    ip: ipv4ToMesosUint32(ip),
    port: opts.port,
    pid: `master@${ip}:${opts.port}`,
    hostname,
    version: MASTER_VERSION,
    address: { hostname, ip, port: opts.port },
  };
}

/** Where to reach a master described by a MasterInfo (parsed from ZooKeeper JSON): `host:port`. */
export function masterAuthority(info: Partial<MasterInfo> | undefined): string | undefined {
  if (info === undefined || info === null) return undefined;
  const host = info.hostname ?? info.address?.hostname ?? info.address?.ip ?? undefined;
  const port = info.port ?? info.address?.port ?? undefined;
  if (host === undefined || host === null || port === undefined || port === null) return undefined;
  return `${host}:${port}`;
}

/** `/version` and GET_VERSION's `version_info` (Mesos' VersionInfo JSON). */
export function versionJson(): Record<string, unknown> {
  return {
    version: MASTER_VERSION,
    build_date: '',
    build_time: 0,
    build_user: '',
    git_sha: '',
    git_branch: '',
    git_tag: '',
  };
}
