import fc from 'fast-check';
import {
  DEFAULT_MAX_RECEIVE_MESSAGE_SIZE,
  Deframer,
  ENVELOPE_HEADER_SIZE,
  encodeEnvelope,
  envelopeHeader,
} from '../../lib/protocol/envelope.js';
import { GrpcError } from '../../lib/protocol/grpc-error.js';
import { Status } from '../../lib/protocol/status.js';

function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let start = 0;
  for (const point of points) {
    parts.push(bytes.subarray(start, point));
    start = point;
  }
  parts.push(bytes.subarray(start));
  return parts;
}

describe('Deframer', () => {
  it('decodes any chunking of a sequence of envelopes to the same messages', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ payload: fc.uint8Array({ maxLength: 300 }), compressed: fc.boolean() }), { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (messages, cuts) => {
          const wire = Buffer.concat(messages.map((m) => encodeEnvelope(m.payload, m.compressed)));
          const deframer = new Deframer();
          const out = splitAt(wire, cuts).flatMap((chunk) => deframer.push(chunk));
          deframer.end();
          expect(out.map((e) => ({ payload: new Uint8Array(e.payload), compressed: e.compressed }))).toEqual(
            messages.map((m) => ({ payload: new Uint8Array(m.payload), compressed: m.compressed })),
          );
        },
      ),
    );
  });

  it('read() hands over, for any chunking, the messages push() returns, and fails on the same chunk with the same error', () => {
    const message = fc.record({ payload: fc.uint8Array({ maxLength: 64 }), compressed: fc.boolean() });
    // A bad prefix: a flag byte over 1, or a length over the 100-byte limit.
    const bad = fc.oneof(
      fc.integer({ min: 2, max: 255 }).map((flag) => Buffer.from([flag, 0, 0, 0, 0])),
      fc.integer({ min: 101, max: 10_000 }).map((length) => envelopeHeader(length, false)),
    );
    fc.assert(
      fc.property(fc.array(message, { maxLength: 12 }), fc.option(bad), fc.array(fc.nat(), { maxLength: 20 }), (messages, badPrefix, cuts) => {
        const wire = Buffer.concat([...messages.map((m) => encodeEnvelope(m.payload, m.compressed)), ...(badPrefix === null ? [] : [badPrefix])]);
        const run = (feed: (deframer: Deframer, chunk: Buffer, out: unknown[]) => void) => {
          const deframer = new Deframer(100);
          const out: unknown[] = [];
          for (const [index, chunk] of splitAt(wire, cuts).entries()) {
            try {
              feed(deframer, chunk, out);
            } catch (error) {
              return { out, failedAt: index, error: (error as GrpcError).message };
            }
          }
          return { out, failedAt: -1, error: '' };
        };
        const pushed = run((deframer, chunk, out) => {
          for (const e of deframer.push(chunk)) out.push({ payload: new Uint8Array(e.payload), compressed: e.compressed });
        });
        const read = run((deframer, chunk, out) => deframer.read(chunk, (payload, compressed) => out.push({ payload: new Uint8Array(payload), compressed })));
        expect(read).toEqual(pushed);
        if (badPrefix === null) expect(read.out).toHaveLength(messages.length);
      }),
    );
  });

  it('refuses a declared length over the limit before the body arrives, naming both sizes', () => {
    const deframer = new Deframer(1024);
    const header = encodeEnvelope(Buffer.alloc(2048), false).subarray(0, 5);
    let error: unknown;
    try {
      deframer.push(header);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GrpcError);
    expect((error as GrpcError).code).toBe(Status.RESOURCE_EXHAUSTED);
    expect((error as GrpcError).message).toContain('2048 vs. 1024');
  });

  it('refuses a flag byte other than 0 or 1 with INTERNAL', () => {
    const deframer = new Deframer();
    expect(() => deframer.push(Buffer.from([2, 0, 0, 0, 0]))).toThrow(expect.objectContaining({ code: Status.INTERNAL }));
  });

  it('reports a stream that ends inside a message as truncated (INTERNAL)', () => {
    const deframer = new Deframer();
    deframer.push(encodeEnvelope(Buffer.from('hello'), false).subarray(0, 7));
    expect(() => deframer.end()).toThrow(expect.objectContaining({ code: Status.INTERNAL, message: expect.stringContaining('truncated') }));
  });
});

describe('encodeEnvelope', () => {
  it('writes the flag byte, a big-endian 4-byte length and the payload', () => {
    expect([...encodeEnvelope(Buffer.from('hi'), false)]).toEqual([0, 0, 0, 0, 2, 0x68, 0x69]);
    expect([...encodeEnvelope(Buffer.alloc(0x010203), true).subarray(0, 5)]).toEqual([1, 0, 1, 2, 3]);
    expect([...encodeEnvelope(new Uint8Array(0), false)]).toEqual([0, 0, 0, 0, 0]);
  });

  it('agrees with envelopeHeader', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.boolean(), (payload, compressed) => {
        const framed = encodeEnvelope(payload, compressed);
        expect(framed.length).toBe(ENVELOPE_HEADER_SIZE + payload.length);
        expect(framed.subarray(0, ENVELOPE_HEADER_SIZE)).toEqual(envelopeHeader(payload.length, compressed));
        expect(new Uint8Array(framed.subarray(ENVELOPE_HEADER_SIZE))).toEqual(payload);
      }),
    );
  });
});

