/** Matrix cases: the four call patterns, empty streams, 100 concurrent calls per pattern, UNIMPLEMENTED. */
import { Status } from '../../../lib/index.js';
import type { CallResult } from '../adapters.js';
import { type Cell, PATTERNS, run } from '../cell.js';

const bytes = (text: string) => Buffer.from(text);

/** The payloads and indexes of a result's replies, for compact comparisons. */
function replies(result: CallResult): Array<{ payload: string; index: number; received: number }> {
  return result.messages.map((reply) => ({ payload: reply.payload.toString(), index: reply.index, received: reply.received }));
}

/** Defines, inside the current describe, the cases of the four patterns, empty streams, concurrency and UNIMPLEMENTED for one cell. */
export function patternCases(cell: Cell): void {
  describe('the four patterns', () => {
    it('unary: one reply echoing the request payload, status OK', async () => {
      const result = await cell.client.unary({ payload: bytes('ping') });
      expect(result.code).toBe(Status.OK);
      expect(replies(result)).toEqual([{ payload: 'ping', index: 0, received: 0 }]);
    });

    it('server streaming: every reply, in order', async () => {
      const result = await cell.client.serverStream({ payload: bytes('s'), response_count: 5 });
      expect(result.code).toBe(Status.OK);
      expect(replies(result)).toEqual([0, 1, 2, 3, 4].map((index) => ({ payload: 's', index, received: 0 })));
    });

    it('client streaming: every request received, in order, one reply', async () => {
      const result = await cell.client.clientStream(['a', 'b', 'c', 'd'].map((text) => ({ payload: bytes(text) })));
      expect(result.code).toBe(Status.OK);
      expect(replies(result)).toEqual([{ payload: 'abcd', index: 0, received: 4 }]);
    });

    it('bidi streaming: the replies to each request, in order', async () => {
      const result = await cell.client.bidi([{ payload: bytes('x'), response_count: 2 }, { payload: bytes('y') }, { payload: bytes('z'), response_count: 3 }]);
      expect(result.code).toBe(Status.OK);
      expect(replies(result)).toEqual([
        { payload: 'x', index: 0, received: 1 },
        { payload: 'x', index: 1, received: 1 },
        { payload: 'y', index: 2, received: 2 },
        { payload: 'z', index: 3, received: 3 },
        { payload: 'z', index: 4, received: 3 },
        { payload: 'z', index: 5, received: 3 },
      ]);
    });

    it('empty request streams: client streaming replies having received none, bidi ends OK without replies', async () => {
      const [clientStream, bidi] = await Promise.all([cell.client.clientStream([]), cell.client.bidi([])]);
      expect({ code: clientStream.code, replies: replies(clientStream) }).toEqual({ code: Status.OK, replies: [{ payload: '', index: 0, received: 0 }] });
      expect({ code: bidi.code, replies: replies(bidi) }).toEqual({ code: Status.OK, replies: [] });
    });
  });

  describe('100 concurrent calls per pattern', () => {
    it.each(PATTERNS)('%s: all complete, each with its own replies', async (pattern) => {
      const calls = Array.from({ length: 100 }, (_, i) => run(cell.client, pattern, [{ payload: bytes(`${i}:`), response_count: 2 }, { payload: bytes(`${i}!`) }]));
      const results = await Promise.all(calls);
      const expected = (i: number) => ({ unary: [`${i}:`], serverStream: [`${i}:`, `${i}:`], clientStream: [`${i}:${i}!`], bidi: [`${i}:`, `${i}:`, `${i}!`] })[pattern];
      expect(results.map((result) => [result.code, ...result.messages.map((reply) => reply.payload.toString())])).toEqual(
        results.map((_, i) => [Status.OK, ...expected(i)]),
      );
    });
  });

  describe('UNIMPLEMENTED', () => {
    it('a method of the service that the server does not implement (unary and bidi)', async () => {
      const [unary, bidi] = await Promise.all([
        cell.client.unary({ payload: bytes('?') }, {}, 'Unimplemented'),
        cell.client.bidi([{ payload: bytes('?') }], {}, 'UnimplementedBidi'),
      ]);
      expect({ code: unary.code, messages: unary.messages }).toEqual({ code: Status.UNIMPLEMENTED, messages: [] });
      expect({ code: bidi.code, messages: bidi.messages }).toEqual({ code: Status.UNIMPLEMENTED, messages: [] });
    });

    it('a service that the server does not serve', async () => {
      const result = await cell.client.unary({ payload: bytes('?') }, {}, 'Unserved.Unary');
      expect({ code: result.code, messages: result.messages }).toEqual({ code: Status.UNIMPLEMENTED, messages: [] });
    });
  });
}
