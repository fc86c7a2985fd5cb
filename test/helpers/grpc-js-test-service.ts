/**
 * grpc.testing.TestService on @grpc/grpc-js: the reference server our interop client is checked
 * against. It implements the server features of interop-test-descriptions.md as far as grpc-js
 * allows: grpc-js never compresses responses (so `response_compressed` and per-message
 * `compressed` are ignored) and does not show a handler the compressed flag of a request, so
 * `expect_compressed: true` is checked against the call's `grpc-encoding` (read from the
 * grpc-js call object's internals; a grpc-js upgrade that moves it fails loudly).
 */
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ECHO_INITIAL_KEY, ECHO_TRAILING_KEY } from '../../interop/case-support.js';
import { testTlsFiles } from '../../interop/tls-files.js';
import { loadGrpcJsPackage } from './grpc-js.js';

type AnyCall = { metadata: grpc.Metadata };
type Message = Record<string, any>;
type StatusError = Partial<grpc.StatusObject>;

/** The grpc.testing package as grpc-js client constructors. */
export function grpcTestingPackage(): { TestService: grpc.ServiceClientConstructor; UnimplementedService: grpc.ServiceClientConstructor } {
  const pkg = loadGrpcJsPackage('grpc/testing/test.proto');
  return (pkg.grpc as grpc.GrpcObject).testing as never;
}

/** The `grpc-encoding` a grpc-js server call was sent with (grpc-js removes it from the metadata). */
function incomingEncoding(call: object): string {
  const encoding = (call as { call?: { incomingEncoding?: unknown } }).call?.incomingEncoding;
  if (typeof encoding !== 'string') throw new Error('@grpc/grpc-js internals changed: the server call has no incomingEncoding');
  return encoding;
}

function checkExpectedCompression(call: object, expected: { value: boolean } | null): StatusError | undefined {
  if (expected?.value && incomingEncoding(call) === 'identity') {
    return { code: grpc.status.INVALID_ARGUMENT, details: 'Expected a compressed request, but the call is uncompressed' };
  }
  return undefined;
}

function checkResponseType(request: Message): StatusError | undefined {
  if (request.response_type !== 'COMPRESSABLE') return { code: grpc.status.INVALID_ARGUMENT, details: `Unsupported response_type ${request.response_type}` };
  return undefined;
}

function requestedStatus(request: Message): StatusError | undefined {
  const status = request.response_status;
  if (status === null || status === undefined || status.code === 0) return undefined;
  return { code: status.code, details: status.message };
}

function echoInitial(call: AnyCall & { sendMetadata(metadata: grpc.Metadata): void }): void {
  const values = call.metadata.get(ECHO_INITIAL_KEY);
  if (values.length === 0) return;
  const metadata = new grpc.Metadata();
  for (const value of values) metadata.add(ECHO_INITIAL_KEY, value);
  call.sendMetadata(metadata);
}

function echoTrailer(call: AnyCall): grpc.Metadata {
  const trailer = new grpc.Metadata();
  for (const value of call.metadata.get(ECHO_TRAILING_KEY)) trailer.add(ECHO_TRAILING_KEY, value);
  return trailer;
}

function payload(size: number): Message {
  return { type: 'COMPRESSABLE', body: Buffer.alloc(size) };
}

/** Writes one response per ResponseParameters, each after its interval; stops when the call is cancelled. */
async function respond(call: grpc.ServerWritableStream<any, any> | grpc.ServerDuplexStream<any, any>, params: Message[]): Promise<void> {
  for (const param of params) {
    if (param.interval_us > 0) await sleep(param.interval_us / 1000);
    if (call.cancelled) return;
    call.write({ payload: payload(param.size) });
  }
}

/** Ends a streaming call with a status error carrying the echoed trailer. */
function failStream(call: grpc.ServerWritableStream<any, any> | grpc.ServerDuplexStream<any, any>, error: StatusError): void {
  call.emit('error', { ...error, metadata: echoTrailer(call) });
}

