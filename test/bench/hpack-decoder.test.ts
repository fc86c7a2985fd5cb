/**
 * The frame-level load generator's HPACK decoder: header blocks from a model encoder (every
 * representation, Huffman or raw strings, table size updates) decode to what was encoded with
 * the dynamic table in step; malformed blocks are rejected; the request encoder's blocks leave
 * the table alone; and a real node:http2 (nghttp2) server's responses decode to what it sent.
 */
import http2 from 'node:http2';
import net from 'node:net';
import fc from 'fast-check';
import { FLAG, FRAME, FrameParser, PREFACE, SETTING, settingsFrame } from '../../bench/load/h2-frames.js';
import { HpackDecoder, HpackError } from '../../bench/load/hpack-decoder.js';
import { HUFFMAN_CODE_LENGTHS, huffmanDecode, HuffmanError } from '../../bench/load/hpack-huffman.js';
import { STATIC_TABLE } from '../../bench/load/hpack-static-table.js';
import { encodeHeaderBlock, RequestFrames } from '../../bench/load/request-frames.js';
import { hpackInteger } from '../helpers/h2-frames.js';

type Field = [string, string];

/** Canonical Huffman codes from the code lengths (what the decoder assumes). */
const CODES: number[] = (() => {
  const order = HUFFMAN_CODE_LENGTHS.map((length, symbol) => ({ length, symbol })).sort((a, b) => a.length - b.length || a.symbol - b.symbol);
  const codes: number[] = [];
  let code = 0;
  let previous = order[0].length;
  for (const { length, symbol } of order) {
    code *= 2 ** (length - previous);
    previous = length;
    codes[symbol] = code++;
  }
  return codes;
})();

function huffmanEncode(bytes: Buffer): Buffer {
  const bits: number[] = [];
  for (const byte of bytes) for (let bit = HUFFMAN_CODE_LENGTHS[byte] - 1; bit >= 0; bit--) bits.push(Math.floor(CODES[byte] / 2 ** bit) % 2);
  while (bits.length % 8 !== 0) bits.push(1);
  return Buffer.from(Array.from({ length: bits.length / 8 }, (_, i) => bits.slice(8 * i, 8 * i + 8).reduce((byte, bit) => byte * 2 + bit, 0)));
}

function integer(value: number, prefixBits: number, first: number): number[] {
  return [...hpackInteger(value, prefixBits, first)];
}

function string(text: string, huffman: boolean): number[] {
  const bytes = Buffer.from(text, 'latin1');
  const encoded = huffman ? huffmanEncode(bytes) : bytes;
  return [...integer(encoded.length, 7, huffman ? 0x80 : 0), ...encoded];
}

/** How the model encoder writes one field. */
type Representation = 'indexed' | 'incremental' | 'without' | 'never';

/** A model HPACK encoder with its own copy of the dynamic table (newest first). */
class ModelEncoder {
  table: Field[] = [];
  limit = 4096;

  get size(): number {
    return this.table.reduce((total, [name, value]) => total + name.length + value.length + 32, 0);
  }

  sizeUpdate(size: number): number[] {
    this.limit = size;
    this.evict(0);
    return integer(size, 5, 0x20);
  }

  field([name, value]: Field, representation: Representation, huffman: boolean): number[] {
    const all = [...STATIC_TABLE, ...this.table];
    const exact = all.findIndex(([n, v]) => n === name && v === value);
    if (representation === 'indexed' && exact >= 0) return integer(exact + 1, 7, 0x80);
    const named = all.findIndex(([n]) => n === name) + 1;
    const [prefix, first] = representation === 'never' ? [4, 0x10] : representation === 'without' ? [4, 0] : [6, 0x40];
    const out = [...integer(named, prefix, first), ...(named === 0 ? string(name, huffman) : []), ...string(value, huffman)];
    if (first === 0x40) {
      const size = name.length + value.length + 32;
      this.evict(size);
      if (size <= this.limit) this.table.unshift([name, value]);
    }
    return out;
  }

  private evict(room: number): void {
    while (this.table.length > 0 && this.size + room > this.limit) this.table.pop();
  }
}

