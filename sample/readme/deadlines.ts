/** README, "Deadlines and cancellation": the client gives up, the handler hears of it. */
import { setTimeout } from 'node:timers/promises';
import { type GrpcContext, GrpcClient, type GrpcError, GrpcServer } from 'nestjs-grpc-transport/core';
import { type ExampleReply, type ExampleRequest, exampleStub } from './generated/nameko.js';

// #region server
async function slowUnary(request: ExampleRequest, context: GrpcContext): Promise<ExampleReply> {
  // context.deadline and context.timeRemaining tell how long the client waits; context.signal aborts
  // when it cancels or the deadline passes, so the work stops with it.
  await setTimeout(request.multiplier * 1000, undefined, { signal: context.signal });
  return { message: request.value, seqno: 0 };
}
// #endregion

// #region client
export async function giveUp(target = 'localhost:50051') {
  await using client = new GrpcClient(target, exampleStub);
  const late = await client.unary_unary({ value: 'A', multiplier: 30 }, { timeout: 100 }).catch((error: GrpcError) => error.codeName); // 'DEADLINE_EXCEEDED'

  const controller = new AbortController();
  const pending = client.unary_unary({ value: 'B', multiplier: 30 }, { signal: controller.signal });
  controller.abort(); // or unsubscribe from a streaming call, or break out of its for-await loop
  const cancelled = await pending.catch((error: GrpcError) => error.codeName); // 'CANCELLED'
  return { late, cancelled };
}
// #endregion

/** What serveSlow tells about each call: when its handler starts, and how it ended. */
export interface SlowCallEvents {
  started(): void;
  ended(outcome: string): void;
}

/** Serves slowUnary above as nameko.example/unary_unary, reporting each handler's start and end to `events`. */
export async function serveSlow(address: string, events: SlowCallEvents) {
  const server = new GrpcServer();
  server.addService(exampleStub, {
    async unary_unary(request: ExampleRequest, context: GrpcContext): Promise<ExampleReply> {
      events.started();
      try {
        const reply = await slowUnary(request, context);
        events.ended('returned');
        return reply;
      } catch (error) {
        events.ended(context.signal.aborted ? `aborted by ${(context.signal.reason as GrpcError).codeName}` : String(error));
        throw error;
      }
    },
  });
  await server.listen(address);
  return server;
}
