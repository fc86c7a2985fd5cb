/**
 * `HpackDecoder`, a small HPACK header-block decoder (RFC 7541) for the frame-level load
 * generator: static and dynamic table, all field representations, Huffman strings. Names and
 * values are latin1 strings (one character per octet). A server's blocks must all be decoded,
 * in order, for the dynamic table to stay in step with the server's encoder.
 */
import { huffmanDecode, HuffmanError } from './hpack-huffman.js';
import { STATIC_TABLE } from './hpack-static-table.js';

/** A header block HPACK must reject: a connection error (COMPRESSION_ERROR, 9). */
export class HpackError extends Error {}

/** Receives each decoded header field, in order. */
export interface HeaderSink {
  header(name: string, value: string): void;
}

/** Per-entry overhead in the table size (RFC 7541 §4.1). */
const ENTRY_OVERHEAD = 32;
/** Integers beyond this are rejected (no header block of ours needs more). */
const MAX_INTEGER = 0x7fffffff;

/**
 * Decodes the header blocks of one connection. `maxTableSize` is the HEADER_TABLE_SIZE the
 * client advertised (default 4,096, the protocol's default): a size update above it is an error.
 * Throws `HpackError` for any malformed block (bad index, truncated integer or string, a size
 * update after the first field, bad Huffman data); the connection must then be closed.
 */
export class HpackDecoder {
  /** Dynamic table, newest first: entry (62 + i) is [names[i], values[i]]. */
  private readonly names: string[] = [];
  private readonly values: string[] = [];
  private size = 0;
  private limit: number;
  private offset = 0;
  private end = 0;
  private block: Uint8Array = new Uint8Array(0);

  constructor(private readonly maxTableSize = 4096) {
    this.limit = maxTableSize;
  }

  /** The dynamic table's current size in the RFC's accounting (octets + 32 per entry). */
  get tableSize(): number {
    return this.size;
  }

  /** Number of entries in the dynamic table. */
  get tableLength(): number {
    return this.names.length;
  }

  /** Decodes one complete header block (all its HEADERS/CONTINUATION fragments joined), passing each field to `sink`. */
  decode(block: Uint8Array, sink: HeaderSink): void {
    this.block = block;
    this.offset = 0;
    this.end = block.length;
    let fields = 0;
    while (this.offset < this.end) {
      const byte = block[this.offset];
      if (byte >= 0x80) {
        const index = this.integer(7);
        if (index === 0) throw new HpackError('indexed header field with index 0');
        sink.header(this.nameAt(index), this.valueAt(index));
      } else if (byte >= 0x40) {
        const name = this.literalName(6);
        const value = this.string();
        this.insert(name, value);
        sink.header(name, value);
      } else if (byte >= 0x20) {
        if (fields > 0) throw new HpackError('dynamic table size update after a header field');
        const size = this.integer(5);
        if (size > this.maxTableSize) throw new HpackError(`dynamic table size update to ${size}, above the ${this.maxTableSize} allowed`);
        this.limit = size;
        this.evict(0);
        continue;
      } else {
        // Literal without indexing (0000) or never indexed (0001): the same for a decoder.
        const name = this.literalName(4);
        sink.header(name, this.string());
      }
      fields++;
    }
  }

  private integer(prefixBits: number): number {
    const mask = (1 << prefixBits) - 1;
    let value = this.block[this.offset++] & mask;
    if (value < mask) return value;
    let shift = 0;
    for (;;) {
      if (this.offset >= this.end) throw new HpackError('header block ends inside an integer');
      const byte = this.block[this.offset++];
      value += (byte & 0x7f) * 2 ** shift;
      if (value > MAX_INTEGER) throw new HpackError('integer too large in header block');
      if ((byte & 0x80) === 0) return value;
      shift += 7;
    }
  }

  private string(): string {
    if (this.offset >= this.end) throw new HpackError('header block ends before a string');
    const huffman = (this.block[this.offset] & 0x80) !== 0;
    const length = this.integer(7);
    const start = this.offset;
    if (this.end - start < length) throw new HpackError(`string of ${length} bytes runs past the header block`);
    this.offset = start + length;
    if (!huffman) return Buffer.from(this.block.buffer, this.block.byteOffset + start, length).toString('latin1');
    try {
      return huffmanDecode(this.block, start, start + length);
    } catch (error) {
      if (error instanceof HuffmanError) throw new HpackError(error.message);
      throw error;
    }
  }

  private literalName(prefixBits: number): string {
    const index = this.integer(prefixBits);
    return index === 0 ? this.string() : this.nameAt(index);
  }

  private checkIndex(index: number): number {
    const dynamic = index - STATIC_TABLE.length - 1;
    if (dynamic >= this.names.length) throw new HpackError(`header table index ${index} beyond the ${STATIC_TABLE.length + this.names.length} entries`);
    return dynamic;
  }

  private nameAt(index: number): string {
    const dynamic = this.checkIndex(index);
    return dynamic < 0 ? STATIC_TABLE[index - 1][0] : this.names[dynamic];
  }

  private valueAt(index: number): string {
    const dynamic = this.checkIndex(index);
    return dynamic < 0 ? STATIC_TABLE[index - 1][1] : this.values[dynamic];
  }

  /** Adds an entry, evicting the oldest ones to make room (an entry larger than the table empties it). */
  private insert(name: string, value: string): void {
    const entrySize = name.length + value.length + ENTRY_OVERHEAD;
    this.evict(entrySize);
    if (entrySize > this.limit) return;
    this.names.unshift(name);
    this.values.unshift(value);
    this.size += entrySize;
  }

  /** Evicts oldest entries until `room` more octets fit within the limit. */
  private evict(room: number): void {
    while (this.names.length > 0 && this.size + room > this.limit) {
      const name = this.names.pop()!;
      const value = this.values.pop()!;
      this.size -= name.length + value.length + ENTRY_OVERHEAD;
    }
  }
}
