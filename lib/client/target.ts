/**
 * Client targets: where a channel connects. Accepts `host:port`, `[ipv6]:port`,
 * `dns:///host:port` and `dns:host:port`; the port defaults to 443 as gRPC's naming rules say.
 */

/** One address to connect to, and the authority (`host:port`) sent in `:authority`. */
export interface Target {
  host: string;
  port: number;
  authority: string;
}

const DEFAULT_PORT = 443;

/** Parses a target string. Throws a TypeError naming the target when it cannot be read. */
export function parseTarget(target: string): Target {
  const address = target.trim().replace(/^dns:(\/\/[^/]*\/)?/, '');
  const match = /^(?:\[([^\]\s]+)\]|([^:[\]/\s]+))(?::(\d+))?$/.exec(address);
  if (match === null) {
    throw new TypeError(`Invalid target ${JSON.stringify(target)}: expected host:port, [ipv6]:port or dns:///host:port`);
  }
  const port = match[3] === undefined ? DEFAULT_PORT : Number(match[3]);
  if (!(port > 0 && port <= 65535)) throw new TypeError(`Invalid target ${JSON.stringify(target)}: port out of range`);
  const host = match[1] ?? match[2];
  const shownHost = match[1] !== undefined ? `[${host}]` : host;
  return { host, port, authority: `${shownHost}:${port}` };
}
