/**
 * Flag values as Mesos and Marathon spell them, parsed into typed config
 * values at the edge. Every bad value throws AGORA_ERR_BAD_FLAG naming the flag.
 */
import { AgoraError, parseAttributes, parseResources } from '@agora/common';
import { parseZkUrl } from '@agora/coordination';

export function badFlag(flag: string, problem: string, cause?: unknown): AgoraError {
  return new AgoraError('AGORA_ERR_BAD_FLAG', `--${flag}: ${problem}`, {
    data: { flag },
    ...(cause === undefined ? {} : { cause }),
  });
}

export function parsePort(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) > 65535) {
    throw badFlag(flag, `must be a port number from 0 to 65535, got '${value}'`);
  }
  return Number(value);
}

export function parsePositiveInt(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw badFlag(flag, `must be a whole number ≥ 1, got '${value}'`);
  return Number(value);
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  ms: 1,
  secs: 1000,
  mins: 60_000,
  hrs: 3_600_000,
  days: 86_400_000,
  weeks: 604_800_000,
};

/** A Mesos duration (`500ms`, `1secs`, `10mins`, `2weeks`) in milliseconds. */
export function parseDuration(flag: string, value: string | undefined, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  const m = /^(\d+(?:\.\d+)?)(ns|us|ms|secs|mins|hrs|days|weeks)$/.exec(value.trim());
  const unit = m?.[2] === undefined ? undefined : DURATION_UNITS[m[2]];
  if (m === null || unit === undefined) {
    throw badFlag(flag, `must be a duration such as 500ms, 1secs, 10mins or 2weeks, got '${value}'`);
  }
  return Number(m[1]) * unit;
}

/** The longest delay a Node timer takes: a longer one fires after 1 ms (an interval becomes a busy loop). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A duration that drives a timer (an interval, a timeout): at most MAX_TIMER_MS (about 24.8 days). */
export function parseTimerDuration(flag: string, value: string | undefined, fallbackMs: number): number {
  const ms = parseDuration(flag, value, fallbackMs);
  if (ms > MAX_TIMER_MS) throw badFlag(flag, `must be at most ${MAX_TIMER_MS}ms (about 24 days), got '${value}'`);
  return ms;
}

const BYTE_UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/** A Mesos byte size (`512MB`, `2GB`, `100B`) in bytes; must be positive. */
export function parseBytes(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const m = /^(\d+(?:\.\d+)?)(B|KB|MB|GB|TB)$/.exec(value.trim());
  const unit = m?.[2] === undefined ? undefined : BYTE_UNITS[m[2]];
  const bytes = m === null || unit === undefined ? Number.NaN : Math.floor(Number(m[1]) * unit);
  if (!(bytes > 0)) throw badFlag(flag, `must be a size such as 100MB or 2GB, got '${value}'`);
  return bytes;
}

/** `--zk zk://host:2181,host2:2181/agora`; undefined stays undefined. */
export function parseZkFlag(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    parseZkUrl(value);
  } catch (err) {
    throw badFlag(flag, err instanceof Error ? err.message : String(err), err);
  }
  return value;
}

/** `--master`: `host:port`, `http://host:port` or `zk://…/path`. */
export function parseMasterFlag(flag: string, value: string | undefined): string {
  if (value === undefined || value.trim() === '') {
    throw badFlag(flag, 'is required: give the leading master as host:port or zk://host:2181/agora');
  }
  if (value.startsWith('zk://')) return parseZkFlag(flag, value) as string;
  const hostPort = value.replace(/^https?:\/\//, '').replace(/\/$/, '');
  const m = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d+)$/.exec(hostPort);
  if (m === null || Number(m[2]) > 65535) {
    throw badFlag(flag, `must be host:port, http://host:port or zk://host:2181/path, got '${value}'`);
  }
  return value;
}

/** `--resources`: validated now so a bad string stops the program before it starts. */
export function parseResourcesFlag(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    parseResources(value);
  } catch (err) {
    throw badFlag(flag, err instanceof Error ? err.message : String(err), err);
  }
  return value;
}

export function parseAttributesFlag(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    parseAttributes(value);
  } catch (err) {
    throw badFlag(flag, err instanceof Error ? err.message : String(err), err);
  }
  return value;
}

export function parseRedisFlag(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch (err) {
    throw badFlag(flag, `must be a URL such as redis://127.0.0.1:6379, got '${value}'`, err);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw badFlag(flag, `must use redis:// or rediss://, got '${value}'`);
  }
  return value;
}
