import fc from 'fast-check';
import { Deframer, encodeEnvelope } from '../../lib/protocol/envelope.js';
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
