/**
 * One DNS resolution of a target name to all its addresses.
 */
import dns from 'node:dns';
import type { Address, DnsTarget } from './target.js';

/** Per-query timeout and tries when asking a DNS server named in the target (c-ares defaults are 5 s × 4). */
const QUERY_TIMEOUT_MS = 5000;
const QUERY_TRIES = 2;

/**
 * Resolves a DNS target to every address of its name, each with the target's port. Without a
 * DNS server in the target this is the system's resolver (`getaddrinfo`, so /etc/hosts
 * counts), in its order; with one (`dns://10.0.0.2:53/name`), its A records then its AAAA
 * records, each query timing out after 5 s and tried twice. Rejects with an Error naming the
 * name and the DNS error when there is no address.
 */
export async function resolveDns(target: DnsTarget): Promise<Address[]> {
  const { host, port, dnsServer } = target;
  const fail = (reason: unknown): never => {
    throw new Error(`DNS resolution of ${JSON.stringify(host)}${dnsServer ? ` at ${dnsServer}` : ''} failed: ${(reason as Error).message ?? String(reason)}`);
  };
  if (dnsServer === undefined) {
    const found = await dns.promises.lookup(host, { all: true, verbatim: true }).catch(fail);
    return found.map(({ address }) => ({ host: address, port }));
  }
  const resolver = new dns.promises.Resolver({ timeout: QUERY_TIMEOUT_MS, tries: QUERY_TRIES });
  resolver.setServers([dnsServer]);
  const answers = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
  const addresses = answers.flatMap((answer) => (answer.status === 'fulfilled' ? answer.value : []));
  if (addresses.length === 0) {
    const rejected = answers.find((answer): answer is PromiseRejectedResult => answer.status === 'rejected');
    fail(rejected?.reason ?? new Error('no A or AAAA records'));
  }
  return addresses.map((address) => ({ host: address, port }));
}
