/**
 * gRPC custom metadata: what a call sends and receives as HTTP/2 headers and trailers, minus
 * the headers the protocol itself owns.
 */

/** A metadata value: a string for ASCII keys, a Buffer for keys ending in `-bin`. */
export type MetadataValue = string | Buffer;

/** What `new Metadata(init)` accepts: a plain record (one value or several per key) or key/value pairs. */
export type MetadataInit = Record<string, MetadataValue | readonly MetadataValue[]> | Iterable<readonly [string, MetadataValue]>;

const KEY_PATTERN = /^[0-9a-z_.-]+$/;
const ASCII_VALUE_PATTERN = /^[\x20-\x7e]*$/;
const RESERVED_KEYS = new Set([
  'te',
  'content-type',
  'content-length',
  'user-agent',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'host',
]);

/** `grpc-` headers that applications set themselves: a server's retry pushback (gRFC A6) travels in its trailing metadata. */
const APPLICATION_GRPC_KEYS = new Set(['grpc-retry-pushback-ms']);

/**
 * Whether a (lower-case) header name belongs to the protocol rather than to user metadata:
 * pseudo-headers, `grpc-*` (except `grpc-retry-pushback-ms`, which a server sets to steer client
 * retries), `te`, `content-type`, `user-agent`, `connection` and the other connection-level headers.
 */
export function isReservedHeader(key: string): boolean {
  return key.startsWith(':') || (key.startsWith('grpc-') && !APPLICATION_GRPC_KEYS.has(key)) || RESERVED_KEYS.has(key);
}

/** Whether a metadata key names binary values (ends in `-bin`). */
export function isBinaryKey(key: string): boolean {
  return key.endsWith('-bin');
}

function checkKey(rawKey: string): string {
  const key = rawKey.toLowerCase();
  if (!KEY_PATTERN.test(key)) {
    throw new TypeError(`Invalid metadata key ${JSON.stringify(rawKey)}: keys may only contain 0-9 a-z _ . -`);
  }
  if (isReservedHeader(key)) {
    throw new TypeError(`Invalid metadata key ${JSON.stringify(rawKey)}: it is reserved for the gRPC protocol`);
  }
  return key;
}

function checkValue(key: string, value: MetadataValue): MetadataValue {
  if (isBinaryKey(key)) {
    if (!Buffer.isBuffer(value)) throw new TypeError(`Invalid metadata value for ${key}: keys ending in -bin take Buffer values`);
    return value;
  }
  if (typeof value !== 'string') throw new TypeError(`Invalid metadata value for ${key}: keys not ending in -bin take string values`);
  if (!ASCII_VALUE_PATTERN.test(value)) {
    throw new TypeError(`Invalid metadata value for ${key}: only printable ASCII is allowed (use a -bin key for other bytes)`);
  }
  return value;
}

function decodeBinary(text: string): Buffer {
  return Buffer.from(text, 'base64');
}

function encodeBinary(value: Buffer): string {
  return value.toString('base64').replace(/=+$/, '');
}

/**
 * An ordered multimap of metadata. Keys are lower-cased and validated on the way in (a bad key
 * or value throws a TypeError naming it); reserved protocol headers are refused. A key may hold
 * several values, sent as repeated header fields. `-bin` values are Buffers, sent as unpadded
 * base64 and accepted padded or not, comma-separated values split. Backed by a Map, so keys
 * such as `__proto__` are ordinary.
 */
export class Metadata {
  private readonly entriesByKey = new Map<string, MetadataValue[]>();

  constructor(init?: MetadataInit) {
    if (init === undefined) return;
    const pairs: Iterable<readonly [string, MetadataValue | readonly MetadataValue[]]> =
      Symbol.iterator in init ? (init as Iterable<readonly [string, MetadataValue]>) : Object.entries(init);
    for (const [key, value] of pairs) {
      if (Array.isArray(value)) for (const item of value) this.add(key, item);
      else this.add(key, value as MetadataValue);
    }
  }

