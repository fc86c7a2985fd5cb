/**
 * A Nest app's life with GrpcTransport: bootstrap checks with clear messages, services named by
 * string through `protos`, the start-up log, graceful `app.close()`, shutdown hooks, and a hybrid
 * HTTP + gRPC app.
 */
import 'reflect-metadata';
import * as grpc from '@grpc/grpc-js';
import {
  type BeforeApplicationShutdown,
  Controller,
  Get,
  Injectable,
  type INestApplication,
  type INestMicroservice,
  Module,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientProxyFactory, EventPattern, MessagePattern, Transport } from '@nestjs/microservices';
import net from 'node:net';
import path from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { GrpcClient, GrpcContext, GrpcImplementing, GrpcMethod, GrpcServer, GrpcTransport, Status } from '../../lib/index.js';
import { exampleStub, type ExampleReply, type ExampleRequest } from '../helpers/example-service.js';
import { collect, exampleGrpcJsClient, grpcJsUnary } from '../helpers/grpc-js.js';
import { deferred, whenAborted } from '../helpers/harness.js';
import { grpcJsRejection, RecordingLogger, rejection, startNestApp } from '../helpers/nest-app.js';

/** Whether a TCP connection to 127.0.0.1:port is refused. */
function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

/** Boots `module` and expects `listen` to reject; returns the error message. The app is closed either way. */
async function bootstrapFailure(module: unknown, transportOptions: ConstructorParameters<typeof GrpcTransport>[0] = {}): Promise<string> {
  const transport = new GrpcTransport({ url: '127.0.0.1:0', ...transportOptions });
  let app: INestMicroservice | undefined;
  try {
    app = await NestFactory.createMicroservice(module as never, { strategy: transport, logger: false });
    await app.listen();
  } catch (error) {
    await app?.close();
    expect(transport.port).toBeUndefined();
    return error instanceof Error ? error.message : String(error);
  }
  await app.close();
  throw new Error('Expected bootstrap to fail');
}

// ---------------------------------------------------------------------------------------------
// Bootstrap checks

@Controller()
@GrpcImplementing(exampleStub)
class UnknownRpcController {
  @GrpcMethod('no_such_rpc')
  handler(): ExampleReply {
    return { message: '', seqno: 0 };
  }
}
@Module({ controllers: [UnknownRpcController] })
class UnknownRpcModule {}

@Controller()
@GrpcImplementing(exampleStub)
class FirstController {
  @GrpcMethod()
  unary_unary(): ExampleReply {
    return { message: 'first', seqno: 0 };
  }
}
@Controller()
@GrpcImplementing(exampleStub)
class SecondController {
  @GrpcMethod('unary_unary')
  again(): ExampleReply {
    return { message: 'second', seqno: 0 };
  }
}
@Module({ controllers: [FirstController, SecondController] })
class DuplicateModule {}

@Controller()
@GrpcImplementing(exampleStub)
class CamelDuplicateController {
  @GrpcMethod()
  unary_unary(): ExampleReply {
    return { message: 'snake', seqno: 0 };
  }

  @GrpcMethod()
  unaryUnary(): ExampleReply {
    return { message: 'camel', seqno: 0 };
  }
}
@Module({ controllers: [CamelDuplicateController] })
class CamelDuplicateModule {}

@Controller()
class NotImplementingController {
  @GrpcMethod()
  unary_unary(): ExampleReply {
    return { message: '', seqno: 0 };
  }
}
@Module({ controllers: [NotImplementingController] })
class NotImplementingModule {}

@Controller()
@GrpcImplementing('nameko.example')
class ByNameController {
  @GrpcMethod()
  unaryUnary(request: ExampleRequest, context: GrpcContext): ExampleReply {
    return { message: `${request.value} via ${context.path}`, seqno: 7 };
  }

  @GrpcMethod()
  async *unary_stream(request: ExampleRequest): AsyncIterable<ExampleReply> {
    for (let seqno = 1; seqno <= request.multiplier; seqno++) yield { message: request.value, seqno };
  }
}
@Module({ controllers: [ByNameController] })
class ByNameModule {}

@Controller()
@GrpcImplementing('nameko.missing_service')
class MissingServiceController {
  @GrpcMethod()
  unary_unary(): ExampleReply {
    return { message: '', seqno: 0 };
  }
}
@Module({ controllers: [MissingServiceController] })
class MissingServiceModule {}

