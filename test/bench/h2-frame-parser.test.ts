/**
 * The frame-level load generator's FrameParser: any split of a valid byte stream gives the same
 * frames, and frame headers with bad lengths or stream ids are rejected however the bytes arrive.
 */
import fc from 'fast-check';
import { FLAG, FRAME, FrameError, FrameParser, frameBytes } from '../../bench/load/h2-frames.js';

interface Parsed {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
  length: number;
}

/** Parses `bytes` cut at `cuts` (positions, any order, duplicates allowed). */
function parse(bytes: Buffer, cuts: number[] = [], maxFrameSize?: number): { frames: Parsed[]; midFrame: boolean } {
  const frames: Parsed[] = [];
  const parser = new FrameParser({ frame: (type, flags, streamId, payload, length) => frames.push({ type, flags, streamId, payload: Buffer.from(payload), length }) }, maxFrameSize);
  const points = [...new Set(cuts.map((cut) => Math.min(cut, bytes.length)))].sort((a, b) => a - b);
  let start = 0;
  for (const point of [...points, bytes.length]) {
    parser.push(bytes.subarray(start, point));
    start = point;
  }
  return { frames, midFrame: parser.midFrame };
}

/** A valid frame of any type with an arbitrary payload of the length its type allows. */
const frameArbitrary: fc.Arbitrary<Parsed> = fc
  .record({
    type: fc.constantFrom(FRAME.DATA, FRAME.HEADERS, FRAME.PRIORITY, FRAME.RST_STREAM, FRAME.SETTINGS, FRAME.PING, FRAME.GOAWAY, FRAME.WINDOW_UPDATE, FRAME.CONTINUATION, 0x20),
    stream: fc.integer({ min: 1, max: 0x7fffffff }),
    flags: fc.integer({ min: 0, max: 255 }),
    size: fc.integer({ min: 0, max: 3000 }),
    seed: fc.integer({ min: 0, max: 255 }),
  })
  .map(({ type, stream, flags, size, seed }) => {
    const fixed: Record<number, number> = { [FRAME.PRIORITY]: 5, [FRAME.RST_STREAM]: 4, [FRAME.PING]: 8, [FRAME.WINDOW_UPDATE]: 4 };
    let length = fixed[type] ?? size;
    let frameFlags = flags;
    if (type === FRAME.SETTINGS) {
      frameFlags = flags & ~FLAG.ACK;
      length -= length % 6;
    }
    if (type === FRAME.GOAWAY) length = Math.max(8, length);
    // Padding and priority are tested separately: here DATA and HEADERS carry neither.
    if (type === FRAME.DATA || type === FRAME.HEADERS) frameFlags &= ~(FLAG.PADDED | FLAG.PRIORITY);
    const connectionLevel = type === FRAME.SETTINGS || type === FRAME.PING || type === FRAME.GOAWAY;
    const payload = Buffer.alloc(length, seed);
    return { type, flags: frameFlags, streamId: connectionLevel ? 0 : stream, payload, length };
  });

const encode = (frames: Parsed[]) => Buffer.concat(frames.map((f) => frameBytes(f.type, f.flags, f.streamId, f.payload)));

