/**
 * grpc.testing.TestService as a Nest controller served by GrpcTransport, implementing the server
 * features of gRPC's interop-test-descriptions.md: payloads of the requested sizes, the
 * `response_status` echo, the `expect_compressed` check (INVALID_ARGUMENT when not met),
 * compressed responses on request (`response_compressed`, per-message `compressed`),
 * `interval_us` pauses between streamed responses, and the echo of `x-grpc-test-echo-initial`
 * (initial metadata) and `x-grpc-test-echo-trailing-bin` (trailing metadata). UnimplementedCall
 * and UnimplementedService are deliberately not served: they answer UNIMPLEMENTED.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Controller, type INestMicroservice, type LoggerService, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  type Encoding,
  GrpcContext,
  GrpcError,
  GrpcImplementing,
  GrpcMethod,
  GrpcTransport,
  type GrpcTransportOptions,
  type MessageStream,
  Metadata,
  Status,
  type ServerCredentials,
  wasCompressed,
} from '../lib/index.js';
import {
  type BoolValue,
  type EchoStatus,
  type Empty,
  type PayloadType,
  type ResponseParameters,
  type SimpleRequest,
  type SimpleResponse,
  type StreamingInputCallRequest,
  type StreamingInputCallResponse,
  type StreamingOutputCallRequest,
  type StreamingOutputCallResponse,
  TestServiceStub,
} from './generated/grpc.testing.js';
import { ECHO_INITIAL_KEY, ECHO_TRAILING_KEY } from './case-support.js';


/** A payload of `size` zero bytes. */
function payload(size: number): { type: PayloadType; body: Buffer } {
  return { type: 'COMPRESSABLE', body: Buffer.alloc(Math.max(0, size)) };
}

/** Refuses payload types other than COMPRESSABLE (the only one defined), as the description asks. */
function checkResponseType(type: PayloadType | number): void {
  if (type !== 'COMPRESSABLE' && type !== 0) throw new GrpcError(Status.INVALID_ARGUMENT, `Unsupported response_type ${String(type)}`);
}

/**
 * The CompressedRequest feature: a request with `expect_compressed.value` true must have arrived
 * with its compressed flag set, one with `expect_compressed.value` false must not have (an absent
 * `expect_compressed` is not checked). INVALID_ARGUMENT otherwise.
 */
function checkExpectedCompression(request: object, expected: BoolValue | null): void {
  if (expected === null || expected === undefined) return;
  const compressed = wasCompressed(request);
  if (expected.value && !compressed) throw new GrpcError(Status.INVALID_ARGUMENT, 'Expected a compressed request, but it arrived uncompressed');
  if (!expected.value && compressed) throw new GrpcError(Status.INVALID_ARGUMENT, 'Expected an uncompressed request, but it arrived compressed');
}

/** The Echo Status feature: throws the requested status, unless it is OK (absent or code 0). */
function echoStatus(status: EchoStatus | null): void {
  if (status === null || status === undefined || status.code === Status.OK) return;
  throw new GrpcError(status.code, status.message);
}

/** The encoding used when a client asks for compressed responses: gzip, else deflate, whichever the client accepts. */
function compressedEncoding(ctx: GrpcContext): Encoding {
  return ctx.acceptedEncodings.has('gzip') || !ctx.acceptedEncodings.has('deflate') ? 'gzip' : 'deflate';
}

/**
 * Per-call echo state: sends `x-grpc-test-echo-initial` back as initial metadata (which sends
 * the response headers, so compression must be chosen first) and puts
 * `x-grpc-test-echo-trailing-bin` into the trailers of any outcome.
 */
class Echo {
  headersSent = false;

  constructor(private readonly ctx: GrpcContext) {
    for (const value of ctx.metadata.get(ECHO_TRAILING_KEY)) ctx.trailingMetadata.add(ECHO_TRAILING_KEY, value);
  }

  sendInitial(): void {
    const values = this.ctx.metadata.get(ECHO_INITIAL_KEY);
    if (values.length === 0) return;
    const metadata = new Metadata();
    for (const value of values) metadata.add(ECHO_INITIAL_KEY, value);
    this.ctx.sendInitialMetadata(metadata);
    this.headersSent = true;
  }

  /** Turns response compression on for the call, if the headers are not out yet (afterwards the call's encoding is fixed). */
  compress(): void {
    if (!this.headersSent) this.ctx.setCompression(compressedEncoding(this.ctx));
  }
}

/**
 * The responses for a list of ResponseParameters, each after its `interval_us` (measured from
 * the previous response) and compressed or not as its `compressed` asks. Compression is turned
 * on for the call before the first response when any parameter asks for it.
 */
async function* respond(params: readonly ResponseParameters[], echo: Echo, ctx: GrpcContext): AsyncGenerator<StreamingOutputCallResponse> {
  if (params.some((param) => param.compressed?.value === true)) echo.compress();
  for (const param of params) {
    if (param.interval_us > 0) await sleep(param.interval_us / 1000, undefined, { signal: ctx.signal });
    ctx.setMessageCompression(param.compressed?.value ?? true);
    echo.headersSent = true;
    yield { payload: payload(param.size) };
  }
}

