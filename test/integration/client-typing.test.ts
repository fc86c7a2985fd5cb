/**
 * The client's static types, from a ts-proto-style generic definition (`as const`) and a typed
 * @grpc/grpc-js ServiceDefinition: `tsc --noEmit` checks the `@ts-expect-error` lines (a wrong
 * request must not compile) and the exact return types; the calls run against a grpc-js server.
 */
import type * as grpc from '@grpc/grpc-js';
import path from 'node:path';
import protobuf from 'protobufjs';
import { isObservable, lastValueFrom, of, toArray } from 'rxjs';
import { type DeepPartial, GrpcClient, type MessageStream, type StreamingCallHandle, type UnaryCallHandle } from '../../lib/index.js';
import { exampleClientConstructor, startGrpcJsServer } from '../helpers/grpc-js.js';

interface ExampleRequest {
  value: string;
  multiplier: number;
}

interface ExampleReply {
  message: string;
  seqno: number;
}

const root = protobuf.loadSync(path.resolve('protos/example.proto'));

/** A ts-proto-like message codec (encode/decode/fromPartial) over a protobufjs type. */
function codec<T extends object>(name: string) {
  const type = root.lookupType(name);
  return {
    encode: (message: T): { finish(): Uint8Array } => type.encode(type.fromObject(message)),
    decode: (input: Uint8Array): T => type.toObject(type.decode(input), { defaults: true }) as T,
    fromPartial: (object: Partial<T>): T => object as T,
  };
}

const RequestCodec = codec<ExampleRequest>('nameko.ExampleRequest');
const ReplyCodec = codec<ExampleReply>('nameko.ExampleReply');

/** What ts-proto's `outputServices=generic-definitions` generates for protos/example.proto. */
const ExampleDefinition = {
  name: 'example',
  fullName: 'nameko.example',
  methods: {
    unaryUnary: { name: 'unary_unary', requestType: RequestCodec, requestStream: false, responseType: ReplyCodec, responseStream: false, options: {} },
    unaryStream: { name: 'unary_stream', requestType: RequestCodec, requestStream: false, responseType: ReplyCodec, responseStream: true, options: {} },
    streamUnary: { name: 'stream_unary', requestType: RequestCodec, requestStream: true, responseType: ReplyCodec, responseStream: false, options: {} },
    streamStream: { name: 'stream_stream', requestType: RequestCodec, requestStream: true, responseType: ReplyCodec, responseStream: true, options: {} },
  },
} as const;

/** A typed grpc-js ServiceDefinition, as `_grpc_pb` code declares it. */
type TypedGrpcJsDefinition = {
  unary_unary: grpc.MethodDefinition<ExampleRequest, ExampleReply> & { requestStream: false; responseStream: false };
  unary_stream: grpc.MethodDefinition<ExampleRequest, ExampleReply> & { requestStream: false; responseStream: true };
  stream_unary: grpc.MethodDefinition<ExampleRequest, ExampleReply> & { requestStream: true; responseStream: false };
  stream_stream: grpc.MethodDefinition<ExampleRequest, ExampleReply> & { requestStream: true; responseStream: true };
};
const TypedGrpcJsStub = exampleClientConstructor().service as unknown as TypedGrpcJsDefinition;

