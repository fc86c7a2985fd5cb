import 'reflect-metadata';
import { Controller, Inject, Injectable, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientsModule, type ClientProxy } from '@nestjs/microservices';
import { firstValueFrom, lastValueFrom, Observable, take, toArray } from 'rxjs';
import {
  GrpcClient,
  GrpcClientModule,
  GrpcClientProxy,
  type GrpcContext,
  GrpcImplementing,
  GrpcMethod,
  GrpcTransport,
  InjectGrpcClient,
  Status,
} from '../../lib/index.js';
import { type ExampleReply, type ExampleRequest, exampleStub } from '../helpers/example-service.js';

/** What the backend saw of its last calls. */
const seen = {
  deadline: undefined as Date | undefined,
  requestId: undefined as unknown,
  cancelled: undefined as Promise<unknown> | undefined,
};

@Controller()
@GrpcImplementing(exampleStub)
class BackendController {
  @GrpcMethod()
  unary_unary(request: ExampleRequest, context: GrpcContext): ExampleReply {
    seen.deadline = context.deadline;
    seen.requestId = context.metadata.first('x-request-id');
    return { message: `backend:${request.value}`, seqno: 0 };
  }

  @GrpcMethod()
  unary_stream(_request: ExampleRequest, context: GrpcContext): Observable<ExampleReply> {
    seen.cancelled = new Promise((resolve) => context.signal.addEventListener('abort', () => resolve(context.signal.reason), { once: true }));
    return new Observable((subscriber) => {
      let seqno = 0;
      const timer = setInterval(() => subscriber.next({ message: 'tick', seqno: ++seqno }), 5);
      return () => clearInterval(timer);
    });
  }
}

@Module({ controllers: [BackendController] })
class BackendModule {}

@Injectable()
class Forwarder {
  constructor(@InjectGrpcClient(exampleStub) readonly backend: GrpcClient<typeof exampleStub>) {}

  async forward(value: string): Promise<ExampleReply> {
    await Promise.resolve();
    return this.backend.unary_unary({ value, multiplier: 1 });
  }
}

@Controller()
@GrpcImplementing(exampleStub)
class MiddleController {
  constructor(private readonly forwarder: Forwarder) {}

  @GrpcMethod()
  unary_unary(request: ExampleRequest): Promise<ExampleReply> {
    return this.forwarder.forward(request.value);
  }

  @GrpcMethod()
  unary_stream(request: ExampleRequest): Observable<ExampleReply> {
    return this.forwarder.backend.unary_stream(request);
  }
}

function middleModule(backendUrl: string) {
  @Module({
    imports: [
      GrpcClientModule.forRoot({ propagate: { metadata: ['x-request-id'] } }),
      GrpcClientModule.forFeature([{ stub: exampleStub, url: backendUrl }]),
    ],
    controllers: [MiddleController],
    providers: [Forwarder],
  })
  class MiddleModule {}
  return MiddleModule;
}

async function startApp(module: object): Promise<{ app: INestMicroservice; url: string }> {
  const transport = new GrpcTransport({ url: '127.0.0.1:0' });
  const app = await NestFactory.createMicroservice(module as never, { strategy: transport, logger: false });
  await app.listen();
  return { app, url: `127.0.0.1:${transport.port}` };
}