/** grpc.testing.TestService, as the interop test descriptions specify the server. */
@Controller()
@GrpcImplementing(TestServiceStub)
export class TestServiceController {
  /** The server_id reported when a request sets fill_server_id: one per controller instance. */
  private readonly serverId = randomUUID();

  @GrpcMethod()
  emptyCall(_request: Empty, ctx: GrpcContext): Empty {
    new Echo(ctx).sendInitial();
    return {};
  }

  @GrpcMethod()
  unaryCall(request: SimpleRequest, ctx: GrpcContext): Partial<SimpleResponse> {
    const echo = new Echo(ctx);
    if (request.response_compressed !== null) {
      if (request.response_compressed.value) echo.compress();
      ctx.setMessageCompression(request.response_compressed.value);
    }
    echo.sendInitial();
    checkExpectedCompression(request, request.expect_compressed);
    checkResponseType(request.response_type);
    echoStatus(request.response_status);
    const response: Partial<SimpleResponse> = {};
    if (request.response_size > 0) response.payload = payload(request.response_size);
    if (request.fill_server_id) response.server_id = this.serverId;
    return response;
  }

  @GrpcMethod()
  cacheableUnaryCall(_request: SimpleRequest, ctx: GrpcContext): Partial<SimpleResponse> {
    ctx.sendInitialMetadata(new Metadata({ 'cache-control': 'max-age=60, public' }));
    return { payload: { type: 'COMPRESSABLE', body: Buffer.from(process.hrtime.bigint().toString()) } };
  }

  @GrpcMethod()
  async *streamingOutputCall(request: StreamingOutputCallRequest, ctx: GrpcContext): AsyncGenerator<StreamingOutputCallResponse> {
    const echo = new Echo(ctx);
    if (request.response_parameters.some((param) => param.compressed?.value === true)) echo.compress();
    echo.sendInitial();
    checkResponseType(request.response_type);
    echoStatus(request.response_status);
    yield* respond(request.response_parameters, echo, ctx);
  }

  @GrpcMethod()
  async streamingInputCall(requests: MessageStream<StreamingInputCallRequest>, ctx: GrpcContext): Promise<StreamingInputCallResponse> {
    new Echo(ctx).sendInitial();
    let total = 0;
    for await (const request of requests) {
      checkExpectedCompression(request, request.expect_compressed);
      total += request.payload?.body.length ?? 0;
    }
    return { aggregated_payload_size: total };
  }

  @GrpcMethod()
  async *fullDuplexCall(requests: MessageStream<StreamingOutputCallRequest>, ctx: GrpcContext): AsyncGenerator<StreamingOutputCallResponse> {
    const echo = new Echo(ctx);
    echo.sendInitial();
    for await (const request of requests) {
      checkResponseType(request.response_type);
      echoStatus(request.response_status);
      yield* respond(request.response_parameters, echo, ctx);
    }
  }

  @GrpcMethod()
  async *halfDuplexCall(requests: MessageStream<StreamingOutputCallRequest>, ctx: GrpcContext): AsyncGenerator<StreamingOutputCallResponse> {
    const echo = new Echo(ctx);
    echo.sendInitial();
    const received: StreamingOutputCallRequest[] = [];
    for await (const request of requests) {
      checkResponseType(request.response_type);
      echoStatus(request.response_status);
      received.push(request);
    }
    for (const request of received) yield* respond(request.response_parameters, echo, ctx);
  }
}

/** The Nest module serving TestService. */
@Module({ controllers: [TestServiceController] })
export class InteropModule {}

/** Options of `startTestServer`. */
export interface TestServerOptions {
  /** The address to listen on (default `0.0.0.0`). */
  host?: string;
  /** The port (0 picks a free one). */
  port: number;
  /** TLS certificate and key; plaintext without. */
  credentials?: ServerCredentials;
  /** Nest's logger (default false: quiet). */
  logger?: LoggerService | false;
  /** Other GrpcTransport options (message limits, default compression, ...). */
  transport?: GrpcTransportOptions;
}

/** A running interop server. */
export interface TestServer {
  app: INestMicroservice;
  /** The bound port. */
  port: number;
  /** Stops the server, letting calls in flight finish for up to a second. */
  close(): Promise<void>;
}

/** Boots the Nest microservice serving TestService and resolves once it listens. */
export async function startTestServer(options: TestServerOptions): Promise<TestServer> {
  const transport = new GrpcTransport({
    shutdownGraceMs: 1000,
    ...options.transport,
    url: `${options.host ?? '0.0.0.0'}:${options.port}`,
    credentials: options.credentials,
  });
  const app = await NestFactory.createMicroservice(InteropModule, { strategy: transport, logger: options.logger ?? false });
  await app.listen();
  return { app, port: transport.port as number, close: () => app.close() };
}
