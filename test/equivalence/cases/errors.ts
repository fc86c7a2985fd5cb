/** Matrix cases: failures with code, message, google.rpc.Status details and trailing metadata. */
import { Status } from '../../../lib/index.js';
import { normalDetails, normalMetadata } from '../adapters.js';
import { type Cell, PATTERNS, run } from '../cell.js';
import { type Entries, type Failure, type Request, SERVER_HEADERS, SERVER_TRAILERS } from '../matrix-service.js';

const NON_ASCII = 'Ünïcödé — ✓ 日本語 😀';

const FAILURE: Failure = {
  code: Status.FAILED_PRECONDITION,
  message: `precondition failed: ${NON_ASCII}`,
  details: [
    { type_url: 'type.googleapis.com/google.rpc.ErrorInfo', value: Buffer.from([10, 3, 98, 97, 100, 18, 4, 116, 101, 115, 116]) },
    { type_url: 'type.googleapis.com/equivalence.Custom', value: Buffer.from([0, 255, 1, 254]) },
  ],
};

const EXPECTED_DETAILS = normalDetails(FAILURE.details!.map((detail) => ({ typeUrl: detail.type_url, value: detail.value })));

const ECHOED: Entries = [['x-request', 'r']];

/** Per pattern: the requests that fail the call after some replies, and how many replies come first. */
const FAILING: Record<(typeof PATTERNS)[number], { requests: Request[]; replies: number; halfClose?: boolean }> = {
  unary: { requests: [{ echo_metadata: true, fail: FAILURE }], replies: 0 },
  serverStream: { requests: [{ echo_metadata: true, response_count: 2, fail: FAILURE }], replies: 2 },
  // The server fails as the first request arrives, while the client still has its request stream open.
  clientStream: { requests: [{ echo_metadata: true, fail: FAILURE }], replies: 0, halfClose: false },
  bidi: { requests: [{ echo_metadata: true, payload: Buffer.from('1') }, { payload: Buffer.from('2'), fail: FAILURE }], replies: 2, halfClose: false },
};

const MESSAGES = [
  ['empty', ''],
  ['ASCII', 'plain ASCII message'],
  ['non-ASCII', NON_ASCII],
  ['percent signs', '100% sure, %41 is not A, %zz is no escape'],
  ['spaces at both ends, tabs and newlines', '  padded\ttabbed\nsecond line  '],
] as const;

/** Defines, inside the current describe, the cases of failures: codes, messages, details, trailers for one cell. */
export function errorCases(cell: Cell): void {
  describe('errors', () => {
    it('every non-OK status code reaches the client with its message', async () => {
      const codes = Array.from({ length: 16 }, (_, i) => (i + 1) as Status);
      const results = await Promise.all(codes.map((code) => cell.client.unary({ fail: { code, message: `failed with ${code}` } })));
      expect(results.map((result) => [result.code, result.message])).toEqual(codes.map((code) => [code, `failed with ${code}`]));
    });

    it.each(MESSAGES)('status message, %s, arrives exactly as sent', async (_name, message) => {
      const result = await cell.client.unary({ fail: { code: Status.INVALID_ARGUMENT, message } });
      expect({ code: result.code, message: result.message }).toEqual({ code: Status.INVALID_ARGUMENT, message });
    });

    it.each(PATTERNS)('%s: a failure after the replies sent before it, with code, non-ASCII message, details, initial and trailing metadata', async (pattern) => {
      const { requests, replies, halfClose } = FAILING[pattern];
      const result = await run(cell.client, pattern, requests, { metadata: ECHOED, halfClose });
      expect({ code: result.code, message: result.message, details: result.details }).toEqual({ code: FAILURE.code, message: FAILURE.message, details: EXPECTED_DETAILS });
      expect(result.messages).toHaveLength(replies);
      expect(result.headers).toEqual(normalMetadata([...ECHOED, ...SERVER_HEADERS]));
      expect(result.trailers).toEqual(normalMetadata([...ECHOED, ...SERVER_TRAILERS]));
    });

    it('a failure before any response is trailers-only: no initial metadata; status, details and trailing metadata arrive', async () => {
      const result = await cell.client.unary({ fail: FAILURE });
      expect(result).toEqual({
        messages: [],
        code: FAILURE.code,
        message: FAILURE.message,
        details: EXPECTED_DETAILS,
        headers: {},
        trailers: normalMetadata(SERVER_TRAILERS),
      });
    });
  });
}
