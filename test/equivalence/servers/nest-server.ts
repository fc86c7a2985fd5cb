/**
 * The Matrix service as a Nest controller served by GrpcTransport, written the Nest way:
 * `@GrpcImplementing(stub)`, `@GrpcMethod()` handlers returning Promises and Observables,
 * request streams consumed as Observables, the test's hooks injected as a provider.
 */
import 'reflect-metadata';
import { Controller, Inject, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Observable } from 'rxjs';
import { type GrpcContext, GrpcImplementing, GrpcMethod, GrpcTransport } from '../../../lib/index.js';
import type { ServerAdapter, ServerKind } from '../adapters.js';
import { matrixStub, type Reply, type Request, type ServerHooks } from '../matrix-service.js';
import { Steered, untilCancelled } from './context-steering.js';

const HOOKS = 'equivalence:server-hooks';

@Controller()
@GrpcImplementing(matrixStub)
class MatrixController {
  constructor(@Inject(HOOKS) private readonly hooks: ServerHooks) {}

  @GrpcMethod()
  async Unary(request: Request, context: GrpcContext): Promise<Reply | undefined> {
    const steered = new Steered(context, request, this.hooks);
    const failure = steered.failure();
    if (failure !== undefined) throw failure;
    if (request.hang) return untilCancelled(context).then(() => undefined);
    steered.setTrailers();
    return steered.reply(0);
  }

  @GrpcMethod()
  ServerStream(request: Request, context: GrpcContext): Observable<Reply> {
    return new Observable((subscriber) => {
      const steered = new Steered(context, request, this.hooks);
      for (let index = 0; index < (request.response_count || 1); index++) subscriber.next(steered.reply(index));
      const failure = steered.failure();
      if (failure !== undefined) return subscriber.error(failure);
      if (request.hang) return;
      steered.setTrailers();
      subscriber.complete();
    });
  }

  @GrpcMethod()
  ClientStream(requests: Observable<Request>, context: GrpcContext): Observable<Reply> {
    return new Observable((subscriber) => {
      let steered: Steered | undefined;
      const payloads: Buffer[] = [];
      return requests.subscribe({
        next: (request) => {
          payloads.push(request.payload ?? Buffer.alloc(0));
          if (steered !== undefined) return;
          steered = new Steered(context, request, this.hooks);
          const failure = steered.failure();
          if (failure !== undefined) subscriber.error(failure);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          // A request stream also completes when the call is cancelled: the signal tells.
          if (context.signal.aborted) return;
          steered?.requestsEnded();
          steered ??= new Steered(context, {}, this.hooks);
          if (steered.request.hang) return;
          steered.setTrailers();
          subscriber.next(steered.reply(0, { payload: Buffer.concat(payloads), received: payloads.length }));
          subscriber.complete();
        },
      });
    });
  }

  @GrpcMethod()
  Bidi(requests: Observable<Request>, context: GrpcContext): Observable<Reply> {
    return new Observable((subscriber) => {
      let steered: Steered | undefined;
      let index = 0;
      let received = 0;
      return requests.subscribe({
        next: (request) => {
          received++;
          steered ??= new Steered(context, request, this.hooks);
          for (let i = 0; i < (request.response_count || 1); i++) subscriber.next(steered.reply(index++, { received, request }));
          const failure = steered.failure(request);
          if (failure !== undefined) subscriber.error(failure);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          if (context.signal.aborted) return;
          steered?.requestsEnded();
          steered ??= new Steered(context, {}, this.hooks);
          if (steered.request.hang) return;
          steered.setTrailers();
          subscriber.complete();
        },
      });
    });
  }
}

function matrixModule(hooks: ServerHooks) {
  @Module({ controllers: [MatrixController], providers: [{ provide: HOOKS, useValue: hooks }] })
  class MatrixModule {}
  return MatrixModule;
}

/** Our Nest GrpcTransport serving MatrixController. */
export const nestServerKind: ServerKind = {
  name: 'Nest GrpcTransport',
  responseCompression: true,
  tellsResetFromHalfClose: true,
  async start(hooks: ServerHooks): Promise<ServerAdapter> {
    const transport = new GrpcTransport({ url: '127.0.0.1:0' });
    const app = await NestFactory.createMicroservice(matrixModule(hooks), { strategy: transport, logger: false });
    await app.listen();
    return {
      port: transport.port!,
      async stop() {
        transport.unwrap<{ forceShutdown(): void }>().forceShutdown();
        await app.close();
      },
    };
  },
};
