/**
 * Metadata through a Nest controller: request metadata reaches handlers through the context
 * (undecorated, @Ctx(), @GrpcCtx() next to @Payload()), initial and trailing metadata go back,
 * and the call's context is reachable from a service after an await (currentCallContext).
 */
import 'reflect-metadata';
import * as grpc from '@grpc/grpc-js';
import { Controller, Inject, Injectable, Module, Scope } from '@nestjs/common';
import { CONTEXT, Ctx, Payload, type RequestContext } from '@nestjs/microservices';
import { lastValueFrom, map, Observable, toArray } from 'rxjs';
import {
  currentCallContext,
  GrpcContext,
  GrpcCtx,
  GrpcImplementing,
  GrpcMethod,
  Metadata,
  type MessageStream,
} from '../../lib/index.js';
import { exampleStub, type ExampleReply, type ExampleRequest } from '../helpers/example-service.js';
import { collect, grpcJsUnary } from '../helpers/grpc-js.js';
import { type NestGrpcApp, startNestApp } from '../helpers/nest-app.js';

/** A provider that reads the current call's context after an await, as a client module would. */
@Injectable()
class CallerService {
  async describeCaller(): Promise<{ caller: string; context: GrpcContext | undefined }> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    await Promise.resolve();
    const context = currentCallContext();
    return { caller: String(context?.metadata.first('caller') ?? '(no context)'), context };
  }
}

@Controller()
@GrpcImplementing(exampleStub)
class MetadataController {
  constructor(private readonly caller: CallerService) {}

  /** Nest's own decorators: request metadata in, initial and trailing metadata out. */
  @GrpcMethod()
  unary_unary(@Payload() request: ExampleRequest, @Ctx() context: GrpcContext): ExampleReply {
    context.sendInitialMetadata(new Metadata({ 'x-initial': `hello ${request.value}` }));
    const trailing = new Metadata({ 'x-trailing': 'bye' });
    const binary = context.metadata.first('trace-bin');
    if (binary !== undefined) trailing.set('echo-bin', binary);
    context.setTrailingMetadata(trailing);
    return { message: context.metadata.get('x-in').join('+'), seqno: 0 };
  }

  /** @GrpcCtx() first and @Payload() second: the decorators choose the parameters, not their order. */
  @GrpcMethod()
  unary_stream(@GrpcCtx() context: GrpcContext, @Payload() request: ExampleRequest): Observable<ExampleReply> {
    return new Observable<ExampleReply>((subscriber) => {
      context.sendInitialMetadata(new Metadata({ 'x-initial': 'stream' }));
      subscriber.next({ message: `${request.value}:${String(context.metadata.first('x-in'))}`, seqno: 1 });
      context.trailingMetadata.add('x-trailing', 'stream-end');
      subscriber.next({ message: context.path, seqno: 2 });
      subscriber.complete();
    });
  }

  /** Undecorated: the request stream first, the context second; a service reads the context after awaits. */
  @GrpcMethod()
  async stream_unary(requests: MessageStream<ExampleRequest>, context: GrpcContext): Promise<ExampleReply> {
    const values: string[] = [];
    for await (const request of requests) values.push(request.value);
    const { caller, context: current } = await this.caller.describeCaller();
    return { message: `${values.join(',')} from ${caller}`, seqno: current === context ? 1 : -1 };
  }

  /** @Payload() on a request stream typed as an Observable (a class, so pipes see a metatype), @GrpcCtx() next to it. */
  @GrpcMethod()
  stream_stream(@Payload() requests: Observable<ExampleRequest>, @GrpcCtx() context: GrpcContext): Observable<ExampleReply> {
    const tag = String(context.metadata.first('x-in') ?? '');
    return requests.pipe(map((request, index) => ({ message: `${tag}${request.value}`, seqno: index + 1 })));
  }
}

@Module({ controllers: [MetadataController], providers: [CallerService] })
class MetadataModule {}

/** A request-scoped provider: Nest builds one per call and gives it the call through CONTEXT. */
@Injectable({ scope: Scope.REQUEST })
class PerCall {
  constructor(@Inject(CONTEXT) readonly request: RequestContext) {}
}

@Controller()
@GrpcImplementing(exampleStub)
class RequestScopedController {
  constructor(private readonly perCall: PerCall) {}

  /** @Payload('property') picks one field of the request. */
  @GrpcMethod()
  unary_unary(@Payload('value') value: string, @Payload('multiplier') multiplier: number, @GrpcCtx() context: GrpcContext): ExampleReply {
    const { request } = this.perCall;
    const same = request.getContext() === context && request.getData() !== undefined;
    return { message: `${value.repeat(multiplier)} ${JSON.stringify(request.getPattern())} ${String(context.metadata.first('x-in'))}`, seqno: same ? 1 : 0 };
  }
}

@Module({ controllers: [RequestScopedController], providers: [PerCall] })
class RequestScopedModule {}

describe('a request-scoped controller', () => {
  let nest: NestGrpcApp;
  beforeAll(async () => {
    nest = await startNestApp(RequestScopedModule);
  });
  afterAll(() => nest.close());

  it('gets its per-call provider with the call context, and @Payload(property) fields (both clients)', async () => {
    const expected = { message: 'abab {"service":"nameko.example","rpc":"unary_unary"} m', seqno: 1 };
    await expect(nest.ours.unary_unary({ value: 'ab', multiplier: 2 }, { metadata: { 'x-in': 'm' } })).resolves.toEqual(expected);
    const metadata = new grpc.Metadata();
    metadata.set('x-in', 'm');
    const { response } = await grpcJsUnary(nest.grpcJs, 'unary_unary', { value: 'ab', multiplier: 2 }, metadata);
    expect(response).toEqual(expected);
  });
});

