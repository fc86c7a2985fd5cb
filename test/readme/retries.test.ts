/** Runs README's retrying client (sample/readme/retries.ts) against a server that fails twice first. */
import { retryingClient, serveFlaky } from '../../sample/readme/retries.js';

describe('README: retries and service config', () => {
  it('the client retries UNAVAILABLE: the third attempt answers', async () => {
    const { server, port, attempts } = await serveFlaky('127.0.0.1:0', 2);
    const client = retryingClient(`127.0.0.1:${port}`);
    try {
      await expect(client.unary_unary({ value: 'A', multiplier: 1 })).resolves.toEqual({ message: 'A', seqno: 3 });
      expect(attempts()).toBe(3);
    } finally {
      client.close();
      await server.shutdown();
    }
  });
});
