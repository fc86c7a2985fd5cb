/**
 * A propagating GrpcClient turns the call scope on when it is created, so the very first call a
 * server then serves has it, with no warning. (server-call-scope.test.ts covers the scope off.)
 */
import { jest } from '@jest/globals';
import { currentCallContext, GrpcClient, type GrpcContext } from '../../lib/index.js';
import { exampleStub, type ExampleRequest } from '../helpers/example-service.js';
import { Harness } from '../helpers/harness.js';

describe('the call scope, with a propagating client in the process', () => {
  const harness = new Harness();
  afterAll(() => harness.close());

  it('is on from the first call after the client was created', async () => {
    const warnings = jest.spyOn(process, 'emitWarning');
    const { port } = await harness.serve({
      async unary_unary(request: ExampleRequest, ctx: GrpcContext) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        return { message: String(currentCallContext() === ctx), seqno: request.multiplier };
      },
    });
    const client = new GrpcClient(`127.0.0.1:${port}`, exampleStub);
    try {
      expect(await client.unary_unary({ value: 'a', multiplier: 1 })).toEqual({ message: 'true', seqno: 1 });
      expect(warnings).not.toHaveBeenCalled();
    } finally {
      client.close();
    }
  });
});
