/** A Nest microservice served by GrpcTransport on a unix socket, called with a `unix:` target. */
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GrpcClient, GrpcImplementing, GrpcMethod, GrpcTransport } from '../../lib/index.js';
import { exampleStub, type ExampleReply, type ExampleRequest } from '../helpers/example-service.js';
import { RecordingLogger } from '../helpers/nest-app.js';

@Controller()
@GrpcImplementing(exampleStub)
class EchoController {
  @GrpcMethod()
  unary_unary(request: ExampleRequest): ExampleReply {
    return { message: `unix:${request.value}`, seqno: 0 };
  }
}

@Module({ controllers: [EchoController] })
class EchoModule {}

describe('GrpcTransport on a unix socket', () => {
  let tmp: string;

  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'grpc-nest-unix-'));
  });

  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('listens on unix:///path, logs the socket, and serves a client of that target', async () => {
    const url = `unix://${path.join(tmp, 'nest.sock')}`;
    const logger = new RecordingLogger();
    const app = await NestFactory.createMicroservice(EchoModule, { strategy: new GrpcTransport({ url }), logger });
    await app.listen();
    const client = new GrpcClient(url, exampleStub);
    try {
      await expect(client.unary_unary({ value: 'A', multiplier: 1 })).resolves.toEqual({ message: 'unix:A', seqno: 0 });
      expect(logger.lines.map((line) => line.message)).toContain(`gRPC server listening on ${url}`);
    } finally {
      client.close();
      await app.close();
    }
  });
});
