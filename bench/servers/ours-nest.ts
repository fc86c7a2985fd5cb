/** The bench service as a Nest controller served by our GrpcTransport. */
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { GrpcImplementing, GrpcMethod, GrpcTransport, type MessageStream } from '../../lib/index.js';
import { exampleStub } from '../../sample/generated/nameko.js';
import type { BenchReply, BenchRequest } from '../common/bench-service.js';
import { streamStream, streamUnary, unaryStream, unaryUnary } from './handlers.js';

/** nameko.example with the bench semantics. */
@Controller()
@GrpcImplementing(exampleStub)
class BenchController {
  @GrpcMethod()
  unary_unary(request: BenchRequest): BenchReply {
    return unaryUnary(request);
  }

  @GrpcMethod()
  unary_stream(request: BenchRequest): Iterable<BenchReply> {
    return unaryStream(request);
  }

  @GrpcMethod()
  stream_unary(requests: MessageStream<BenchRequest>): Promise<BenchReply> {
    return streamUnary(requests);
  }

  @GrpcMethod()
  stream_stream(requests: MessageStream<BenchRequest>): AsyncIterable<BenchReply> {
    return streamStream(requests);
  }
}

@Module({ controllers: [BenchController] })
class BenchModule {}

/** Boots the Nest microservice on 127.0.0.1 and a free port. */
export async function start(): Promise<{ port: number }> {
  const transport = new GrpcTransport({ url: '127.0.0.1:0' });
  const app = await NestFactory.createMicroservice(BenchModule, { strategy: transport, logger: false });
  await app.listen();
  return { port: transport.port! };
}