describe('bootstrap', () => {
  it('a @GrpcMethod naming an RPC the stub lacks fails listen, naming the handler, the RPC and the RPCs there are', async () => {
    const message = await bootstrapFailure(UnknownRpcModule);
    expect(message).toContain('UnknownRpcController.handler');
    expect(message).toContain('nameko.example/no_such_rpc');
    expect(message).toContain('unary_unary, unary_stream, stream_unary, stream_stream');
  });

  it('two handlers for one RPC fail listen, naming both', async () => {
    const message = await bootstrapFailure(DuplicateModule);
    expect(message).toContain('nameko.example/unary_unary');
    expect(message).toContain('FirstController.unary_unary');
    expect(message).toContain('SecondController.again');
  });

  it('two handlers for one RPC under its proto name and its camelCase name fail listen, naming both', async () => {
    const message = await bootstrapFailure(CamelDuplicateModule);
    expect(message).toContain('nameko.example/unary_unary');
    expect(message).toContain('CamelDuplicateController.unary_unary');
    expect(message).toContain('CamelDuplicateController.unaryUnary');
  });

  it('a @GrpcMethod in a class without @GrpcImplementing fails listen', async () => {
    expect(await bootstrapFailure(NotImplementingModule)).toContain('@GrpcImplementing');
  });

  it("@GrpcImplementing('nameko.missing_service') absent from the protos fails listen, naming the service", async () => {
    const message = await bootstrapFailure(MissingServiceModule, { protos: [path.resolve('protos/example.proto')] });
    expect(message).toContain('MissingServiceController.unary_unary');
    expect(message).toContain('nameko.missing_service');
  });

  it("@GrpcImplementing('nameko.example') is resolved through GrpcTransport's protos; a camelCase method serves its RPC", async () => {
    const nest = await startNestApp(ByNameModule, { transport: { protos: 'protos/example.proto' } });
    try {
      await expect(nest.ours.unary_unary({ value: 'named', multiplier: 1 })).resolves.toEqual({ message: 'named via /nameko.example/unary_unary', seqno: 7 });
      const { response } = await grpcJsUnary(nest.grpcJs, 'unary_unary', { value: 'js' });
      expect(response).toEqual({ message: 'js via /nameko.example/unary_unary', seqno: 7 });
      const { messages } = await collect(nest.grpcJs.unary_stream({ value: 's', multiplier: 2 }));
      expect(messages.map((message: ExampleReply) => message.seqno)).toEqual([1, 2]);
      expect(await lastValueFrom(nest.ours.unary_stream({ value: 't', multiplier: 3 }).pipe(toArray()))).toHaveLength(3);
      // An RPC of the service without a handler answers UNIMPLEMENTED.
      expect((await rejection(nest.ours.stream_unary([{ value: 'x' }]))).code).toBe(Status.UNIMPLEMENTED);
    } finally {
      await nest.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The start-up log

describe('the start-up log', () => {
  it('names the address and the served services and methods, and warns once about RPCs without a handler', async () => {
    const logger = new RecordingLogger();
    const nest = await startNestApp(ByNameModule, { logger, transport: { protos: 'protos/example.proto' } });
    try {
      const ours = logger.lines.filter((line) => line.context === 'GrpcTransport');
      expect(ours.map((line) => line.message)).toEqual([
        `gRPC server listening on 127.0.0.1:${nest.port}`,
        'Serving nameko.example: unary_unary, unary_stream',
        'nameko.example has no handler for stream_unary, stream_stream: those calls answer UNIMPLEMENTED',
      ]);
      const warnings = logger.lines.filter((line) => line.level === 'warn');
      expect(warnings).toHaveLength(1);
      expect(warnings[0].message).toContain('stream_unary, stream_stream');
      expect(warnings[0].message).toContain('UNIMPLEMENTED');
      // Calls to them do not log again.
      await rejection(nest.ours.stream_unary([{ value: 'x' }]));
      expect(logger.lines.filter((line) => line.level === 'warn')).toHaveLength(1);
      expect(logger.lines.filter((line) => line.level === 'error')).toEqual([]);
    } finally {
      await nest.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Graceful close, shutdown hooks

const inFlight = { started: [deferred<GrpcContext>(), deferred<GrpcContext>()], release: deferred<void>() };

@Controller()
@GrpcImplementing(exampleStub)
class DrainingController {
  private calls = 0;

  /** `hold`: waits until the test releases it (or the call is cut); anything else answers at once. */
  @GrpcMethod()
  async unary_unary(request: ExampleRequest, context: GrpcContext): Promise<ExampleReply> {
    if (request.value !== 'hold') return { message: request.value, seqno: 0 };
    inFlight.started[this.calls++]?.resolve(context);
    await Promise.race([inFlight.release.promise, whenAborted(context.signal)]);
    return { message: 'finished after close began', seqno: 1 };
  }
}

const hooks: string[] = [];

@Injectable()
class HookedService implements BeforeApplicationShutdown, OnApplicationShutdown {
  beforeApplicationShutdown(signal?: string): void {
    hooks.push(`before:${signal ?? 'close'}`);
  }
  onApplicationShutdown(signal?: string): void {
    hooks.push(`shutdown:${signal ?? 'close'}`);
  }
}

@Module({ controllers: [DrainingController], providers: [HookedService] })
class DrainingModule {}

describe('closing', () => {
  beforeEach(() => {
    inFlight.started = [deferred(), deferred()];
    inFlight.release = deferred();
    hooks.length = 0;
  });

  it('app.close() lets in-flight calls finish, refuses new ones meanwhile, then closes the port', async () => {
    const nest = await startNestApp(DrainingModule);
    const grpcJsCall = grpcJsUnary(nest.grpcJs, 'unary_unary', { value: 'hold' });
    const ourCall = nest.ours.unary_unary({ value: 'hold', multiplier: 1 });
    const contexts = await Promise.all(inFlight.started.map((started) => started.promise));

    const closed = nest.app.close();
    // Draining: a new call, on a new connection, is refused.
    const late = new GrpcClient(`127.0.0.1:${nest.port}`, exampleStub);
    try {
      const error = await rejection(late.unary_unary({ value: 'late', multiplier: 1 }));
      expect(error.code).toBe(Status.UNAVAILABLE);
    } finally {
      late.close();
    }

    inFlight.release.resolve();
    await expect(grpcJsCall).resolves.toMatchObject({ response: { message: 'finished after close began', seqno: 1 } });
    await expect(ourCall).resolves.toEqual({ message: 'finished after close began', seqno: 1 });
    await closed;
    expect(contexts.map((context) => context.signal.aborted)).toEqual([false, false]);
    expect(await refusesConnections(nest.port)).toBe(true);
    expect(hooks).toEqual(['before:close', 'shutdown:close']);
    nest.grpcJs.close();
    nest.ours.close();
  });

  it('calls still running when shutdownGraceMs passes are cancelled: their signal aborts UNAVAILABLE', async () => {
    const nest = await startNestApp(DrainingModule, { transport: { shutdownGraceMs: 50 } });
    const call = grpcJsRejection(grpcJsUnary(nest.grpcJs, 'unary_unary', { value: 'hold' }));
    const context = await inFlight.started[0].promise;
    await nest.app.close();
    expect(context.signal.aborted).toBe(true);
    expect((context.signal.reason as { code?: number }).code).toBe(Status.UNAVAILABLE);
    expect([grpc.status.UNAVAILABLE, grpc.status.CANCELLED]).toContain((await call).code);
    expect(await refusesConnections(nest.port)).toBe(true);
    nest.grpcJs.close();
    nest.ours.close();
  });

  it('app.enableShutdownHooks() does not break close: hooks run once, signal listeners are removed, the port closes', async () => {
    const listenersBefore = process.listenerCount('SIGTERM');
    const nest = await startNestApp(DrainingModule, { configure: (app) => app.enableShutdownHooks(['SIGTERM', 'SIGINT']) });
    expect(process.listenerCount('SIGTERM')).toBe(listenersBefore + 1);
    await expect(nest.ours.unary_unary({ value: 'ok', multiplier: 1 })).resolves.toEqual({ message: 'ok', seqno: 0 });
    await nest.close();
    await nest.app.close();
    expect(process.listenerCount('SIGTERM')).toBe(listenersBefore);
    expect(hooks).toEqual(['before:close', 'shutdown:close']);
    expect(await refusesConnections(nest.port)).toBe(true);
  });

  it('unwrap() gives the GrpcServer', async () => {
    const nest = await startNestApp(DrainingModule);
    try {
      const server = nest.app.unwrap<GrpcServer>();
      expect(server).toBeInstanceOf(GrpcServer);
      expect(server.port).toBe(nest.port);
    } finally {
      await nest.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// A hybrid app

@Controller('http')
@GrpcImplementing(exampleStub)
class HybridController {
  @Get('hello')
  hello(): { hello: string } {
    return { hello: 'http' };
  }

  @GrpcMethod()
  unary_unary(request: ExampleRequest): ExampleReply {
    return { message: `grpc ${request.value}`, seqno: 0 };
  }
}
@Module({ controllers: [HybridController], providers: [HookedService] })
class HybridModule {}

describe('a hybrid app', () => {
  it('NestFactory.create + connectMicroservice({ strategy }) + startAllMicroservices serves HTTP and gRPC, and close() stops both', async () => {
    hooks.length = 0;
    const app: INestApplication = await NestFactory.create(HybridModule, { logger: false });
    const transport = new GrpcTransport({ url: '127.0.0.1:0' });
    app.connectMicroservice({ strategy: transport });
    app.enableShutdownHooks();
    await app.startAllMicroservices();
    await app.listen(0, '127.0.0.1');
    const httpPort = (app.getHttpServer().address() as net.AddressInfo).port;
    const grpcPort = transport.port!;
    const grpcJs = exampleGrpcJsClient(grpcPort);
    const ours = new GrpcClient(`127.0.0.1:${grpcPort}`, exampleStub);
    try {
      await expect(fetch(`http://127.0.0.1:${httpPort}/http/hello`).then((response) => response.json())).resolves.toEqual({ hello: 'http' });
      await expect(ours.unary_unary({ value: 'ours', multiplier: 1 })).resolves.toEqual({ message: 'grpc ours', seqno: 0 });
      const { response } = await grpcJsUnary(grpcJs, 'unary_unary', { value: 'js' });
      expect(response).toEqual({ message: 'grpc js', seqno: 0 });
    } finally {
      grpcJs.close();
      ours.close();
      await app.close();
    }
    expect(await refusesConnections(grpcPort)).toBe(true);
    expect(await refusesConnections(httpPort)).toBe(true);
    expect(hooks).toEqual(['before:close', 'shutdown:close']);
  });
});

/** A controller for Nest's own TCP transport: its patterns name no transport, so Nest offers them to every server. */
@Controller()
class TcpController {
  readonly events: unknown[] = [];

  @MessagePattern('sum')
  sum(numbers: number[]): number {
    return numbers.reduce((total, value) => total + value, 0);
  }

  @EventPattern('noted')
  noted(data: unknown): void {
    this.events.push(data);
  }
}
@Module({ controllers: [TcpController, HybridController] })
class MultiTransportModule {}

describe('an app with GrpcTransport next to another transport', () => {
  it("Nest's TCP @MessagePattern/@EventPattern handlers (no transport named) do not disturb GrpcTransport, which serves only its own", async () => {
    const logger = new RecordingLogger();
    const app: INestApplication = await NestFactory.create(MultiTransportModule, { logger });
    const tcp = app.connectMicroservice({ transport: Transport.TCP, options: { host: '127.0.0.1', port: 0 } });
    const transport = new GrpcTransport({ url: '127.0.0.1:0' });
    app.connectMicroservice({ strategy: transport });
    await app.startAllMicroservices();
    await app.init();
    const tcpPort = (tcp.unwrap<net.Server>().address() as net.AddressInfo).port;
    const tcpClient = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port: tcpPort } });
    const ours = new GrpcClient(`127.0.0.1:${transport.port}`, exampleStub);
    try {
      await expect(lastValueFrom(tcpClient.send<number>('sum', [1, 2, 3]))).resolves.toBe(6);
      await expect(ours.unary_unary({ value: 'next to tcp', multiplier: 1 })).resolves.toEqual({ message: 'grpc next to tcp', seqno: 0 });
      const serving = logger.lines.filter((line) => line.context === 'GrpcTransport' && line.message.startsWith('Serving'));
      expect(serving.map((line) => line.message)).toEqual(['Serving nameko.example: unary_unary']);
    } finally {
      ours.close();
      await tcpClient.close();
      await app.close();
    }
  });
});

