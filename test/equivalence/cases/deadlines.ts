/** Matrix cases: deadlines (seen by the handler, passing mid-call) and cancellation by the client mid-call. */
import { Status } from '../../../lib/index.js';
import type { CallOptions, CallResult } from '../adapters.js';
import { type Cell, itWhere, newTag, type Pattern, PATTERNS, run } from '../cell.js';
import type { Request } from '../matrix-service.js';

/** A deadline long enough for the first messages to arrive even on a loaded machine. */
const SHORT_DEADLINE_MS = 400;

/**
 * Per pattern, a call that gets part-way and then waits on the server until it is cancelled:
 * initial metadata (unary, client streaming) or one reply (server streaming, bidi) first.
 */
function midCall(pattern: Pattern, tag: string): { requests: Request[]; options: CallOptions; progress: (result: CallResult) => unknown } {
  const headersArrived = (result: CallResult) => result.headers['x-server-multi'] !== undefined;
  switch (pattern) {
    case 'unary':
      return { requests: [{ echo_metadata: true, hang: true, tag }], options: { cancelAfter: 'headers' }, progress: headersArrived };
    case 'serverStream':
      return { requests: [{ response_count: 2, hang: true, tag }], options: { cancelAfter: { messages: 1 } }, progress: (result) => result.messages.length >= 1 };
    // With `hang`, the handler also waits out an end of the requests seen before the reset (see below).
    case 'clientStream':
      return { requests: [{ echo_metadata: true, hang: true, tag }], options: { halfClose: false, cancelAfter: 'headers' }, progress: headersArrived };
    case 'bidi':
      return { requests: [{ hang: true, tag }], options: { halfClose: false, cancelAfter: { messages: 1 } }, progress: (result) => result.messages.length === 1 };
  }
}

/** Defines, inside the current describe, the cases of deadlines and cancellation for one cell. */
export function deadlineCases(cell: Cell): void {
  describe('deadlines', () => {
    it.each(PATTERNS)('%s: the handler sees the deadline the client set, and none when it set none', async (pattern) => {
      const [withDeadline, without] = await Promise.all([
        run(cell.client, pattern, [{ payload: Buffer.from('d') }], { timeoutMs: 20_000 }),
        run(cell.client, pattern, [{ payload: Buffer.from('d') }]),
      ]);
      expect([withDeadline.code, without.code]).toEqual([Status.OK, Status.OK]);
      expect(withDeadline.messages[0].has_deadline).toBe(true);
      expect(withDeadline.messages[0].deadline_remaining_ms).toBeGreaterThan(10_000);
      expect(withDeadline.messages[0].deadline_remaining_ms).toBeLessThanOrEqual(20_000);
      expect(without.messages[0].has_deadline).toBe(false);
    });

    it('a deadline passing mid-call: every pattern ends DEADLINE_EXCEEDED after what already arrived, and each handler sees its call end', async () => {
      await Promise.all(
        PATTERNS.map(async (pattern) => {
          const tag = newTag();
          const { requests, options, progress } = midCall(pattern, tag);
          const result = await run(cell.client, pattern, requests, { halfClose: options.halfClose, timeoutMs: SHORT_DEADLINE_MS });
          expect({ pattern, code: result.code, progressed: Boolean(progress(result)) }).toEqual({ pattern, code: Status.DEADLINE_EXCEEDED, progressed: true });
          if (pattern === 'serverStream') expect(result.messages).toHaveLength(2);
          await cell.reports.whenCancelled(tag);
        }),
      );
    });
  });

  describe('cancellation by the client', () => {
    it.each(PATTERNS)('%s: cancelled mid-call, the client sees CANCELLED and the handler observes the cancellation', async (pattern) => {
      const tag = newTag();
      const { requests, options, progress } = midCall(pattern, tag);
      const result = await run(cell.client, pattern, requests, options);
      expect({ code: result.code, progressed: Boolean(progress(result)) }).toEqual({ code: Status.CANCELLED, progressed: true });
      await cell.reports.whenCancelled(tag);
    });

    for (const pattern of ['clientStream', 'bidi'] as const) {
      for (const how of ['cancelled', 'past its deadline'] as const) {
        itWhere([cell.clientKind.cancelsWithoutHalfClose, cell.serverKind.tellsResetFromHalfClose], `${pattern}, ${how} while the request stream is open: the handler never sees the requests end`, async () => {
          const tag = newTag();
          const { requests, options } = midCall(pattern, tag);
          const result = await run(cell.client, pattern, requests, how === 'cancelled' ? options : { halfClose: false, timeoutMs: SHORT_DEADLINE_MS });
          expect(result.code).toBe(how === 'cancelled' ? Status.CANCELLED : Status.DEADLINE_EXCEEDED);
          await cell.reports.whenCancelled(tag);
          expect(cell.reports.sawRequestsEnd(tag)).toBe(false);
        });
      }
    }
  });
}
