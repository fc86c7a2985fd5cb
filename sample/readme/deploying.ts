/** README, "Deploying": a Nest microservice set up for rolling updates on Kubernetes. */
import { NestFactory } from '@nestjs/core';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { GrpcTransport } from 'nestjs-grpc-transport';
import { AppModule } from './nest-server.js';

// #region kubernetes
export async function bootstrap(url = '0.0.0.0:50051') {
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(AppModule, {
    strategy: new GrpcTransport({
      url,
      health: true, // grpc.health.v1.Health, for the probes
      shutdownDelayMs: 5_000, // NOT_SERVING but still serving: readiness fails, the endpoint goes
      shutdownGraceMs: 10_000, // then GOAWAY; calls in flight get this long
      maxConnectionAgeMs: 300_000, // only behind a ClusterIP Service (see below)
    }),
  });
  app.enableShutdownHooks(); // SIGTERM → app.close() → the shutdown above
  await app.listen();
  return app;
}
// #endregion
