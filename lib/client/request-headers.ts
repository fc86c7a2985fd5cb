/**
 * The request header blocks of a client's calls, built once per connection, method and
 * encoding rather than once per call.
 */
import type { Encoding } from '../protocol/compression.js';
import { addCallHeaders, type HeaderBlock, requestHeaders } from '../protocol/headers.js';
import type { Metadata } from '../protocol/metadata.js';
import type { Subchannel } from './subchannel.js';

/** The header that tells the server how many attempts of this call came before (gRFC A6). */
const PREVIOUS_ATTEMPTS_HEADER = 'grpc-previous-rpc-attempts';

/** What varies between the calls of one method on one connection. */
export interface CallHeaderFields {
  /** Remaining time in ms; undefined when the call has no deadline. */
  timeoutMs: number | undefined;
  /** Request metadata; undefined (or empty) for none. */
  metadata: Metadata | undefined;
  /** Attempts of the call made before this one (0 for the first; not sent then). */
  previousAttempts: number;
}

/**
 * A client's request headers (see `requestHeaders`). The fixed part, per subchannel (its
 * `:authority` and `:scheme`), method path and encoding, is built on first use and frozen;
 * a call without deadline, metadata or earlier attempts sends it as it is (node:http2 copies
 * what it is given), any other gets a copy with `grpc-timeout`, its metadata and
 * `grpc-previous-rpc-attempts` added. Blocks live as long as their subchannel.
 */
export class RequestHeaderBlocks {
  private readonly blocks = new WeakMap<Subchannel, Map<string, Readonly<HeaderBlock>>>();

  /** `userAgent` undefined sends the default `nestjs-grpc-transport/<version>`. */
  constructor(private readonly userAgent: string | undefined) {}

  /** The request headers of a call of `path` on `subchannel`, sending with `encoding`. */
  block(subchannel: Subchannel, path: string, encoding: Encoding, fields: CallHeaderFields): Readonly<HeaderBlock> {
    const fixed = this.fixed(subchannel, path, encoding);
    const { timeoutMs, metadata, previousAttempts } = fields;
    if (timeoutMs === undefined && (metadata === undefined || metadata.size === 0) && previousAttempts === 0) return fixed;
    const block = addCallHeaders({ ...fixed }, timeoutMs, metadata);
    if (previousAttempts > 0) block[PREVIOUS_ATTEMPTS_HEADER] = String(previousAttempts);
    return block;
  }

  private fixed(subchannel: Subchannel, path: string, encoding: Encoding): Readonly<HeaderBlock> {
    let byMethod = this.blocks.get(subchannel);
    if (byMethod === undefined) {
      byMethod = new Map();
      this.blocks.set(subchannel, byMethod);
    }
    const key = encoding === 'identity' ? path : `${path} ${encoding}`;
    let block = byMethod.get(key);
    if (block === undefined) {
      block = Object.freeze(requestHeaders({ path, authority: subchannel.authority, scheme: subchannel.scheme, encoding, userAgent: this.userAgent }));
      byMethod.set(key, block);
    }
    return block;
  }
}
