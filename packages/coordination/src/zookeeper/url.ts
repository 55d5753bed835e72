/**
 * `zk://[user:pass@]host1:2181,host2:2181/path` URLs, as Mesos' `--zk` and
 * `--master=zk://…` flags take them (`include/mesos/zookeeper/url.hpp`).
 */
import { AgoraError } from '@agora/common';
import type { ZkUrl } from '../types.js';

/** The port used when a host in a zk:// URL has none. */
export const DEFAULT_ZK_PORT = 2181;

const HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;

/**
 * Parse a ZooKeeper URL. Hosts without a port get 2181; a missing path means
 * `/`; a trailing `/` is dropped. Anything else malformed throws
 * AGORA_ERR_BAD_FLAG saying what is wrong and what a good URL looks like.
 */
export function parseZkUrl(url: string): ZkUrl {
  const bad = (why: string): AgoraError =>
    new AgoraError(
      'AGORA_ERR_BAD_FLAG',
      `bad ZooKeeper URL '${url}': ${why} (expected zk://[user:pass@]host1:2181[,host2:2181...]/path)`,
      { data: { url } },
    );
  if (typeof url !== 'string') throw bad('not a string');
  if (!/^zk:\/\//i.test(url)) throw bad("it must start with 'zk://'");
  if (/[\s?#]/.test(url)) throw bad('it must not contain spaces, ? or #');
  const rest = url.slice('zk://'.length);
  const slash = rest.indexOf('/');
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const rawPath = slash === -1 ? '/' : rest.slice(slash);

  let hostList = authority;
  let auth: string | undefined;
  const at = authority.lastIndexOf('@');
  if (at !== -1) {
    auth = authority.slice(0, at);
    hostList = authority.slice(at + 1);
    const colon = auth.indexOf(':');
    if (colon <= 0) throw bad("credentials must be 'user:password@' with a non-empty user");
  }

  if (hostList === '') throw bad('no ZooKeeper host given');
  const servers = hostList.split(',').map((entry) => {
    if (entry === '') throw bad('empty host in the host list');
    if (entry.startsWith('[')) throw bad(`IPv6 literal '${entry}' is not supported; use a host name or IPv4 address`);
    const parts = entry.split(':');
    if (parts.length > 2) throw bad(`host '${entry}' has more than one ':'`);
    const [host = '', portText] = parts;
    if (!HOST.test(host)) throw bad(`'${host}' is not a valid host name`);
    let port = DEFAULT_ZK_PORT;
    if (portText !== undefined) {
      if (!/^\d{1,5}$/.test(portText)) throw bad(`port '${portText}' of host '${host}' is not a number`);
      port = Number(portText);
      if (port < 1 || port > 65535) throw bad(`port ${port} of host '${host}' is out of range 1-65535`);
    }
    return `${host}:${port}`;
  });

  const path = rawPath.length > 1 && rawPath.endsWith('/') ? rawPath.slice(0, -1) : rawPath;
  if (path !== '/') {
    for (const segment of path.slice(1).split('/')) {
      if (segment === '') throw bad(`path '${rawPath}' has an empty segment`);
      if (segment === '.' || segment === '..') throw bad(`path '${rawPath}' has a relative segment '${segment}'`);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: ZooKeeper forbids control characters in node names.
      if (/[\u0000-\u001f\u007f]/.test(segment)) throw bad(`path '${rawPath}' has a control character`);
    }
    if (path === '/zookeeper' || path.startsWith('/zookeeper/')) throw bad("'/zookeeper' is reserved by ZooKeeper");
  }

  const parsed: ZkUrl = { connectString: servers.join(','), path };
  if (auth !== undefined) parsed.auth = auth;
  return parsed;
}

/** The URL again, with the password hidden (for logs and error messages). */
export function redactZkUrl(url: string): string {
  return url.replace(/^(zk:\/\/[^/@]*?:)[^/@]*@/i, '$1***@');
}
