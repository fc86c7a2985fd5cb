/**
 * The call scope is kept only once something can read it: a server alone, or with a client that
 * does not propagate, runs handlers outside AsyncLocalStorage; the first currentCallContext()
 * turns it on for the calls that follow and warns once that earlier calls lack it.
 * (Its sibling, server-call-scope-client.test.ts, starts with a propagating client.)
 */
import { jest } from '@jest/globals';
import { currentCallContext, GrpcClient, type GrpcContext } from '../../lib/index.js';
import { exampleStub, type ExampleRequest } from '../helpers/example-service.js';
import { Harness } from '../helpers/harness.js';

/** The warnings emitted from now on with the given code (Jest's process is a sandbox copy whose 'warning' events never fire, so the call is watched). */
function warningsWithCode(code: string): string[] {
  const seen: string[] = [];
  const emit = process.emitWarning.bind(process);
  jest.spyOn(process, 'emitWarning').mockImplementation((warning: string | Error, options?: unknown) => {
    if ((options as { code?: string } | undefined)?.code === code) seen.push(String(warning));
    emit(warning, options as string);
  });
  return seen;
}

describe('the call scope, off until something reads it', () => {
  const harness = new Harness();
  afterAll(() => harness.close());

  it('is off with a non-propagating client: the first currentCallContext() warns and finds none; later calls have theirs', async () => {
    const warnings = warningsWithCode('GRPC_CALL_SCOPE_LATE');
    const { port } = await harness.serve({
      async unary_unary(request: ExampleRequest, ctx: GrpcContext) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        const current = currentCallContext();
        return { message: current === undefined ? 'none' : String(current === ctx), seqno: request.multiplier };
      },
    });
    const client = new GrpcClient(`127.0.0.1:${port}`, exampleStub, { propagate: false });
    try {
      expect(await client.unary_unary({ value: 'a', multiplier: 1 })).toEqual({ message: 'none', seqno: 1 });
      expect(await client.unary_unary({ value: 'b', multiplier: 2 })).toEqual({ message: 'true', seqno: 2 });
      expect(await client.unary_unary({ value: 'c', multiplier: 3 })).toEqual({ message: 'true', seqno: 3 });
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/enableCallScope\(\) at startup/);
    } finally {
      client.close();
    }
  });
});