function decodeAll(decoder: HpackDecoder, block: Uint8Array): Field[] {
  const fields: Field[] = [];
  decoder.decode(block, { header: (name, value) => fields.push([name, value]) });
  return fields;
}

const latin1Text = (maxLength: number) => fc.array(fc.integer({ min: 0, max: 255 }), { maxLength }).map((codes) => Buffer.from(codes).toString('latin1'));
const fieldArbitrary: fc.Arbitrary<Field> = fc.oneof(
  fc.constantFrom(...STATIC_TABLE.map(([n, v]) => [n, v] as Field)),
  fc.tuple(fc.constantFrom(':status', 'content-type', 'grpc-status', 'grpc-message', 'date'), latin1Text(40)),
  fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), latin1Text(300)),
);
const blockArbitrary = fc.record({
  sizeUpdate: fc.option(fc.integer({ min: 0, max: 4096 }), { freq: 4 }),
  fields: fc.array(fc.tuple(fieldArbitrary, fc.constantFrom<Representation>('indexed', 'incremental', 'without', 'never'), fc.boolean()), { maxLength: 12 }),
});

describe('HpackDecoder (bench frame-level load generator)', () => {
  it('decodes any sequence of blocks from a model encoder, the dynamic table in step', () => {
    fc.assert(
      fc.property(fc.array(blockArbitrary, { minLength: 1, maxLength: 12 }), (blocks) => {
        const encoder = new ModelEncoder();
        const decoder = new HpackDecoder();
        for (const { sizeUpdate, fields } of blocks) {
          const bytes = [...(sizeUpdate === null ? [] : encoder.sizeUpdate(sizeUpdate))];
          for (const [field, representation, huffman] of fields) bytes.push(...encoder.field(field, representation, huffman));
          expect(decodeAll(decoder, Buffer.from(bytes))).toEqual(fields.map(([field]) => field));
          expect([decoder.tableSize, decoder.tableLength]).toEqual([encoder.size, encoder.table.length]);
        }
      }),
    );
  });

  it('decodes the Huffman code of any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const encoded = huffmanEncode(Buffer.from(bytes));
        expect(huffmanDecode(encoded, 0, encoded.length)).toBe(Buffer.from(bytes).toString('latin1'));
      }),
    );
  });

  it('rejects Huffman strings with EOS, long padding or padding that is not 1-bits', () => {
    expect(() => huffmanDecode(Buffer.from([0xff, 0xff, 0xff, 0xff]), 0, 4)).toThrow(HuffmanError); // EOS (30 ones) inside
    expect(huffmanEncode(Buffer.from('a'))).toEqual(Buffer.from([0x1f])); // 00011 + 111 padding
    expect(() => huffmanDecode(Buffer.from([0x18]), 0, 1)).toThrow(/not the most significant bits of EOS/); // 00011 000
    expect(() => huffmanDecode(Buffer.from([0x1f, 0xff]), 0, 2)).toThrow(/padding of 11 bits/); // 'a' then 11 one-bits
  });

  const malformed: [string, number[], RegExp][] = [
    ['index 0', [0x80], /index 0/],
    ['an index past the tables', [0x80 | 62], /index 62 beyond the 61 entries/],
    ['an integer cut short', [0xff, 0x80], /ends inside an integer/],
    ['an integer too large', [0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], /integer too large/],
    ['a string past the block', [0x40, 0x05, 0x61], /string of 5 bytes runs past/],
    ['a block ending before a value', [0x40, 0x01, 0x61], /ends before a string/],
    ['a size update above the limit', [0x3f, 0xe2, 0x1f], /size update to 4097/],
    ['a size update after a field', [0x82, 0x20], /size update after a header field/],
    ['bad Huffman data', [0x00, 0x81, 0xff, 0x01, 0x61], /padding of 8 bits/],
  ];

  it.each(malformed)('rejects %s', (_, bytes, message) => {
    expect(() => decodeAll(new HpackDecoder(), Buffer.from(bytes))).toThrow(HpackError);
    expect(() => decodeAll(new HpackDecoder(), Buffer.from(bytes))).toThrow(message);
  });

  it('the request encoder writes blocks that decode to its headers and leave the table empty', () => {
    fc.assert(
      fc.property(fc.array(fieldArbitrary, { maxLength: 10 }), (fields) => {
        const decoder = new HpackDecoder();
        expect(decodeAll(decoder, encodeHeaderBlock(fields))).toEqual(fields);
        expect(decoder.tableLength).toBe(0);
      }),
    );
  });
});

