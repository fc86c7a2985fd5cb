/** README, "Health checking" in Nest: GrpcHealthService reports a dependency's status. */
// #region health
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { GrpcHealthModule, GrpcHealthService, GrpcTransport } from 'nestjs-grpc-transport';

@Injectable()
export class DatabaseHealth {
  constructor(private readonly health: GrpcHealthService) {}

  onDisconnect() {
    this.health.setStatus('example.Database', 'NOT_SERVING');
  }

  onReconnect() {
    this.health.setStatus('example.Database', 'SERVING');
  }
}

@Module({ imports: [GrpcHealthModule], providers: [DatabaseHealth] })
export class AppModule {}

export async function bootstrap(url = '0.0.0.0:50051') {
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(AppModule, {
    strategy: new GrpcTransport({ url, health: true }),
  });
  await app.listen();
  return app;
}
// #endregion