describe('FrameParser (bench frame-level load generator)', () => {
  it('gives the same frames for any split of a valid byte stream', () => {
    fc.assert(
      fc.property(fc.array(frameArbitrary, { maxLength: 12 }), fc.array(fc.nat({ max: 40_000 }), { maxLength: 30 }), (frames, cuts) => {
        const bytes = encode(frames);
        expect(parse(bytes, cuts)).toEqual({ frames, midFrame: false });
      }),
    );
  });

  it('parses a stream fed one byte at a time', () => {
    const frames = fc.sample(frameArbitrary, { numRuns: 8, seed: 7 });
    const bytes = encode(frames);
    expect(parse(bytes, Array.from({ length: bytes.length }, (_, i) => i))).toEqual({ frames, midFrame: false });
  });

  it('reports a stream that ends inside a frame', () => {
    const bytes = frameBytes(FRAME.DATA, 0, 1, Buffer.alloc(100));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: bytes.length - 1 }), (end) => {
        expect(parse(bytes.subarray(0, end))).toEqual({ frames: [], midFrame: true });
      }),
    );
  });

  it('strips padding and priority fields from DATA and HEADERS but reports the full length', () => {
    const padded = Buffer.concat([Buffer.from([3]), Buffer.from('body'), Buffer.alloc(3)]);
    const withPriority = Buffer.concat([Buffer.from([2]), Buffer.from([0, 0, 0, 0, 16]), Buffer.from('block'), Buffer.alloc(2)]);
    const { frames } = parse(Buffer.concat([frameBytes(FRAME.DATA, FLAG.PADDED | FLAG.END_STREAM, 1, padded), frameBytes(FRAME.HEADERS, FLAG.PADDED | FLAG.PRIORITY | FLAG.END_HEADERS, 3, withPriority)]));
    expect(frames.map((f) => [f.payload.toString(), f.length])).toEqual([
      ['body', 8],
      ['block', 13],
    ]);
  });

  it('rejects padding longer than its frame', () => {
    const bytes = frameBytes(FRAME.DATA, FLAG.PADDED, 1, Buffer.from([5, 1, 2]));
    expect(() => parse(bytes)).toThrow(/padding and priority fields exceed its 3 bytes/);
    expect(() => parse(frameBytes(FRAME.HEADERS, FLAG.PADDED, 1))).toThrow(FrameError);
  });

  /** Frame headers that break a rule, with the error code each must give. */
  const badHeaders: [string, Buffer, number][] = [
    ['DATA longer than the maximum frame size', frameBytes(FRAME.DATA, 0, 1, Buffer.alloc(16_385)), 6],
    ['PING of 7 bytes', frameBytes(FRAME.PING, 0, 0, Buffer.alloc(7)), 6],
    ['RST_STREAM of 5 bytes', frameBytes(FRAME.RST_STREAM, 0, 1, Buffer.alloc(5)), 6],
    ['WINDOW_UPDATE of 3 bytes', frameBytes(FRAME.WINDOW_UPDATE, 0, 0, Buffer.alloc(3)), 6],
    ['PRIORITY of 4 bytes', frameBytes(FRAME.PRIORITY, 0, 1, Buffer.alloc(4)), 6],
    ['SETTINGS of 7 bytes', frameBytes(FRAME.SETTINGS, 0, 0, Buffer.alloc(7)), 6],
    ['SETTINGS ACK with a payload', frameBytes(FRAME.SETTINGS, FLAG.ACK, 0, Buffer.alloc(6)), 6],
    ['GOAWAY of 7 bytes', frameBytes(FRAME.GOAWAY, 0, 0, Buffer.alloc(7)), 6],
    ['SETTINGS on stream 1', frameBytes(FRAME.SETTINGS, 0, 1), 1],
    ['PING on stream 3', frameBytes(FRAME.PING, 0, 3, Buffer.alloc(8)), 1],
    ['HEADERS on stream 0', frameBytes(FRAME.HEADERS, FLAG.END_HEADERS, 0, Buffer.alloc(2)), 1],
    ['DATA on stream 0', frameBytes(FRAME.DATA, 0, 0, Buffer.alloc(2)), 1],
  ];

  it.each(badHeaders)('rejects %s however the bytes are split', (_, bytes, code) => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: bytes.length }), { maxLength: 5 }), (cuts) => {
        const before = frameBytes(FRAME.PING, 0, 0, Buffer.alloc(8));
        let error: unknown;
        const seen: Parsed[] = [];
        try {
          const parser = new FrameParser({ frame: (type, flags, streamId, payload, length) => seen.push({ type, flags, streamId, payload, length }) });
          const all = Buffer.concat([before, bytes]);
          let start = 0;
          for (const cut of [...cuts.map((c) => c + before.length).sort((a, b) => a - b), all.length]) {
            parser.push(all.subarray(start, cut));
            start = cut;
          }
        } catch (caught) {
          error = caught;
        }
        expect(error).toBeInstanceOf(FrameError);
        expect((error as FrameError).code).toBe(code);
        expect(seen.map((frame) => frame.type)).toEqual([FRAME.PING]);
      }),
      { numRuns: 30 },
    );
  });

  it('accepts frames up to a larger advertised maximum frame size', () => {
    const bytes = frameBytes(FRAME.DATA, 0, 1, Buffer.alloc(20_000));
    expect(parse(bytes, [10_000], 32_768).frames).toHaveLength(1);
    expect(() => parse(bytes, [10_000])).toThrow(/20000 bytes, larger than the maximum frame size 16384/);
  });
});