/** Opens a raw connection to `port`, sends `count` requests and decodes every response header block. */
function rawRequests(port: number, count: number): Promise<Map<number, Field[][]>> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const decoder = new HpackDecoder();
    const blocks = new Map<number, Field[][]>();
    let ended = 0;
    const parser = new FrameParser({
      frame(type, flags, streamId, payload) {
        if (type === FRAME.SETTINGS && (flags & FLAG.ACK) === 0) socket.write(Buffer.from([0, 0, 0, FRAME.SETTINGS, FLAG.ACK, 0, 0, 0, 0]));
        if (type !== FRAME.HEADERS) return;
        expect(flags & FLAG.END_HEADERS).toBe(FLAG.END_HEADERS);
        blocks.set(streamId, [...(blocks.get(streamId) ?? []), decodeAll(decoder, payload)]);
        if ((flags & FLAG.END_STREAM) !== 0 && ++ended === count) {
          socket.destroy();
          resolve(blocks);
        }
      },
    });
    socket.on('data', (chunk: Buffer) => parser.push(chunk));
    socket.on('error', reject);
    const request = new RequestFrames({ ':method': 'POST', ':scheme': 'http', ':path': '/x', ':authority': `127.0.0.1:${port}` }, Buffer.alloc(0));
    const length = request.length(true);
    const requests = Buffer.alloc(count * length);
    for (let i = 0; i < count; i++) request.writeTo(requests, i * length, 2 * i + 1, true);
    socket.write(Buffer.concat([PREFACE, settingsFrame([[SETTING.ENABLE_PUSH, 0]]), requests]));
  });
}

describe('HpackDecoder against node:http2 (nghttp2 encodes with Huffman and the dynamic table)', () => {
  it('decodes every response header and trailer block a real server sends, over one connection', async () => {
    // Values of every byte node:http2 lets through, long enough to make the table evict.
    const valueArbitrary = fc.array(fc.constantFrom(9, ...Array.from({ length: 95 }, (_, i) => i + 32)), { minLength: 0, maxLength: 400 }).map((codes) => Buffer.from(codes).toString('latin1'));
    const responses = fc.sample(fc.record({ names: fc.array(fc.stringMatching(/^x-[a-z0-9]{1,8}$/), { maxLength: 4 }), values: fc.array(valueArbitrary, { minLength: 4, maxLength: 4 }), status: fc.constantFrom('0', '2', '13') }), { numRuns: 60, seed: 11 });
    const sent = new Map<number, { headers: Field[]; trailers: Field[] }>();
    const server = http2.createServer();
    server.on('stream', (stream) => {
      const id = stream.id!;
      const response = responses[(id - 1) / 2];
      const headers: Field[] = [[':status', '200'], ['content-type', 'application/grpc'], ...response.names.map((name, i): Field => [name, response.values[i]])];
      const trailers: Field[] = [['grpc-status', response.status], ['grpc-message', response.values[3]]];
      sent.set(id, { headers, trailers });
      stream.respond(Object.fromEntries(headers), { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers(Object.fromEntries(trailers)));
      stream.end(Buffer.from([0, 0, 0, 0, 0]));
      stream.resume();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const blocks = await rawRequests((server.address() as net.AddressInfo).port, responses.length);
      for (const [id, { headers, trailers }] of sent) {
        const [received, receivedTrailers] = blocks.get(id)!;
        // node:http2 adds a date header; duplicate names in a sample collapse to the last value.
        expect(Object.fromEntries(received.filter(([name]) => name !== 'date'))).toEqual(Object.fromEntries(headers));
        expect(receivedTrailers).toEqual(trailers);
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
