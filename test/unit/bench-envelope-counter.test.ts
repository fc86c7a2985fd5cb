/**
 * The benchmark's load generator counts streamed messages by their 5-byte prefixes alone: check
 * the count on real framed ExampleReply bytes, split at every position and at random places.
 */
import fc from 'fast-check';
import { encodeReply, frame, streamReply } from '../../bench/common/bench-service.js';
import { EnvelopeCounter } from '../../bench/load/envelope-counter.js';

function count(chunks: Uint8Array[]): { messages: number; midMessage: boolean; compressed: number; completedPerPush: number } {
  const counter = new EnvelopeCounter();
  let completedPerPush = 0;
  for (const chunk of chunks) completedPerPush += counter.push(chunk);
  return { messages: counter.messages, midMessage: counter.midMessage, compressed: counter.compressedMessages, completedPerPush };
}

// Real replies as the bench servers stream them, an empty message (seqno 0 encodes to nothing),
// a compressed-flagged one and one larger than 255 bytes (a two-byte length).
const stream = Buffer.concat([
  frame(encodeReply(streamReply(0))),
  frame(encodeReply(streamReply(1))),
  frame(encodeReply(streamReply(300_000))),
  frame(new Uint8Array(0)),
  frame(encodeReply({ message: 'x'.repeat(70_000), seqno: 1 }), true),
  frame(encodeReply(streamReply(999_999))),
]);

describe('EnvelopeCounter (bench load generator)', () => {
  it('counts the messages of a whole stream in one chunk', () => {
    expect(stream.subarray(0, 5)).toEqual(Buffer.from([0, 0, 0, 0, 12]));
    expect(count([stream])).toEqual({ messages: 6, midMessage: false, compressed: 1, completedPerPush: 6 });
  });

  it('counts the same split at every position around the prefixes', () => {
    // Every position except inside the long body, where every 101st does.
    const bigBody = { from: stream.indexOf(Buffer.from('xxxx')), to: stream.lastIndexOf(Buffer.from('xxxx')) };
    for (let cut = 0; cut <= stream.length; cut += cut > bigBody.from && cut < bigBody.to ? 101 : 1) {
      expect(count([stream.subarray(0, cut), stream.subarray(cut)]).messages).toBe(6);
    }
  });

  it('counts the same byte by byte and reports a cut-off message', () => {
    const bytes = [...stream].map((byte) => Uint8Array.of(byte));
    expect(count(bytes)).toEqual({ messages: 6, midMessage: false, compressed: 1, completedPerPush: 6 });
    expect(count(bytes.slice(0, -1))).toMatchObject({ messages: 5, midMessage: true });
    expect(count(bytes.slice(0, 3))).toMatchObject({ messages: 0, midMessage: true });
  });

  it('counts the same for any chunking', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(stream.length), { maxLength: 40 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let start = 0;
        for (const point of points) {
          chunks.push(stream.subarray(start, point));
          start = point;
        }
        chunks.push(stream.subarray(start));
        expect(count(chunks)).toEqual({ messages: 6, midMessage: false, compressed: 1, completedPerPush: 6 });
      }),
    );
  });
});
