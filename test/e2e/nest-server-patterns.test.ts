import 'reflect-metadata';
import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { lastValueFrom, Observable, of, toArray } from 'rxjs';
import { GrpcClient, type GrpcContext, GrpcImplementing, GrpcMethod, GrpcTransport, type MessageStream } from '../../lib/index.js';
import * as grpc from '@grpc/grpc-js';
import { exampleStub, type ExampleReply, type ExampleRequest } from '../helpers/example-service.js';
import { collect, exampleGrpcJsClient, grpcJsUnary } from '../helpers/grpc-js.js';
import type { ExampleClient } from '../helpers/harness.js';

@Controller()
@GrpcImplementing(exampleStub)
class ExampleController {
  @GrpcMethod()
  unary_unary(request: ExampleRequest, context: GrpcContext): ExampleReply {
    return { message: `${request.value.repeat(request.multiplier || 1)}${context.metadata.first('suffix') ?? ''}`, seqno: 0 };
  }

  @GrpcMethod()
  unary_stream(request: ExampleRequest): Observable<ExampleReply> {
    return of({ message: request.value, seqno: 1 }, { message: request.value, seqno: 2 });
  }

  @GrpcMethod()
  async stream_unary(requests: MessageStream<ExampleRequest>): Promise<ExampleReply> {
    const values: string[] = [];
    for await (const request of requests) values.push(request.value);
    return { message: values.join(','), seqno: 0 };
  }

  @GrpcMethod('stream_stream')
  async *echo(requests: MessageStream<ExampleRequest>): AsyncIterable<ExampleReply> {
    let seqno = 0;
    for await (const request of requests) yield { message: request.value, seqno: ++seqno };
  }
}

@Module({ controllers: [ExampleController] })
class AppModule {}

describe('GrpcTransport serves a Nest controller', () => {
  let app: INestMicroservice;
  let client: GrpcClient<typeof exampleStub>;
  let grpcJs: ExampleClient;

  beforeAll(async () => {
    const transport = new GrpcTransport({ url: '127.0.0.1:0' });
    app = await NestFactory.createMicroservice(AppModule, { strategy: transport, logger: false });
    await app.listen();
    client = new GrpcClient(`127.0.0.1:${transport.port}`, exampleStub);
    grpcJs = exampleGrpcJsClient(transport.port!);
  });

  afterAll(async () => {
    client.close();
    grpcJs.close();
    await app.close();
  });

  it('unary with the context as second argument', async () => {
    await expect(client.unary_unary({ value: 'A', multiplier: 2 }, { metadata: { suffix: '!' } })).resolves.toEqual({ message: 'AA!', seqno: 0 });
  });

  it('server streaming from an Observable', async () => {
    const replies: ExampleReply[] = await lastValueFrom(client.unary_stream({ value: 'B', multiplier: 1 }).pipe(toArray()));
    expect(replies.map((reply) => reply.seqno)).toEqual([1, 2]);
  });

  it('client streaming', async () => {
    await expect(client.stream_unary([{ value: 'x' }, { value: 'y' }])).resolves.toEqual({ message: 'x,y', seqno: 0 });
  });

  it('bidi streaming from an async generator bound by an explicit RPC name', async () => {
    const replies: ExampleReply[] = await lastValueFrom(client.stream_stream(of({ value: 'p' }, { value: 'q' })).pipe(toArray()));
    expect(replies).toEqual([
      { message: 'p', seqno: 1 },
      { message: 'q', seqno: 2 },
    ]);
  });

  describe('with a @grpc/grpc-js client', () => {
    it('unary with the context as second argument', async () => {
      const metadata = new grpc.Metadata();
      metadata.set('suffix', '?');
      const { response, status } = await grpcJsUnary(grpcJs, 'unary_unary', { value: 'C', multiplier: 3 }, metadata);
      expect(response).toEqual({ message: 'CCC?', seqno: 0 });
      expect(status.code).toBe(grpc.status.OK);
    });

    it('server streaming from an Observable', async () => {
      const { messages, status } = await collect(grpcJs.unary_stream({ value: 'D', multiplier: 1 }));
      expect(messages).toEqual([
        { message: 'D', seqno: 1 },
        { message: 'D', seqno: 2 },
      ]);
      expect(status.code).toBe(grpc.status.OK);
    });

    it('client streaming', async () => {
      const reply = await new Promise((resolve, reject) => {
        const call = grpcJs.stream_unary((error: grpc.ServiceError | null, value: unknown) => (error ? reject(error) : resolve(value)));
        call.write({ value: 'u' });
        call.write({ value: 'v' });
        call.write({ value: 'w' });
        call.end();
      });
      expect(reply).toEqual({ message: 'u,v,w', seqno: 0 });
    });

    it('bidi streaming, each reply sent as its request arrives', async () => {
      const call: grpc.ClientDuplexStream<ExampleRequest, ExampleReply> = grpcJs.stream_stream();
      const done = collect(call);
      const first = new Promise<ExampleReply>((resolve) => call.once('data', resolve));
      call.write({ value: 'm', multiplier: 1 });
      // The second request is written only once the first reply came back: the handler streams as it goes.
      await expect(first).resolves.toEqual({ message: 'm', seqno: 1 });
      call.write({ value: 'n', multiplier: 1 });
      call.end();
      const { messages, status } = await done;
      expect(messages).toEqual([
        { message: 'm', seqno: 1 },
        { message: 'n', seqno: 2 },
      ]);
      expect(status.code).toBe(grpc.status.OK);
    });
  });
});
