/** Runs README's "The standalone client and server" (sample/readme/standalone.ts): its client against its server, on port 0. */
import { Metadata, Status } from '../../lib/index.js';
import { serve, useClient } from '../../sample/readme/standalone.js';

describe('README: the standalone client and server', () => {
  it('the client example gets what the server example sends', async () => {
    const { server, port } = await serve('127.0.0.1:0');
    try {
      const result = await useClient(`127.0.0.1:${port}`);
      expect(result.reply).toEqual({ message: 'A', seqno: 0 });
      expect(result.replies.map((r) => r.seqno)).toEqual([1, 2, 3]);
      expect(result.joined).toEqual({ message: 'AB', seqno: 2 });
      expect(result.headers).toBeInstanceOf(Metadata);
      expect(result.response).toEqual({ message: 'D', seqno: 0 });
      expect(result.trailers.first('x-id')).toBe('1');
      expect(result.status.code).toBe(Status.OK);
    } finally {
      await server.shutdown({ graceMs: 5000 });
    }
  });
});