/** `true` only when A and B are the same type. */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** Compile-time assertions about a client of either stub form; never called, only type-checked. */
function typeAssertions(client: GrpcClient<typeof ExampleDefinition> | GrpcClient<TypedGrpcJsDefinition>): void {
  const unary: Equals<ReturnType<typeof client.unary_unary>, Promise<ExampleReply>> = true;
  const unaryCamel: Equals<ReturnType<typeof client.unaryUnary>, Promise<ExampleReply>> = true;
  const serverStream: Equals<ReturnType<typeof client.unary_stream>, MessageStream<ExampleReply>> = true;
  const clientStream: Equals<ReturnType<typeof client.stream_unary>, Promise<ExampleReply>> = true;
  const bidi: Equals<ReturnType<typeof client.stream_stream>, MessageStream<ExampleReply>> = true;
  const unaryHandle: Equals<ReturnType<typeof client.call.unary_unary>, UnaryCallHandle<ExampleReply>> = true;
  const streamHandle: Equals<ReturnType<typeof client.call.unary_stream>, StreamingCallHandle<ExampleReply>> = true;
  // Each stub form on its own, so `any` from one cannot hide behind the union.
  const tsProto: Equals<ReturnType<GrpcClient<typeof ExampleDefinition>['unary_stream']>, MessageStream<ExampleReply>> = true;
  const grpcJs: Equals<ReturnType<GrpcClient<TypedGrpcJsDefinition>['unary_stream']>, MessageStream<ExampleReply>> = true;
  // Requests may leave fields out, as proto3 allows: the parameter is a deep partial of the message.
  const tsProtoRequest: Equals<Parameters<GrpcClient<typeof ExampleDefinition>['unaryUnary']>[0], DeepPartial<ExampleRequest>> = true;
  const grpcJsRequest: Equals<Parameters<GrpcClient<TypedGrpcJsDefinition>['unaryUnary']>[0], DeepPartial<ExampleRequest>> = true;
  void [unary, unaryCamel, serverStream, clientStream, bidi, unaryHandle, streamHandle, tsProto, grpcJs, tsProtoRequest, grpcJsRequest];

  // @ts-expect-error a wrong field type does not compile
  void client.unary_unary({ value: 1, multiplier: 2 });
  // A field left out is its default value on the wire, so it compiles.
  void client.unary_unary({ value: 'A' });
  // @ts-expect-error a streaming RPC wants a stream of requests, not one request
  void client.stream_unary({ value: 'A', multiplier: 1 });
  // @ts-expect-error a unary-request RPC does not take an array
  void client.unary_stream([{ value: 'A', multiplier: 1 }]);
  // @ts-expect-error an RPC the service does not have
  void client.no_such_method({ value: 'A', multiplier: 1 });
  // @ts-expect-error the response of a unary RPC is not a stream
  void client.unary_unary({ value: 'A', multiplier: 1 }).subscribe;
  // @ts-expect-error an unknown call option
  void client.unary_unary({ value: 'A', multiplier: 1 }, { timeoutMs: 5 });
  // @ts-expect-error the response is an ExampleReply, without a `value`
  void client.unary_unary({ value: 'A', multiplier: 1 }).then((reply) => reply.value);
}
void typeAssertions;

describe.each([
  ['ts-proto generic definition', ExampleDefinition],
  ['typed @grpc/grpc-js ServiceDefinition', TypedGrpcJsStub],
] as const)('a GrpcClient typed from a %s, against a grpc-js server', (_name, stub) => {
  let server: grpc.Server;
  let client: GrpcClient<typeof ExampleDefinition> | GrpcClient<TypedGrpcJsDefinition>;

  beforeAll(async () => {
    const started = await startGrpcJsServer();
    server = started.server;
    client = new GrpcClient(`127.0.0.1:${started.port}`, stub as typeof ExampleDefinition);
  });

  afterAll(() => {
    client.close();
    server.forceShutdown();
  });

  it('returns a Promise from unary-response RPCs and a MessageStream from streaming ones', async () => {
    const unary = client.unary_unary({ value: 'A', multiplier: 2 });
    expect(unary).toBeInstanceOf(Promise);
    const reply: ExampleReply = await unary;
    expect(reply).toEqual({ message: 'AA', seqno: 0 });

    const stream = client.unary_stream({ value: 'B', multiplier: 1 });
    expect(isObservable(stream)).toBe(true);
    expect(typeof stream[Symbol.asyncIterator]).toBe('function');
    await expect(lastValueFrom(stream.pipe(toArray()))).resolves.toEqual([
      { message: 'B', seqno: 1 },
      { message: 'B', seqno: 2 },
    ]);

    const clientStream = client.streamUnary(of({ value: 'x', multiplier: 1 }, { value: 'y', multiplier: 2 }));
    expect(clientStream).toBeInstanceOf(Promise);
    await expect(clientStream).resolves.toEqual({ message: 'x,yy', seqno: 0 });

    const bidi = client.streamStream([{ value: 'z', multiplier: 3 }]);
    expect(isObservable(bidi)).toBe(true);
    await expect(lastValueFrom(bidi.pipe(toArray()))).resolves.toEqual([{ message: 'zzz', seqno: 1 }]);
  });
});
