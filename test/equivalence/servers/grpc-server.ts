/**
 * The Matrix service on our standalone GrpcServer, written as its users would: plain and async
 * functions, async generators, `for await` over request streams, GrpcError thrown for failures.
 */
import { GrpcServer, type GrpcContext, type MessageStream } from '../../../lib/index.js';
import type { ServerAdapter, ServerKind } from '../adapters.js';
import { matrixStub, type Reply, type Request, type ServerHooks } from '../matrix-service.js';
import { Steered, untilCancelled } from './context-steering.js';

/** The implementation object GrpcServer.addService serves. */
function implementation(hooks: ServerHooks) {
  return {
    async Unary(request: Request, context: GrpcContext): Promise<Reply | undefined> {
      const steered = new Steered(context, request, hooks);
      const failure = steered.failure();
      if (failure !== undefined) throw failure;
      if (request.hang) return untilCancelled(context).then(() => undefined);
      steered.setTrailers();
      return steered.reply(0);
    },

    async *ServerStream(request: Request, context: GrpcContext): AsyncIterable<Reply> {
      const steered = new Steered(context, request, hooks);
      for (let index = 0; index < (request.response_count || 1); index++) yield steered.reply(index);
      const failure = steered.failure();
      if (failure !== undefined) throw failure;
      if (request.hang) await untilCancelled(context);
      steered.setTrailers();
    },

    async ClientStream(requests: MessageStream<Request>, context: GrpcContext): Promise<Reply | undefined> {
      let steered: Steered | undefined;
      const payloads: Buffer[] = [];
      for await (const request of requests) {
        payloads.push(request.payload ?? Buffer.alloc(0));
        if (steered !== undefined) continue;
        steered = new Steered(context, request, hooks);
        const failure = steered.failure();
        if (failure !== undefined) throw failure;
      }
      steered?.requestsEnded();
      steered ??= new Steered(context, {}, hooks);
      if (steered.request.hang) return untilCancelled(context).then(() => undefined);
      steered.setTrailers();
      return steered.reply(0, { payload: Buffer.concat(payloads), received: payloads.length });
    },

    async *Bidi(requests: MessageStream<Request>, context: GrpcContext): AsyncIterable<Reply> {
      let steered: Steered | undefined;
      let index = 0;
      let received = 0;
      for await (const request of requests) {
        received++;
        steered ??= new Steered(context, request, hooks);
        for (let i = 0; i < (request.response_count || 1); i++) yield steered.reply(index++, { received, request });
        const failure = steered.failure(request);
        if (failure !== undefined) throw failure;
      }
      steered?.requestsEnded();
      steered ??= new Steered(context, {}, hooks);
      if (steered.request.hang) await untilCancelled(context);
      steered.setTrailers();
    },
  };
}

/** Our GrpcServer. */
export const grpcServerKind: ServerKind = {
  name: 'GrpcServer',
  responseCompression: true,
  tellsResetFromHalfClose: true,
  async start(hooks: ServerHooks): Promise<ServerAdapter> {
    const server = new GrpcServer();
    server.addService(matrixStub, implementation(hooks));
    const port = await server.listen('127.0.0.1:0');
    return {
      port,
      async stop() {
        server.forceShutdown();
      },
    };
  },
};
