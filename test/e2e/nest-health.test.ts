import 'reflect-metadata';
import * as grpc from '@grpc/grpc-js';
import { Controller, Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { GrpcClient, GrpcHealthModule, GrpcHealthService, GrpcImplementing, GrpcMethod, GrpcTransport, healthStub, Status } from '../../lib/index.js';
import { type ExampleRequest, exampleStub } from '../helpers/example-service.js';
import { deferred } from '../helpers/harness.js';

/** A provider reporting a dependency's health under its own name. */
@Injectable()
class Database implements OnModuleInit {
  constructor(private readonly health: GrpcHealthService) {
    // Before the transport is known: applied once it is.
    health.setStatus('early.Component', 'NOT_SERVING');
  }

  onModuleInit(): void {
    this.health.setStatus('example.Database', 'SERVING');
  }

  down(): void {
    this.health.setStatus('example.Database', 'NOT_SERVING');
  }
}

@Controller()
@GrpcImplementing(exampleStub)
class ExampleController {
  @GrpcMethod()
  unary_unary(request: ExampleRequest) {
    return { message: request.value, seqno: 0 };
  }
}

@Module({ imports: [GrpcHealthModule], controllers: [ExampleController], providers: [Database] })
class HealthAppModule {}

type Health = GrpcClient<ReturnType<typeof healthStub>>;

async function status(client: Health, service: string): Promise<string | number> {
  return client.Check({ service }).then(
    (response) => response.status,
    (error: { code: number }) => error.code,
  );
}

describe('GrpcHealthService in a Nest app', () => {
  it('sets statuses of the transport from providers; the transport marks services SERVING, then NOT_SERVING on app.close()', async () => {
    const transport = new GrpcTransport({ url: '127.0.0.1:0', health: true });
    const app = await NestFactory.createMicroservice(HealthAppModule, { strategy: transport, logger: false });
    await app.listen();
    const client: Health = new GrpcClient(`127.0.0.1:${transport.port}`, healthStub());
    try {
      expect(await status(client, '')).toBe('SERVING');
      expect(await status(client, 'nameko.example')).toBe('SERVING');
      expect(await status(client, 'example.Database')).toBe('SERVING');
      expect(await status(client, 'early.Component')).toBe('NOT_SERVING');
      expect(await status(client, 'unknown.Service')).toBe(Status.NOT_FOUND);

      const health = app.get(GrpcHealthService);
      expect(health.getStatus('nameko.example')).toBe('SERVING');
      app.get(Database).down();
      expect(await status(client, 'example.Database')).toBe('NOT_SERVING');

      const statuses: string[] = [];
      const first = deferred();
      const ended = deferred();
      client.Watch({ service: 'nameko.example' }).subscribe({
        next: ({ status: value }) => {
          statuses.push(value);
          first.resolve();
        },
        complete: () => ended.resolve(),
        error: ended.reject,
      });
      await first.promise;
      await app.close();
      await ended.promise;
      expect(statuses).toEqual(['SERVING', 'NOT_SERVING']);
    } finally {
      client.close();
      await app.close();
    }
  });

  it('reaches the transport of a hybrid app (connectMicroservice)', async () => {
    const app = await NestFactory.create(HealthAppModule, { logger: false });
    const transport = new GrpcTransport({ url: '127.0.0.1:0', health: true });
    app.connectMicroservice({ strategy: transport });
    await app.startAllMicroservices();
    await app.init();
    const client: Health = new GrpcClient(`127.0.0.1:${transport.port}`, healthStub());
    try {
      expect(await status(client, 'example.Database')).toBe('SERVING');
      expect(await status(client, 'early.Component')).toBe('NOT_SERVING');
      app.get(GrpcHealthService).clearStatus('early.Component');
      expect(await status(client, 'early.Component')).toBe(Status.NOT_FOUND);
    } finally {
      client.close();
      await app.close();
    }
  });

  it('without health: true the statuses are kept but not served', async () => {
    const transport = new GrpcTransport({ url: '127.0.0.1:0' });
    const app = await NestFactory.createMicroservice(HealthAppModule, { strategy: transport, logger: false });
    await app.listen();
    const client: Health = new GrpcClient(`127.0.0.1:${transport.port}`, healthStub());
    try {
      expect(await status(client, '')).toBe(grpc.status.UNIMPLEMENTED);
      expect(app.get(GrpcHealthService).getStatus('example.Database')).toBe('SERVING');
    } finally {
      client.close();
      await app.close();
    }
  });
});
