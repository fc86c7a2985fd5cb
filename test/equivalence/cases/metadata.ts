/** Matrix cases: request metadata to the handler, initial and trailing metadata to the client. */
import { Status } from '../../../lib/index.js';
import { normalMetadata } from '../adapters.js';
import { type Cell, PATTERNS, run } from '../cell.js';
import { type Entries, SERVER_HEADERS, SERVER_TRAILERS } from '../matrix-service.js';

/** Request metadata with a plain key, a repeated ASCII key, a -bin key and a repeated -bin key. */
const REQUEST_METADATA: Entries = [
  ['x-plain', 'value with spaces, a comma and ~!#$&'],
  ['x-multi', 'first'],
  ['x-multi', 'second'],
  ['x-one-bin', Buffer.from([0, 1, 2, 3, 127, 128, 254, 255])],
  ['x-multi-bin', Buffer.from('binary one')],
  ['x-multi-bin', Buffer.from([255, 0, 255])],
];

/** Defines, inside the current describe, the cases of metadata both ways for one cell. */
export function metadataCases(cell: Cell): void {
  describe('metadata', () => {
    it.each(PATTERNS)(
      '%s: request metadata reaches the handler, initial and trailing metadata the client, -bin and repeated keys included (repeated ASCII values compared joined with ", ", as grpc-js delivers them)',
      async (pattern) => {
        const result = await run(cell.client, pattern, [{ payload: Buffer.from('m'), echo_metadata: true }], { metadata: REQUEST_METADATA });
        expect(result.code).toBe(Status.OK);
        expect(result.messages[0].metadata).toEqual(normalMetadata(REQUEST_METADATA));
        expect(result.headers).toEqual(normalMetadata([...REQUEST_METADATA, ...SERVER_HEADERS]));
        expect(result.trailers).toEqual(normalMetadata([...REQUEST_METADATA, ...SERVER_TRAILERS]));
      },
    );

    it('a call without metadata: the handler sees no user metadata, the client gets none back', async () => {
      const result = await cell.client.unary({ payload: Buffer.from('m'), echo_metadata: false });
      expect(result.code).toBe(Status.OK);
      expect({ seen: result.messages[0].metadata, headers: result.headers, trailers: result.trailers }).toEqual({ seen: {}, headers: {}, trailers: {} });
    });

    it('initial metadata sent before any reply reaches the client while the handler still runs (unary, cancelled once it arrived)', async () => {
      const result = await cell.client.unary({ echo_metadata: true, hang: true }, { metadata: [['x-early', 'yes']], cancelAfter: 'headers' });
      expect(result.code).toBe(Status.CANCELLED);
      expect(result.headers).toEqual(normalMetadata([['x-early', 'yes'], ...SERVER_HEADERS]));
    });
  });
}