describe('metadata through a Nest controller', () => {
  let nest: NestGrpcApp;

  beforeAll(async () => {
    nest = await startNestApp(MetadataModule);
  });

  afterAll(async () => {
    await nest.close();
  });

  describe('with a @grpc/grpc-js client', () => {
    it('@Payload() and @Ctx(): request metadata in (repeated and binary values), initial and trailing metadata out', async () => {
      const metadata = new grpc.Metadata();
      metadata.add('x-in', 'one');
      metadata.add('x-in', 'two');
      metadata.set('trace-bin', Buffer.from([0, 1, 2, 254, 255]));
      const { response, headers, status } = await grpcJsUnary(nest.grpcJs, 'unary_unary', { value: 'A' }, metadata);
      expect(response.message).toBe('one+two');
      expect(headers.get('x-initial')).toEqual(['hello A']);
      expect(status.metadata.get('x-trailing')).toEqual(['bye']);
      expect(status.metadata.get('echo-bin')).toEqual([Buffer.from([0, 1, 2, 254, 255])]);
    });

    it('@GrpcCtx() before @Payload() on a server stream: metadata in, initial and trailing out', async () => {
      const metadata = new grpc.Metadata();
      metadata.set('x-in', 'meta');
      const call = nest.grpcJs.unary_stream({ value: 'S' }, metadata);
      const headers = new Promise<grpc.Metadata>((resolve) => call.on('metadata', resolve));
      const { messages, status } = await collect(call);
      expect(messages).toEqual([
        { message: 'S:meta', seqno: 1 },
        { message: '/nameko.example/unary_stream', seqno: 2 },
      ]);
      expect((await headers).get('x-initial')).toEqual(['stream']);
      expect(status.code).toBe(grpc.status.OK);
      expect(status.metadata.get('x-trailing')).toEqual(['stream-end']);
    });

    it('currentCallContext() in a provider, after awaits, is the call context the controller got', async () => {
      const metadata = new grpc.Metadata();
      metadata.set('caller', 'grpc-js');
      const reply = await new Promise<ExampleReply>((resolve, reject) => {
        const call = nest.grpcJs.stream_unary(metadata, (error: grpc.ServiceError | null, value: ExampleReply) => (error ? reject(error) : resolve(value)));
        call.write({ value: 'a' });
        call.write({ value: 'b' });
        call.end();
      });
      expect(reply).toEqual({ message: 'a,b from grpc-js', seqno: 1 });
    });

    it('@Payload() request stream and @GrpcCtx() on a bidi call', async () => {
      const metadata = new grpc.Metadata();
      metadata.set('x-in', '>');
      const call = nest.grpcJs.stream_stream(metadata);
      const done = collect(call);
      call.write({ value: 'p' });
      call.write({ value: 'q' });
      call.end();
      const { messages, status } = await done;
      expect(status.code).toBe(grpc.status.OK);
      expect(messages).toEqual([
        { message: '>p', seqno: 1 },
        { message: '>q', seqno: 2 },
      ]);
    });
  });

  describe('with our GrpcClient', () => {
    it('@Payload() and @Ctx(): request metadata in, initial and trailing metadata out', async () => {
      const call = nest.ours.call.unary_unary(
        { value: 'B', multiplier: 1 },
        { metadata: new Metadata().add('x-in', 'three').add('x-in', 'four').set('trace-bin', Buffer.from('bytes')) },
      );
      await expect(call.response).resolves.toEqual({ message: 'three+four', seqno: 0 });
      expect((await call.headers).get('x-initial')).toEqual(['hello B']);
      const trailers = await call.trailers;
      expect(trailers.get('x-trailing')).toEqual(['bye']);
      expect(trailers.get('echo-bin')).toEqual([Buffer.from('bytes')]);
    });

    it('@GrpcCtx() before @Payload() on a server stream: metadata in, initial and trailing out', async () => {
      const call = nest.ours.call.unary_stream({ value: 'T', multiplier: 1 }, { metadata: { 'x-in': 'ours' } });
      const replies = await lastValueFrom(call.responses.pipe(toArray()));
      expect(replies).toEqual([
        { message: 'T:ours', seqno: 1 },
        { message: '/nameko.example/unary_stream', seqno: 2 },
      ]);
      expect((await call.headers).get('x-initial')).toEqual(['stream']);
      expect((await call.trailers).get('x-trailing')).toEqual(['stream-end']);
    });

    it('currentCallContext() in a provider, after awaits, is the call context the controller got', async () => {
      await expect(nest.ours.stream_unary([{ value: 'c' }, { value: 'd' }], { metadata: { caller: 'ours' } })).resolves.toEqual({
        message: 'c,d from ours',
        seqno: 1,
      });
    });

    it('@Payload() request stream and @GrpcCtx() on a bidi call', async () => {
      const replies = await lastValueFrom(nest.ours.stream_stream([{ value: 'x' }, { value: 'y' }], { metadata: { 'x-in': '#' } }).pipe(toArray()));
      expect(replies).toEqual([
        { message: '#x', seqno: 1 },
        { message: '#y', seqno: 2 },
      ]);
    });
  });

  it('outside a call, currentCallContext() is undefined', () => {
    expect(currentCallContext()).toBeUndefined();
  });
});
