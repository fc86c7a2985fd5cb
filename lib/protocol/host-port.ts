/**
 * Writing a host with a port as URLs and `:authority` do: IPv6 addresses in brackets.
 */

/** The host as it appears before a port: an IPv6 address (anything with a colon) in brackets, others as they are. */
export function bracketHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** `host:port`, an IPv6 host in brackets (`[::1]:50051`). */
export function joinHostPort(host: string, port: number): string {
  return `${bracketHost(host)}:${port}`;
}
