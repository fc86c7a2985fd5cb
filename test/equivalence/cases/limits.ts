/** Matrix cases: messages at the default 4 MiB receive limit and one byte over it, both ways. */
import { DEFAULT_MAX_RECEIVE_MESSAGE_SIZE, Status } from '../../../lib/index.js';
import type { Cell } from '../cell.js';
import { fill, matrixStub, type Request } from '../matrix-service.js';

const LIMIT = DEFAULT_MAX_RECEIVE_MESSAGE_SIZE;
const unary = matrixStub.methods.Unary;

/** `base` with a payload making the serialized request exactly `size` bytes. */
function requestOfSize(size: number, base: Request = {}): Request {
  const probe = 1 << 21;
  const probed = unary.serializeRequest({ ...base, payload: Buffer.alloc(probe) }).length;
  const request = { ...base, payload: fill(probe + size - probed) };
  expect(unary.serializeRequest(request).length).toBe(size);
  return request;
}

/** The `response_size` that makes the serialized reply (payload only) exactly `size` bytes. */
function responseSizeFor(size: number): number {
  const probe = 1 << 21;
  const length = probe + size - unary.serializeResponse({ payload: Buffer.alloc(probe) }).length;
  expect(unary.serializeResponse({ payload: Buffer.alloc(length) }).length).toBe(size);
  return length;
}

/** Defines, inside the current describe, the cases of the 4 MiB message limits for one cell. */
export function limitCases(cell: Cell): void {
  describe('message size limits (default 4 MiB)', () => {
    it('a request of exactly 4 MiB is accepted', async () => {
      const result = await cell.client.unary(requestOfSize(LIMIT, { response_size: 1 }));
      expect(result.code).toBe(Status.OK);
      expect(result.messages).toHaveLength(1);
    });

    it('a request one byte over 4 MiB fails RESOURCE_EXHAUSTED', async () => {
      const result = await cell.client.unary(requestOfSize(LIMIT + 1, { response_size: 1 }));
      expect({ code: result.code, messages: result.messages.length }).toEqual({ code: Status.RESOURCE_EXHAUSTED, messages: 0 });
    });

    it('a reply of exactly 4 MiB is accepted', async () => {
      const size = responseSizeFor(LIMIT);
      const result = await cell.client.unary({ response_size: size });
      expect(result.code).toBe(Status.OK);
      expect(result.messages[0].payload.equals(fill(size))).toBe(true);
    });

    it('a reply one byte over 4 MiB fails RESOURCE_EXHAUSTED at the client', async () => {
      const result = await cell.client.unary({ response_size: responseSizeFor(LIMIT + 1) });
      expect({ code: result.code, messages: result.messages.length }).toEqual({ code: Status.RESOURCE_EXHAUSTED, messages: 0 });
    });

    it('client streaming: a request over 4 MiB after a small one fails the call RESOURCE_EXHAUSTED', async () => {
      const result = await cell.client.clientStream([{ payload: Buffer.from('first') }, requestOfSize(LIMIT + 1)]);
      expect({ code: result.code, messages: result.messages.length }).toEqual({ code: Status.RESOURCE_EXHAUSTED, messages: 0 });
    });
  });
}
