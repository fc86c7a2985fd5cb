/** Parsing of listen addresses and formatting of peer addresses. */

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

/** A peer's address as `host:port`, IPv6 hosts in brackets; `unknown` when the socket is gone. */
export function peerAddress(host: string | undefined, port: number | undefined): string {
  if (host === undefined) return 'unknown';
  const shown = host.includes(':') ? `[${host}]` : host;
  return port === undefined ? shown : `${shown}:${port}`;
}
