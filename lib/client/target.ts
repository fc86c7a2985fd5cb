/**
 * Client targets as gRPC's naming document defines them: `host[:port]`, `[ipv6][:port]`,
 * `dns:[//dns-server/]host[:port]`, `ipv4:addr[:port][,addr[:port]...]`,
 * `ipv6:addr` or `ipv6:[addr]:port` lists, `unix:path`, `unix:///absolute/path` and
 * `unix-abstract:name`. The port defaults to 443.
 */
import net from 'node:net';
import { joinHostPort } from '../protocol/host-port.js';

/** One address to connect to: an IP address (or host) and port, or a unix socket path (`\0`-prefixed for the abstract namespace). */
export type Address = { host: string; port: number } | { path: string };

/** What every target has: its text, the `:authority` it sends and the TLS server name it checks. */
interface TargetBase {
  /** The target as given, for messages. */
  text: string;
  /**
   * The `:authority` of calls: the name's `host:port` for DNS targets (never a resolved IP),
   * the first address for `ipv4:`/`ipv6:` lists, `localhost` for unix sockets.
   */
  authority: string;
  /** The name sent as SNI and checked against the server certificate; undefined for IP addresses. */
  serverName: string | undefined;
}

/** A target whose addresses are known without resolution: IP literals, address lists, unix sockets. */
export interface StaticTarget extends TargetBase {
  kind: 'static';
  /** The addresses, in the order written. */
  addresses: Address[];
}

/** A DNS name to resolve to all its A/AAAA records, through the system resolver or `dnsServer`. */
export interface DnsTarget extends TargetBase {
  kind: 'dns';
  /** The name to resolve. */
  host: string;
  /** The port of every address it resolves to (default 443). */
  port: number;
  /** `ip` or `ip:port` (`[ipv6]:port`) of the DNS server from `dns://server/name`; undefined: the system's resolver (getaddrinfo, /etc/hosts). */
  dnsServer: string | undefined;
}

/** A parsed target. */
export type Target = StaticTarget | DnsTarget;

const DEFAULT_PORT = 443;
const DEFAULT_DNS_PORT = 53;
const HOST_PORT = /^(?:\[([^\][\s]+)\]|([A-Za-z0-9_.-]+))(?::(\d{1,5}))?$/;

/** An address as people write it: `host:port`, `unix:path` or `unix-abstract:name`. Also its identity within a channel. */
export function formatAddress(address: Address): string {
  if ('host' in address) return joinHostPort(address.host, address.port);
  return address.path.startsWith('\0') ? `unix-abstract:${address.path.slice(1)}` : `unix:${address.path}`;
}

function invalid(text: string, why: string): TypeError {
  return new TypeError(`Invalid target ${JSON.stringify(text)}: ${why}`);
}

/** Splits `host[:port]` / `[ipv6][:port]`; the port defaults to `defaultPort` and must be 1–65535. */
function hostPort(text: string, part: string, defaultPort: number): { host: string; port: number; bracketed: boolean } {
  const match = HOST_PORT.exec(part);
  if (match === null) throw invalid(text, `expected host[:port] or [ipv6][:port], got ${JSON.stringify(part)}`);
  const bracketed = match[1] !== undefined;
  const host = match[1] ?? match[2];
  if (bracketed && !net.isIPv6(host)) throw invalid(text, `${JSON.stringify(host)} in brackets is not an IPv6 address`);
  const port = match[3] === undefined ? defaultPort : Number(match[3]);
  if (!(port >= 1 && port <= 65535)) throw invalid(text, `port ${match[3]} is not in 1-65535`);
  return { host, port, bracketed };
}

function ipTarget(text: string, addresses: Array<{ host: string; port: number }>): StaticTarget {
  const first = addresses[0];
  return { kind: 'static', text, authority: joinHostPort(first.host, first.port), serverName: undefined, addresses };
}

function dnsTarget(text: string, name: string, dnsServer: string | undefined): Target {
  const { host, port } = hostPort(text, name, DEFAULT_PORT);
  if (net.isIP(host) !== 0) return ipTarget(text, [{ host, port }]);
  return { kind: 'dns', text, authority: `${host}:${port}`, serverName: host, host, port, dnsServer };
}

/** `dns:` after the scheme: `//server/host[:port]`, `///host[:port]` or `host[:port]`. */
function parseDns(text: string, rest: string): Target {
  if (!rest.startsWith('//')) return dnsTarget(text, rest, undefined);
  const slash = rest.indexOf('/', 2);
  if (slash < 0) throw invalid(text, 'expected dns://dns-server/host[:port] or dns:///host[:port]');
  const server = rest.slice(2, slash);
  if (server === '') return dnsTarget(text, rest.slice(slash + 1), undefined);
  const { host, port } = hostPort(text, server, DEFAULT_DNS_PORT);
  if (net.isIP(host) === 0) throw invalid(text, `the DNS server ${JSON.stringify(server)} must be an IP address`);
  return dnsTarget(text, rest.slice(slash + 1), joinHostPort(host, port));
}

/** `ipv4:` or `ipv6:` after the scheme: comma-separated addresses, IPv6 ones bracketed when they have a port. */
function parseIpList(text: string, rest: string, family: 4 | 6): StaticTarget {
  const addresses = rest.split(',').map((part) => {
    if (family === 6 && net.isIPv6(part)) return { host: part, port: DEFAULT_PORT };
    const { host, port, bracketed } = hostPort(text, part, DEFAULT_PORT);
    if (net.isIP(host) !== family || (family === 6 && !bracketed)) throw invalid(text, `${JSON.stringify(part)} is not an IPv${family} address[:port]`);
    return { host, port };
  });
  return ipTarget(text, addresses);
}

function unixTarget(text: string, path: string): StaticTarget {
  if (path === '' || path === '\0' || path.slice(1).includes('\0')) throw invalid(text, 'the socket path is empty or contains a NUL byte');
  return { kind: 'static', text, authority: 'localhost', serverName: 'localhost', addresses: [{ path }] };
}

function parseUnix(text: string, rest: string): StaticTarget {
  if (!rest.startsWith('//')) return unixTarget(text, rest);
  if (!rest.startsWith('///')) throw invalid(text, 'unix:// takes an absolute path (unix:///path); use unix:path for a relative one');
  return unixTarget(text, rest.slice(2));
}

/**
 * Parses a target. Without a scheme, or with one this library does not know and no `//`
 * (`localhost:50051` reads as scheme `localhost`), the text is a DNS `host[:port]`. IP literals
 * need no resolution. Throws a TypeError naming the target and the problem.
 */
export function parseTarget(target: string): Target {
  const text = target.trim();
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s.exec(text);
  switch (scheme?.[1].toLowerCase()) {
    case 'dns':
      return parseDns(target, scheme![2]);
    case 'ipv4':
      return parseIpList(target, scheme![2], 4);
    case 'ipv6':
      return parseIpList(target, scheme![2], 6);
    case 'unix':
      return parseUnix(target, scheme![2]);
    case 'unix-abstract':
      return unixTarget(target, `\0${scheme![2]}`);
    default:
      if (scheme?.[2].startsWith('//')) throw invalid(target, `unsupported scheme ${JSON.stringify(scheme[1])} (dns, ipv4, ipv6, unix and unix-abstract are)`);
      return dnsTarget(target, text, undefined);
  }
}