/** TestService's handlers on grpc-js. UnimplementedCall is deliberately missing. */
export const grpcJsTestServiceImplementation: grpc.UntypedServiceImplementation = {
  EmptyCall(call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) {
    echoInitial(call);
    callback(null, {}, echoTrailer(call));
  },

  UnaryCall(call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) {
    echoInitial(call);
    const request = call.request;
    const error = checkExpectedCompression(call, request.expect_compressed) ?? checkResponseType(request) ?? requestedStatus(request);
    if (error !== undefined) {
      callback({ ...error, metadata: echoTrailer(call) });
      return;
    }
    callback(null, request.response_size > 0 ? { payload: payload(request.response_size) } : {}, echoTrailer(call));
  },

  CacheableUnaryCall(call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) {
    call.sendMetadata(new grpc.Metadata());
    callback(null, { payload: { type: 'COMPRESSABLE', body: Buffer.from(process.hrtime.bigint().toString()) } });
  },

  StreamingOutputCall(call: grpc.ServerWritableStream<any, any>) {
    echoInitial(call);
    const request = call.request;
    const error = checkResponseType(request) ?? requestedStatus(request);
    if (error !== undefined) return failStream(call, error);
    respond(call, request.response_parameters).then(
      () => call.end(echoTrailer(call)),
      () => failStream(call, { code: grpc.status.INTERNAL, details: 'Failed to respond' }),
    );
  },

  StreamingInputCall(call: grpc.ServerReadableStream<any, any>, callback: grpc.sendUnaryData<any>) {
    echoInitial(call);
    let total = 0;
    let failed = false;
    call.on('data', (request: Message) => {
      if (failed) return;
      const error = checkExpectedCompression(call, request.expect_compressed);
      if (error !== undefined) {
        failed = true;
        callback({ ...error, metadata: echoTrailer(call) });
        return;
      }
      total += request.payload?.body?.length ?? 0;
    });
    call.on('end', () => failed || callback(null, { aggregated_payload_size: total }, echoTrailer(call)));
  },

  FullDuplexCall(call: grpc.ServerDuplexStream<any, any>) {
    echoInitial(call);
    let chain = Promise.resolve();
    let failed = false;
    const fail = (error: StatusError) => {
      if (failed) return;
      failed = true;
      failStream(call, error);
    };
    call.on('data', (request: Message) => {
      chain = chain.then(async () => {
        if (failed) return;
        const error = checkResponseType(request) ?? requestedStatus(request);
        if (error !== undefined) return fail(error);
        await respond(call, request.response_parameters);
      });
    });
    call.on('end', () => {
      chain.then(
        () => failed || call.end(echoTrailer(call)),
        () => fail({ code: grpc.status.INTERNAL, details: 'Failed to respond' }),
      );
    });
  },

  HalfDuplexCall(call: grpc.ServerDuplexStream<any, any>) {
    echoInitial(call);
    const requests: Message[] = [];
    call.on('data', (request: Message) => requests.push(request));
    call.on('end', async () => {
      for (const request of requests) {
        const error = checkResponseType(request) ?? requestedStatus(request);
        if (error !== undefined) return failStream(call, error);
        await respond(call, request.response_parameters);
      }
      call.end(echoTrailer(call));
    });
  },
};

/** A running grpc-js TestService server. */
export interface GrpcJsTestServer {
  port: number;
  close(): void;
}

/** Starts the grpc-js TestService on 127.0.0.1:0, with the test server certificate when `tls`. */
export async function startGrpcJsTestServer(tls: boolean): Promise<GrpcJsTestServer> {
  const server = new grpc.Server();
  server.addService(grpcTestingPackage().TestService.service, grpcJsTestServiceImplementation);
  const files = testTlsFiles();
  const credentials = tls
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: readFileSync(files.cert), private_key: readFileSync(files.key) }], false)
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return { port, close: () => server.forceShutdown() };
}
