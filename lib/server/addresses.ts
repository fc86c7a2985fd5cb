/** Parsing of listen addresses and formatting of peer addresses. */
import { bracketHost, joinHostPort } from '../protocol/host-port.js';

/** A host and port to bind. */
export interface ListenAddress {
  host: string;
  port: number;
}

/**
 * Parses `host:port`, `[ipv6]:port` or `:port` (all interfaces). Throws a TypeError naming the
 * address when the port is missing or not in 0–65535.
 */
export function parseListenAddress(address: string): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address.trim());
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || !(port >= 0 && port <= 65535)) {
    throw new TypeError(`Invalid listen address ${JSON.stringify(address)}: expected host:port, [ipv6]:port or :port`);
  }
  const host = match[1] ?? match[2];
  return { host: host === '' ? '::' : host, port };
}

/** A unix socket to bind: a file path, or a name in the abstract namespace (`\0`-prefixed, Linux). */
export interface UnixListenAddress {
  path: string;
}

/**
 * Parses a listen address: `unix:path` (relative or absolute), `unix:///absolute/path` or
 * `unix-abstract:name` bind a unix socket (the file must not exist yet; it is removed when the
 * server closes); anything else is read by `parseListenAddress`. Throws a TypeError naming the
 * address when it cannot be read.
 */
export function parseListenTarget(address: string): ListenAddress | UnixListenAddress {
  const unix = /^unix(-abstract)?:(.*)$/s.exec(address.trim());
  if (unix === null) return parseListenAddress(address);
  const [, abstract, rest] = unix;
  const path = abstract ? `\0${rest}` : rest.replace(/^\/\/(?=\/)/, '');
  if (rest === '' || rest.includes('\0') || (!abstract && path.startsWith('//'))) {
    throw new TypeError(`Invalid listen address ${JSON.stringify(address)}: expected unix:path, unix:///absolute/path or unix-abstract:name`);
  }
  return { path };
}

/** A peer's address as `host:port`, IPv6 hosts in brackets; `unknown` when the socket is gone. */
export function peerAddress(host: string | undefined, port: number | undefined): string {
  if (host === undefined) return 'unknown';
  return port === undefined ? bracketHost(host) : joinHostPort(host, port);
}
