/**
 * Matrix cases: compression. A byte-counting proxy between client and server shows on the wire
 * that messages were compressed; the replies show they were decoded intact.
 */
import { type Encoding, Status } from '../../../lib/index.js';
import type { ClientAdapter } from '../adapters.js';
import { ByteCountingProxy } from '../byte-counting-proxy.js';
import { type Cell, itWhere, PATTERNS, run } from '../cell.js';
import { fill } from '../matrix-service.js';

const ALGORITHMS: Encoding[] = ['gzip', 'deflate'];
const LARGE = 64 * 1024;
/** A compressed LARGE-byte fill (plus headers and framing) stays well under this. */
const COMPRESSED_AT_MOST = 8 * 1024;
const BIG = fill(LARGE);

const combinations = ALGORITHMS.flatMap((algorithm) => PATTERNS.map((pattern) => [algorithm, pattern] as const));

/** Defines, inside the current describe, the cases of compression of requests (client default and per call) and of responses for one cell. */
export function compressionCases(cell: Cell): void {
  describe('compression', () => {
    let proxy: ByteCountingProxy;
    let plain: ClientAdapter;
    const byDefault = new Map<Encoding, ClientAdapter>();

    beforeAll(async () => {
      proxy = await ByteCountingProxy.start(cell.port);
      plain = await cell.clientKind.create(proxy.port);
      for (const algorithm of ALGORITHMS) byDefault.set(algorithm, await cell.clientKind.create(proxy.port, { compression: algorithm }));
    });

    afterAll(async () => {
      await Promise.all([plain, ...byDefault.values()].map((client) => client?.close()));
      await proxy?.close();
    });

    it('without compression, requests and replies carry the whole payload on the wire (so the counts below mean compression)', async () => {
      proxy.reset();
      const result = await plain.unary({ payload: BIG });
      expect(result.code).toBe(Status.OK);
      expect(proxy.toServer).toBeGreaterThan(LARGE);
      expect(proxy.toClient).toBeGreaterThan(LARGE);
    });

    it.each(combinations)('client default %s, %s: requests compressed on the wire, decoded by the server', async (algorithm, pattern) => {
      proxy.reset();
      const result = await run(byDefault.get(algorithm)!, pattern, [{ payload: BIG }]);
      expect(result.code).toBe(Status.OK);
      expect(result.messages[0].payload.equals(BIG)).toBe(true);
      expect(proxy.toServer).toBeLessThan(COMPRESSED_AT_MOST);
    });

    for (const [algorithm, pattern] of combinations) {
      itWhere(cell.clientKind.perCallCompression, `per call ${algorithm}, ${pattern}: requests compressed on the wire, decoded by the server`, async () => {
        proxy.reset();
        const result = await run(plain, pattern, [{ payload: BIG }], { compression: algorithm });
        expect(result.code).toBe(Status.OK);
        expect(result.messages[0].payload.equals(BIG)).toBe(true);
        expect(proxy.toServer).toBeLessThan(COMPRESSED_AT_MOST);
      });
    }

    itWhere(cell.clientKind.perCallCompression, 'per call identity overrides a gzip client default', async () => {
      proxy.reset();
      const result = await byDefault.get('gzip')!.unary({ payload: BIG }, { compression: 'identity' });
      expect(result.code).toBe(Status.OK);
      expect(proxy.toServer).toBeGreaterThan(LARGE);
    });

    for (const [algorithm, pattern] of combinations) {
      itWhere(cell.serverKind.responseCompression, `responses compressed with ${algorithm} by the server, ${pattern}: decoded by the client`, async () => {
        proxy.reset();
        const result = await run(plain, pattern, [{ payload: Buffer.from('small'), response_size: LARGE, response_compression: algorithm }]);
        expect(result.code).toBe(Status.OK);
        expect(result.messages[0].payload.equals(BIG)).toBe(true);
        expect(proxy.toClient).toBeLessThan(COMPRESSED_AT_MOST);
      });
    }
  });
}
