/**
 * `acceptedEncodings`: a request's `grpc-accept-encoding` header as a set, parsed once per
 * distinct header value (clients send the same few values on every call).
 */
import { parseAcceptEncoding } from '../protocol/compression.js';

/** Distinct header values remembered; beyond this the cache starts over (so odd clients cannot grow it). */
const CACHE_LIMIT = 64;

const cache = new Map<string, ReadonlySet<string>>();
let absent: ReadonlySet<string> | undefined;

/**
 * The encodings a client accepts for responses (`identity` always included), as
 * `parseAcceptEncoding` reads them. The set is shared by every call with the same header value:
 * never change it.
 */
export function acceptedEncodings(header: string | undefined): ReadonlySet<string> {
  if (header === undefined) return (absent ??= parseAcceptEncoding(undefined));
  let accepted = cache.get(header);
  if (accepted === undefined) {
    if (cache.size >= CACHE_LIMIT) cache.clear();
    accepted = parseAcceptEncoding(header);
    cache.set(header, accepted);
  }
  return accepted;
}
