/** README, "A Nest server": a controller serving the four call patterns of nameko.example, and its bootstrap. */
// #region server
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { map, type Observable, of } from 'rxjs';
import { type GrpcContext, GrpcImplementing, GrpcMethod, GrpcTransport, type MessageStream } from 'nestjs-grpc-transport';
import { type ExampleReply, type ExampleRequest, exampleStub } from './generated/nameko.js';

@Controller()
@GrpcImplementing(exampleStub) // or @GrpcImplementing('nameko.example'), found in the transport's `protos`
export class ExampleController {
  @GrpcMethod() // serves the RPC named like the method (or its PascalCase form)
  unary_unary(request: ExampleRequest, context: GrpcContext): ExampleReply {
    const caller = context.metadata.first('x-caller') ?? 'anonymous';
    return { message: `${request.value.repeat(request.multiplier || 1)} for ${caller}`, seqno: 0 };
  }

  @GrpcMethod() // a response stream: an Observable, an AsyncIterable or an array
  unary_stream(request: ExampleRequest): Observable<ExampleReply> {
    return of(1, 2, 3).pipe(map((seqno) => ({ message: request.value, seqno })));
  }

  @GrpcMethod() // a request stream: an Observable that `for await` reads with backpressure
  async stream_unary(requests: MessageStream<ExampleRequest>): Promise<ExampleReply> {
    const values: string[] = [];
    for await (const request of requests) values.push(request.value);
    return { message: values.join(','), seqno: values.length };
  }

  @GrpcMethod('stream_stream') // the RPC's name, when the method is named otherwise
  async *echo(requests: MessageStream<ExampleRequest>): AsyncIterable<ExampleReply> {
    let seqno = 0;
    for await (const request of requests) yield { message: request.value, seqno: ++seqno };
  }
}

@Module({ controllers: [ExampleController] })
export class AppModule {}

export async function bootstrap(url = '0.0.0.0:50051') {
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(AppModule, {
    strategy: new GrpcTransport({ url }),
  });
  await app.listen();
  return app;
}
// #endregion
