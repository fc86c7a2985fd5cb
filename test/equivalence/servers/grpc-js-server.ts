/**
 * The Matrix service on a @grpc/grpc-js server, the reference: callbacks and Node streams,
 * `sendMetadata`, trailers through `callback(…, trailer)` and `end(trailer)`, failures with
 * `grpc-status-details-bin` set by hand, cancellation seen through the 'cancelled' event.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ServerAdapter, ServerKind } from '../adapters.js';
import {
  type Entries,
  failureOf,
  initialEntries,
  MATRIX_PROTO,
  replyFor,
  type Request,
  type ServerHooks,
  statusDetailsBin,
  trailingEntries,
  userEntries,
} from '../matrix-service.js';

/** The grpc-js package object of the matrix's proto (keepCase, bytes as Buffers, as our stubs). */
export function matrixGrpcJsPackage(): grpc.GrpcObject {
  const definition = protoLoader.loadSync(MATRIX_PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  return (grpc.loadPackageDefinition(definition) as Record<string, any>).equivalence as grpc.GrpcObject;
}

/** grpc-js Metadata from pairs. */
export function grpcJsMetadata(entries: Entries): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const [key, value] of entries) metadata.add(key, value);
  return metadata;
}

/** The pairs of grpc-js Metadata, in order (repeated ASCII fields arrive already joined by grpc-js). */
export function grpcJsEntries(metadata: grpc.Metadata): Entries {
  return Object.entries(metadata.toJSON()).flatMap(([key, values]) => values.map((value): [string, string | Buffer] => [key, value]));
}

type AnyCall = grpc.ServerUnaryCall<any, any> | grpc.ServerWritableStream<any, any> | grpc.ServerReadableStream<any, any> | grpc.ServerDuplexStream<any, any>;

function remainingMs(call: AnyCall): number | undefined {
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(at) ? at - Date.now() : undefined;
}

/** What a handler knows once the request that steers the call arrived. */
class Steered {
  readonly seen: Entries;
  constructor(
    readonly call: AnyCall,
    readonly request: Request,
    private readonly hooks: ServerHooks,
  ) {
    this.seen = userEntries(grpcJsEntries(call.metadata));
    if (request.tag) {
      if (call.cancelled) hooks.cancelled(request.tag);
      else (call as grpc.ServerUnaryCall<Request, unknown>).once('cancelled', () => hooks.cancelled(request.tag!));
    }
    // @grpc/grpc-js has no response compression: `response_compression` is ignored.
    const initial = initialEntries(request, this.seen);
    if (initial !== undefined) call.sendMetadata(grpcJsMetadata(initial));
  }

  /** Reports the end of the request stream, unless the call was cancelled. */
  requestsEnded(): void {
    if (this.request.tag && !this.call.cancelled) this.hooks.requestsEnded(this.request.tag);
  }

  reply(index: number, extra: { payload?: Buffer; received?: number } = {}) {
    return replyFor(this.request, index, { ...extra, seen: this.seen, remainingMs: remainingMs(this.call) });
  }

  trailers(failing = false): grpc.Metadata {
    return grpcJsMetadata(trailingEntries(this.request, this.seen, failing));
  }

  /** The status object of the failure `request` (by default the steering one) asks for, if any. */
  failure(request = this.request): Partial<grpc.StatusObject> | undefined {
    const failure = failureOf(request);
    if (failure === undefined) return undefined;
    const metadata = this.trailers(true);
    metadata.set('grpc-status-details-bin', statusDetailsBin(failure));
    return { code: failure.code, details: failure.message, metadata };
  }
}

function implementation(hooks: ServerHooks): grpc.UntypedServiceImplementation {
  return {
    Unary(call: grpc.ServerUnaryCall<Request, any>, callback: grpc.sendUnaryData<any>) {
      const steered = new Steered(call, call.request, hooks);
      const failure = steered.failure();
      if (failure !== undefined) return callback(failure);
      if (call.request.hang) return;
      callback(null, steered.reply(0), steered.trailers());
    },
    ServerStream(call: grpc.ServerWritableStream<Request, any>) {
      const steered = new Steered(call, call.request, hooks);
      for (let index = 0; index < (call.request.response_count || 1); index++) call.write(steered.reply(index));
      const failure = steered.failure();
      if (failure !== undefined) call.emit('error', failure);
      else if (!call.request.hang) call.end(steered.trailers());
    },
    ClientStream(call: grpc.ServerReadableStream<Request, any>, callback: grpc.sendUnaryData<any>) {
      let steered: Steered | undefined;
      const payloads: Buffer[] = [];
      let failed = false;
      call.on('data', (request: Request) => {
        if (failed) return;
        payloads.push(request.payload ?? Buffer.alloc(0));
        if (steered !== undefined) return;
        steered = new Steered(call, request, hooks);
        const failure = steered.failure();
        if (failure !== undefined) {
          failed = true;
          callback(failure);
        }
      });
      call.on('end', () => {
        steered?.requestsEnded();
        if (failed || call.cancelled || steered?.request.hang) return;
        const first = steered ?? new Steered(call, {}, hooks);
        callback(null, first.reply(0, { payload: Buffer.concat(payloads), received: payloads.length }), first.trailers());
      });
    },
    Bidi(call: grpc.ServerDuplexStream<Request, any>) {
      let steered: Steered | undefined;
      let index = 0;
      let received = 0;
      let failed = false;
      call.on('data', (request: Request) => {
        if (failed) return;
        received++;
        steered ??= new Steered(call, request, hooks);
        for (let i = 0; i < (request.response_count || 1); i++) {
          call.write(replyFor(request, index, { received, seen: steered.seen, remainingMs: remainingMs(call) }));
          index++;
        }
        const failure = steered.failure(request);
        if (failure === undefined) return;
        failed = true;
        call.emit('error', failure);
      });
      call.on('end', () => {
        steered?.requestsEnded();
        if (failed || call.cancelled || steered?.request.hang) return;
        call.end((steered ?? new Steered(call, {}, hooks)).trailers());
      });
    },
  };
}

/** @grpc/grpc-js's Server. */
export const grpcJsServerKind: ServerKind = {
  name: '@grpc/grpc-js server',
  responseCompression: { lacking: '@grpc/grpc-js servers never compress responses' },
  tellsResetFromHalfClose: {
    lacking: "@grpc/grpc-js servers emit 'end' on a request stream the client reset (Node ends its readable side) before 'cancelled'",
  },
  async start(hooks: ServerHooks): Promise<ServerAdapter> {
    const server = new grpc.Server();
    server.addService((matrixGrpcJsPackage().Matrix as grpc.ServiceClientConstructor).service, implementation(hooks));
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    return {
      port,
      async stop() {
        server.forceShutdown();
      },
    };
  },
};
