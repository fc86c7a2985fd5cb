/**
 * A GrpcClientProxy makes its GrpcClient at the first call, often inside a handler. The call
 * scope that propagation reads must already be on by then: the proxy turns it on when created.
 * (Its own file: once on, the scope stays on for the rest of a test file.)
 */
import { firstValueFrom } from 'rxjs';
import { GrpcClientProxy, type GrpcContext } from '../../lib/index.js';
import { exampleStub, type ExampleReply, type ExampleRequest } from '../helpers/example-service.js';
import { grpcJsUnary } from '../helpers/grpc-js.js';
import { Harness } from '../helpers/harness.js';

describe('GrpcClientProxy and the call scope', () => {
  const harness = new Harness();
  afterAll(() => harness.close());

  it('propagates the deadline of the call being served on its very first send', async () => {
    const upstream = await harness.serve({
      unary_unary(request: ExampleRequest, ctx: GrpcContext): ExampleReply {
        return { message: ctx.deadline === undefined ? 'no deadline' : 'deadline', seqno: request.multiplier };
      },
    });
    const proxy = new GrpcClientProxy({ url: `127.0.0.1:${upstream.port}`, stubs: [exampleStub] });
    try {
      const front = await harness.serve({
        unary_unary(request: ExampleRequest): Promise<ExampleReply> {
          return firstValueFrom(proxy.send<ExampleReply>('nameko.example/unary_unary', request));
        },
      });
      const client = harness.client(front.port);
      const { response } = await grpcJsUnary(client, 'unary_unary', { value: 'a', multiplier: 4 }, undefined, { deadline: Date.now() + 30_000 });
      expect(response).toEqual({ message: 'deadline', seqno: 4 });
    } finally {
      await proxy.close();
    }
  });
});
