/**
 * The bench service on Nest's built-in `Transport.GRPC` (ServerGrpc over @grpc/grpc-js), with
 * Nest's own `@GrpcMethod` and `@GrpcStreamMethod` and Observables, as Nest's docs show.
 */
import 'reflect-metadata';
import net from 'node:net';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { GrpcMethod, GrpcStreamMethod, type MicroserviceOptions, Transport } from '@nestjs/microservices';
import { count, map, type Observable, range } from 'rxjs';
import { type BenchReply, type BenchRequest, echoOf, streamReply } from '../common/bench-service.js';
import { EXAMPLE_PROTO } from '../common/paths.js';

@Controller()
class BenchController {
  @GrpcMethod('example', 'unary_unary')
  unaryUnary(request: BenchRequest): BenchReply {
    return echoOf(request);
  }

  @GrpcMethod('example', 'unary_stream')
  unaryStream(request: BenchRequest): Observable<BenchReply> {
    return range(0, request.multiplier).pipe(map(streamReply));
  }

  @GrpcStreamMethod('example', 'stream_unary')
  streamUnary(requests: Observable<BenchRequest>): Observable<BenchReply> {
    return requests.pipe(
      count(),
      map((total) => ({ message: '', seqno: total })),
    );
  }

  @GrpcStreamMethod('example', 'stream_stream')
  streamStream(requests: Observable<BenchRequest>): Observable<BenchReply> {
    return requests.pipe(map(echoOf));
  }
}

@Module({ controllers: [BenchController] })
class BenchModule {}

/** A port free right now (ServerGrpc does not tell which port it bound). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Boots the Nest microservice on 127.0.0.1 and a free port. */
export async function start(): Promise<{ port: number }> {
  const port = await freePort();
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(BenchModule, {
    transport: Transport.GRPC,
    options: { package: 'nameko', protoPath: EXAMPLE_PROTO, url: `127.0.0.1:${port}`, loader: { keepCase: true } },
    logger: false,
  });
  await app.listen();
  return { port };
}
