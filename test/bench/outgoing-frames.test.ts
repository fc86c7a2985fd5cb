/**
 * The frame-level load generator's send side: whatever the body size, windows, frame size and
 * WINDOW_UPDATEs, each turn's bytes are valid frames, request HEADERS come before their DATA,
 * no stream or the connection is sent more than its window, and every body arrives whole and in
 * order, ended by END_STREAM, once the windows allow.
 */
import fc from 'fast-check';
import { FLAG, FRAME, FrameParser } from '../../bench/load/h2-frames.js';
import { OutgoingFrames } from '../../bench/load/outgoing-frames.js';
import { RequestFrames } from '../../bench/load/request-frames.js';

const HEADERS = { ':method': 'POST', ':scheme': 'http', ':path': '/p', ':authority': 'a' };

interface Sent {
  headers: number[];
  data: Map<number, Buffer[]>;
  ended: Set<number>;
  control: number;
}

/** Parses one turn's output into `sent`, checking frame order on the way. */
function record(sent: Sent, out: Buffer | undefined, maxFrameSize: number): void {
  if (out === undefined) return;
  new FrameParser(
    {
      frame(type, flags, streamId, payload) {
        if (type === FRAME.HEADERS) {
          expect(flags & FLAG.END_HEADERS).toBe(FLAG.END_HEADERS);
          sent.headers.push(streamId);
        } else if (type === FRAME.DATA) {
          expect(sent.headers).toContain(streamId);
          expect(sent.ended.has(streamId)).toBe(false);
          sent.data.set(streamId, [...(sent.data.get(streamId) ?? []), Buffer.from(payload)]);
          if ((flags & FLAG.END_STREAM) !== 0) sent.ended.add(streamId);
        } else sent.control++;
      },
    },
    maxFrameSize,
  ).push(out);
}

const bytesOf = (sent: Sent, id: number) => (sent.data.get(id) ?? []).reduce((total, piece) => total + piece.length, 0);

describe('OutgoingFrames (bench frame-level load generator)', () => {
  it('keeps within the windows and delivers every body whole, in order', () => {
    fc.assert(
      fc.property(
        fc.record({
          bodySize: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 16_000, max: 120_000 })),
          streams: fc.integer({ min: 1, max: 4 }),
          initialWindow: fc.integer({ min: 1, max: 70_000 }),
          maxFrameSize: fc.constantFrom(16_384, 20_000),
          updates: fc.array(fc.record({ stream: fc.integer({ min: 0, max: 4 }), increment: fc.integer({ min: 1, max: 50_000 }) }), { maxLength: 20 }),
        }),
        ({ bodySize, streams, initialWindow, maxFrameSize, updates }) => {
          const body = Buffer.from(Array.from({ length: bodySize }, (_, i) => (i * 7) % 256));
          const outgoing = new OutgoingFrames();
          outgoing.maxFrameSize = maxFrameSize;
          outgoing.setInitialWindow(initialWindow);
          outgoing.addControl(Buffer.from([0, 0, 0, FRAME.SETTINGS, FLAG.ACK, 0, 0, 0, 0]));
          outgoing.setRequest(new RequestFrames(HEADERS, body));
          const sent: Sent = { headers: [], data: new Map(), ended: new Set(), control: 0 };
          const ids = Array.from({ length: streams }, (_, i) => 2 * i + 1);
          const opened: number[] = [];
          for (const id of ids) {
            if (!outgoing.canStart) break;
            outgoing.addRequest(id);
            opened.push(id);
          }
          const granted = new Map(ids.map((id) => [id, initialWindow]));
          let connection = 65_535;
          record(sent, outgoing.take(), maxFrameSize);
          const check = () => {
            let total = 0;
            for (const id of opened) {
              const got = bytesOf(sent, id);
              total += got;
              expect(got).toBeLessThanOrEqual(granted.get(id)!);
              expect(Buffer.concat(sent.data.get(id) ?? [])).toEqual(body.subarray(0, got));
              for (const piece of sent.data.get(id) ?? []) expect(piece.length).toBeLessThanOrEqual(maxFrameSize);
            }
            expect(total).toBeLessThanOrEqual(connection);
          };
          check();
          for (const { stream, increment } of updates) {
            const id = stream === 0 ? 0 : 2 * stream - 1;
            if (id === 0) connection += increment;
            else granted.set(id, (granted.get(id) ?? initialWindow) + increment);
            outgoing.windowUpdate(id, increment);
            record(sent, outgoing.take(), maxFrameSize);
            check();
          }
          // Enough window for everything: every opened stream's body completes.
          outgoing.windowUpdate(0, streams * bodySize + 1);
          connection += streams * bodySize + 1;
          for (const id of opened) {
            outgoing.windowUpdate(id, bodySize + 1);
            granted.set(id, granted.get(id)! + bodySize + 1);
          }
          record(sent, outgoing.take(), maxFrameSize);
          check();
          expect(sent.headers).toEqual(opened);
          for (const id of opened) {
            expect(bytesOf(sent, id)).toBe(bodySize);
            expect(sent.ended.has(id)).toBe(true);
          }
          expect(sent.control).toBe(1);
          expect(outgoing.take()).toBeUndefined();
        },
      ),
    );
  });
});