describe('Nest client: GrpcClientModule, propagation and GrpcClientProxy', () => {
  let backend: { app: INestMicroservice; url: string };
  let middle: { app: INestMicroservice; url: string };
  let client: GrpcClient<typeof exampleStub>;

  beforeAll(async () => {
    backend = await startApp(BackendModule);
    middle = await startApp(middleModule(backend.url));
    client = new GrpcClient(middle.url, exampleStub);
  });

  afterAll(async () => {
    client.close();
    await middle.app.close();
    await backend.app.close();
  });

  it('a forFeature client injected into a service calls the backend', async () => {
    await expect(client.unary_unary({ value: 'v' })).resolves.toEqual({ message: 'backend:v', seqno: 0 });
  });

  it('the incoming deadline and the listed metadata reach the backend through the middle service', async () => {
    const before = Date.now();
    await client.unary_unary({ value: 'd' }, { timeout: 3000, metadata: { 'x-request-id': 'req-42', other: 'not-propagated' } });
    expect(seen.requestId).toBe('req-42');
    expect(seen.deadline).toBeInstanceOf(Date);
    const deadline = (seen.deadline as Date).getTime();
    expect(deadline).toBeLessThanOrEqual(before + 3000 + 50);
    expect(deadline).toBeGreaterThan(before + 2000);
  });

  it('a call without a deadline inherits none', async () => {
    await client.unary_unary({ value: 'n' });
    expect(seen.deadline).toBeUndefined();
  });

  it('cancelling the incoming call cancels the propagated one', async () => {
    const first: ExampleReply = await firstValueFrom(client.unary_stream({ value: 's' }).pipe(take(1)));
    expect(first.message).toBe('tick');
    const reason = await seen.cancelled;
    expect(reason).toMatchObject({ code: Status.CANCELLED });
  });

  it('GrpcClientProxy registered through ClientsModule sends unary and streaming calls', async () => {
    @Injectable()
    class Caller {
      constructor(@Inject('BACKEND') readonly proxy: ClientProxy) {}
    }
    @Module({
      imports: [ClientsModule.register([{ name: 'BACKEND', customClass: GrpcClientProxy, options: { url: backend.url, stubs: [exampleStub] } }])],
      providers: [Caller],
    })
    class CallerModule {}
    const app = await NestFactory.createApplicationContext(CallerModule, { logger: false });
    try {
      const proxy = app.get(Caller).proxy as GrpcClientProxy;
      await expect(firstValueFrom(proxy.send('nameko.example/unary_unary', { value: 'p' }))).resolves.toEqual({ message: 'backend:p', seqno: 0 });
      const ticks = await lastValueFrom(proxy.send('/nameko.example/unary_stream', { value: 't' }).pipe(take(3), toArray()));
      expect(ticks.map((tick: ExampleReply) => tick.seqno)).toEqual([1, 2, 3]);
      await expect(firstValueFrom(proxy.send('nameko.example/nope', {}))).rejects.toMatchObject({ code: Status.UNIMPLEMENTED });
      await expect(proxy.getService(exampleStub).unary_unary({ value: 'g' })).resolves.toEqual({ message: 'backend:g', seqno: 0 });
    } finally {
      await app.close();
    }
  });

  it('closing the module closes its clients', async () => {
    const other = await startApp(middleModule(backend.url));
    const forwarder = other.app.get(Forwarder);
    await expect(forwarder.forward('x')).resolves.toMatchObject({ message: 'backend:x' });
    await other.app.close();
    await expect(forwarder.forward('y')).rejects.toMatchObject({ code: Status.UNAVAILABLE });
  });
});

describe('GrpcClientModule.forRootAsync and named registrations', () => {
  it('builds the shared options with a factory and injects a client registered under a name', async () => {
    const backend = await startApp(BackendModule);
    const CONFIG = 'CONFIG';
    @Module({ providers: [{ provide: CONFIG, useValue: { url: backend.url, requestId: 'from-config' } }], exports: [CONFIG] })
    class ConfigModule {}

    @Injectable()
    class Named {
      constructor(@InjectGrpcClient('backend-by-name') readonly client: GrpcClient<typeof exampleStub>) {}
    }

    @Module({
      imports: [
        GrpcClientModule.forRootAsync({
          imports: [ConfigModule],
          inject: [CONFIG],
          useFactory: (config: { url: string; requestId: string }) => ({
            url: config.url,
            interceptors: [
              (info, next) => {
                info.metadata.set('x-request-id', config.requestId);
                return next(info);
              },
            ],
          }),
        }),
        GrpcClientModule.forFeature([{ stub: exampleStub, name: 'backend-by-name' }]),
      ],
      providers: [Named],
    })
    class AsyncModule {}

    const app = await NestFactory.createApplicationContext(AsyncModule, { logger: false });
    try {
      await expect(app.get(Named).client.unary_unary({ value: 'n' })).resolves.toEqual({ message: 'backend:n', seqno: 0 });
      expect(seen.requestId).toBe('from-config');
    } finally {
      await app.close();
      await backend.app.close();
    }
  });
});