  /** Appends a value to a key. */
  add(key: string, value: MetadataValue): this {
    const name = checkKey(key);
    const checked = checkValue(name, value);
    const values = this.entriesByKey.get(name);
    if (values === undefined) this.entriesByKey.set(name, [checked]);
    else values.push(checked);
    return this;
  }

  /** Replaces every value of a key with one value. */
  set(key: string, value: MetadataValue): this {
    const name = checkKey(key);
    this.entriesByKey.set(name, [checkValue(name, value)]);
    return this;
  }

  /** All values of a key, in the order received (a copy; empty when absent). */
  get(key: string): MetadataValue[] {
    return [...(this.entriesByKey.get(key.toLowerCase()) ?? [])];
  }

  /** The first value of a key, or `undefined`. */
  first(key: string): MetadataValue | undefined {
    return this.entriesByKey.get(key.toLowerCase())?.[0];
  }

  /** Whether the key has at least one value. */
  has(key: string): boolean {
    return this.entriesByKey.has(key.toLowerCase());
  }

  /** Removes every value of a key. */
  delete(key: string): boolean {
    return this.entriesByKey.delete(key.toLowerCase());
  }

  /** The distinct keys, in insertion order. */
  keys(): IterableIterator<string> {
    return this.entriesByKey.keys();
  }

  /** Every key/value pair, a key repeated once per value. */
  *[Symbol.iterator](): IterableIterator<[string, MetadataValue]> {
    for (const [key, values] of this.entriesByKey) for (const value of values) yield [key, value];
  }

  /** The number of distinct keys. */
  get size(): number {
    return this.entriesByKey.size;
  }

  /** An independent copy. */
  clone(): Metadata {
    const copy = new Metadata();
    for (const [key, values] of this.entriesByKey) copy.entriesByKey.set(key, [...values]);
    return copy;
  }

  /** Appends every value of `other` to this metadata. */
  merge(other: Metadata): this {
    for (const [key, value] of other) this.add(key, value);
    return this;
  }

  /** A plain record of key → values (safe for any key, `__proto__` included). */
  toJSON(): Record<string, MetadataValue[]> {
    return Object.fromEntries([...this.entriesByKey].map(([key, values]) => [key, [...values]]));
  }

  /** The HTTP/2 header fields for this metadata: key → wire values (binary as unpadded base64). */
  toHeaders(): Record<string, string[]> {
    const headers: Record<string, string[]> = Object.create(null);
    for (const [key, values] of this.entriesByKey) {
      headers[key] = values.map((value) => (typeof value === 'string' ? value : encodeBinary(value)));
    }
    return headers;
  }

  /**
   * The user metadata in a received header block, given as Node's raw header list
   * (`[name, value, name, value, …]`), which keeps repeated fields apart. Reserved headers are
   * skipped; so are fields that no sender could have produced validly (a peer's bad input is
   * dropped, not thrown).
   */
  static fromRawHeaders(rawHeaders: readonly string[]): Metadata {
    const metadata = new Metadata();
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      metadata.addReceived(rawHeaders[i].toLowerCase(), rawHeaders[i + 1]);
    }
    return metadata;
  }

  /** Like {@link Metadata.fromRawHeaders}, from Node's header object (repeated fields arrive joined by `, `). */
  static fromHeaders(headers: Readonly<Record<string, string | string[] | number | undefined>>): Metadata {
    const metadata = new Metadata();
    for (const key of Object.keys(headers)) {
      const value = headers[key];
      if (value === undefined || typeof value === 'number') continue;
      for (const item of Array.isArray(value) ? value : [value]) metadata.addReceived(key, item);
    }
    return metadata;
  }

  private addReceived(key: string, text: string): void {
    if (isReservedHeader(key) || !KEY_PATTERN.test(key)) return;
    // A value `add` would refuse is dropped, so received metadata can always be echoed back.
    if (!isBinaryKey(key) && !ASCII_VALUE_PATTERN.test(text)) return;
    const values = isBinaryKey(key) ? text.split(',').map((part) => decodeBinary(part.trim())) : [text];
    const existing = this.entriesByKey.get(key);
    if (existing === undefined) this.entriesByKey.set(key, values);
    else existing.push(...values);
  }
}