describe('Deframer limits and errors', () => {
  function thrown(action: () => unknown): GrpcError {
    try {
      action();
    } catch (error) {
      expect(error).toBeInstanceOf(GrpcError);
      return error as GrpcError;
    }
    throw new Error('expected a throw');
  }

  it('defaults to a 4 MiB limit and refuses a 4 GiB declaration from its 5-byte prefix alone', () => {
    expect(DEFAULT_MAX_RECEIVE_MESSAGE_SIZE).toBe(4 * 1024 * 1024);
    const error = thrown(() => new Deframer().push(Buffer.from([0, 0xff, 0xff, 0xff, 0xff])));
    expect(error.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(error.message).toContain(`4294967295 vs. ${4 * 1024 * 1024}`);
  });

  it('refuses the oversized declaration even when the prefix arrives one byte at a time', () => {
    const deframer = new Deframer(10);
    const header = envelopeHeader(11, false);
    for (let i = 0; i < 4; i++) expect(deframer.push(header.subarray(i, i + 1))).toEqual([]);
    expect(thrown(() => deframer.push(header.subarray(4))).code).toBe(Status.RESOURCE_EXHAUSTED);
  });

  it('accepts a message of exactly the limit', () => {
    const out = new Deframer(10).push(encodeEnvelope(Buffer.alloc(10, 1), false));
    expect(out).toHaveLength(1);
    expect(out[0].payload).toEqual(Buffer.alloc(10, 1));
  });

  it('has no limit when given -1, and a limit of 0 admits only empty messages', () => {
    expect(new Deframer(-1).push(encodeEnvelope(Buffer.alloc(DEFAULT_MAX_RECEIVE_MESSAGE_SIZE + 1), false))).toHaveLength(1);
    expect(new Deframer(0).push(encodeEnvelope(Buffer.alloc(0), false))).toEqual([{ compressed: false, payload: Buffer.alloc(0) }]);
    expect(thrown(() => new Deframer(0).push(encodeEnvelope(Buffer.alloc(1), false))).code).toBe(Status.RESOURCE_EXHAUSTED);
  });

  // A push() that throws returns nothing, so messages completed earlier in the same chunk are
  // not delivered: how many of the preceding messages arrive depends on the chunking.
  it('refuses an oversized message whatever the chunking, having delivered at most the messages before it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 6 }),
        fc.integer({ min: 51, max: 200 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (small, bigSize, cuts) => {
          const wire = Buffer.concat([...small.map((p) => encodeEnvelope(p, false)), encodeEnvelope(Buffer.alloc(bigSize), false)]);
          const deframer = new Deframer(50);
          const delivered: Uint8Array[] = [];
          let error: unknown;
          try {
            for (const chunk of splitAt(wire, cuts)) delivered.push(...deframer.push(chunk).map((e) => new Uint8Array(e.payload)));
          } catch (e) {
            error = e;
          }
          expect(error).toBeInstanceOf(GrpcError);
          expect((error as GrpcError).code).toBe(Status.RESOURCE_EXHAUSTED);
          expect(delivered).toEqual(small.slice(0, delivered.length).map((p) => new Uint8Array(p)));
        },
      ),
    );
  });

  it('delivers every message before an oversized one when they arrive in earlier chunks', () => {
    const deframer = new Deframer(50);
    const first = deframer.push(Buffer.concat([encodeEnvelope(Buffer.from('a'), false), encodeEnvelope(Buffer.from('b'), true)]));
    expect(first.map((e) => [e.payload.toString(), e.compressed])).toEqual([
      ['a', false],
      ['b', true],
    ]);
    expect(thrown(() => deframer.push(envelopeHeader(51, false))).code).toBe(Status.RESOURCE_EXHAUSTED);
  });

  it('refuses every flag byte from 2 to 255 with INTERNAL', () => {
    for (let flag = 2; flag <= 255; flag++) {
      const error = thrown(() => new Deframer().push(Buffer.from([flag, 0, 0, 0, 0])));
      expect(error.code).toBe(Status.INTERNAL);
      expect(error.message).toContain(String(flag));
    }
  });

  it('reports a stream cut inside the prefix as truncated too, and a clean end as fine', () => {
    const deframer = new Deframer();
    expect(deframer.hasPartialMessage).toBe(false);
    deframer.end();
    deframer.push(Buffer.from([0, 0]));
    expect(deframer.hasPartialMessage).toBe(true);
    expect(thrown(() => deframer.end()).code).toBe(Status.INTERNAL);
    deframer.push(Buffer.from([0, 0, 0]));
    expect(deframer.hasPartialMessage).toBe(false);
    deframer.end();
  });

  it('reports a declared body that never arrives as truncated, even if it is empty so far', () => {
    const deframer = new Deframer();
    expect(deframer.push(envelopeHeader(3, true))).toEqual([]);
    expect(deframer.hasPartialMessage).toBe(true);
    expect(thrown(() => deframer.end()).message).toContain('truncated');
  });

  it('never throws anything but a GrpcError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 10 }), fc.integer({ min: -1, max: 100 }), (chunks, limit) => {
        const deframer = new Deframer(limit);
        try {
          for (const chunk of chunks) {
            for (const envelope of deframer.push(Buffer.from(chunk))) {
              if (limit >= 0) expect(envelope.payload.length).toBeLessThanOrEqual(limit);
            }
          }
          deframer.end();
        } catch (error) {
          expect(error).toBeInstanceOf(GrpcError);
          expect([Status.INTERNAL, Status.RESOURCE_EXHAUSTED]).toContain((error as GrpcError).code);
        }
      }),
    );
  });
});
