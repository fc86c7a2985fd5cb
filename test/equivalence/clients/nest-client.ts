/**
 * Our Nest client as a matrix client (iterable style): a Nest application context whose module
 * imports `GrpcClientModule.forFeature`, the clients injected with `@InjectGrpcClient` into a
 * provider the test gets from the context. Closing the context closes the clients.
 */
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type Encoding, type GrpcClient, GrpcClientModule, InjectGrpcClient } from '../../../lib/index.js';
import type { ClientAdapter, ClientKind } from '../adapters.js';
import { matrixStub, unservedStub } from '../matrix-service.js';
import { OurClientAdapter } from './our-client-adapter.js';

@Injectable()
class MatrixCaller {
  constructor(
    @InjectGrpcClient(matrixStub) readonly matrix: GrpcClient<typeof matrixStub>,
    @InjectGrpcClient(unservedStub) readonly unserved: GrpcClient<typeof unservedStub>,
  ) {}
}

function callerModule(url: string, compression: Encoding | undefined) {
  @Module({
    imports: [GrpcClientModule.forFeature([{ stub: matrixStub, url, options: { compression } }, { stub: unservedStub, url }])],
    providers: [MatrixCaller],
  })
  class CallerModule {}
  return CallerModule;
}

/** GrpcClientModule.forFeature + @InjectGrpcClient in a Nest application context. */
export const nestClientKind: ClientKind = {
  name: 'Nest client',
  perCallCompression: true,
  cancelsWithoutHalfClose: true,
  async create(port: number, options: { compression?: Encoding } = {}): Promise<ClientAdapter> {
    const app = await NestFactory.createApplicationContext(callerModule(`127.0.0.1:${port}`, options.compression), { logger: false });
    const caller = app.get(MatrixCaller);
    return new OurClientAdapter(caller.matrix, caller.unserved, 'iterable', () => app.close());
  },
};
