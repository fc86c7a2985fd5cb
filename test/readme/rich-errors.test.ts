/** Runs README's "Rich error details" (sample/readme/rich-errors.ts) on port 0. */
import { explainFailure, serveRichErrors } from '../../sample/readme/rich-errors.js';

describe('README: rich error details', () => {
  it('the client finds the details the handler packed', async () => {
    const server = await serveRichErrors('127.0.0.1:0');
    try {
      const failure = await explainFailure(`127.0.0.1:${server.port}`);
      expect(failure).toEqual({
        code: 'INVALID_ARGUMENT',
        message: 'Invalid request',
        violations: [{ field: 'value', description: 'must not be empty', reason: '' }],
        details: [
          { type: 'BadRequest', value: { fieldViolations: [{ field: 'value', description: 'must not be empty', reason: '' }] } },
          { type: 'RetryInfo', value: { retryDelay: { seconds: 5, nanos: 0 } } },
        ],
      });
    } finally {
      await server.shutdown();
    }
  });
});
