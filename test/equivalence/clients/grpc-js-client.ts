/**
 * The Matrix client on @grpc/grpc-js, the reference: generated client methods, callbacks and
 * Node streams, 'metadata' and 'status' events, `call.cancel()`, the deadline call option and
 * the channel option `grpc.default_compression_algorithm`.
 */
import * as grpc from '@grpc/grpc-js';
import { decodeRpcStatus, type Encoding } from '../../../lib/index.js';
import {
  type BidiTarget,
  type CallOptions,
  type CallResult,
  type ClientAdapter,
  type ClientKind,
  normalDetails,
  normalMetadata,
  normalReply,
  type UnaryTarget,
} from '../adapters.js';
import type { Request } from '../matrix-service.js';
import { grpcJsEntries, grpcJsMetadata, matrixGrpcJsPackage } from '../servers/grpc-js-server.js';

type GrpcJsClient = grpc.Client & Record<string, any>;

const ALGORITHMS: Record<Encoding, grpc.compressionAlgorithms> = {
  identity: grpc.compressionAlgorithms.identity,
  deflate: grpc.compressionAlgorithms.deflate,
  gzip: grpc.compressionAlgorithms.gzip,
};

/** The details grpc-js leaves in the trailers, decoded as our client decodes them. */
function detailsOf(status: grpc.StatusObject): CallResult['details'] {
  const bytes = status.metadata?.get('grpc-status-details-bin')[0];
  if (!Buffer.isBuffer(bytes)) return [];
  const decoded = decodeRpcStatus(bytes);
  return decoded !== undefined && decoded.code === status.code ? normalDetails(decoded.details) : [];
}

/**
 * Settles with the CallResult of a grpc-js call: collects its initial metadata and messages,
 * applies `cancelAfter`, and resolves on the 'status' event (the last one grpc-js emits).
 */
function settle(anyCall: grpc.ClientUnaryCall | grpc.ClientReadableStream<any> | grpc.ClientWritableStream<any> | grpc.ClientDuplexStream<any, any>, options: CallOptions, single?: { value: any }): Promise<CallResult> {
  // Every grpc-js call is an EventEmitter; only the streaming ones are typed with 'data' and 'error'.
  const call = anyCall as grpc.ClientReadableStream<any>;
  return new Promise((resolve) => {
    const messages: any[] = [];
    let headers: grpc.Metadata | undefined;
    call.on('metadata', (metadata: grpc.Metadata) => {
      headers = metadata;
      if (options.cancelAfter === 'headers') call.cancel();
    });
    call.on('data', (message: any) => {
      messages.push(message);
      if (typeof options.cancelAfter === 'object' && messages.length === options.cancelAfter.messages) call.cancel();
    });
    call.on('error', () => undefined);
    call.on('status', (status: grpc.StatusObject) => {
      // The unary callback runs before 'status'; its response is in `single`.
      if (single !== undefined && single.value !== undefined && status.code === grpc.status.OK) messages.push(single.value);
      resolve({
        messages: messages.map(normalReply),
        code: status.code,
        message: status.details,
        details: detailsOf(status),
        headers: normalMetadata(headers === undefined ? [] : grpcJsEntries(headers)),
        trailers: normalMetadata(grpcJsEntries(status.metadata ?? new grpc.Metadata())),
      });
    });
  });
}

function callOptions(options: CallOptions): grpc.CallOptions {
  return options.timeoutMs === undefined ? {} : { deadline: Date.now() + options.timeoutMs };
}

/** Writes the requests, then half-closes at once or when the call ends. */
function send(call: grpc.ClientWritableStream<any> | grpc.ClientDuplexStream<any, any>, requests: Request[], options: CallOptions): void {
  for (const request of requests) call.write(request);
  if (options.halfClose ?? true) call.end();
  else call.on('status', () => call.end());
}

class GrpcJsClientAdapter implements ClientAdapter {
  constructor(
    private readonly matrix: GrpcJsClient,
    private readonly unserved: GrpcJsClient,
  ) {}

  unary(request: Request, options: CallOptions = {}, target: UnaryTarget = 'Unary'): Promise<CallResult> {
    const single: { value: any } = { value: undefined };
    const client = target === 'Unserved.Unary' ? this.unserved : this.matrix;
    const method = target === 'Unserved.Unary' ? 'Unary' : target;
    const call = client[method](request, grpcJsMetadata(options.metadata ?? []), callOptions(options), (_error: unknown, value: unknown) => (single.value = value));
    return settle(call, options, single);
  }

  serverStream(request: Request, options: CallOptions = {}): Promise<CallResult> {
    return settle(this.matrix.ServerStream(request, grpcJsMetadata(options.metadata ?? []), callOptions(options)), options);
  }

  clientStream(requests: Request[], options: CallOptions = {}): Promise<CallResult> {
    const single: { value: any } = { value: undefined };
    const call = this.matrix.ClientStream(grpcJsMetadata(options.metadata ?? []), callOptions(options), (_error: unknown, value: unknown) => (single.value = value));
    const result = settle(call, options, single);
    send(call, requests, options);
    return result;
  }

  bidi(requests: Request[], options: CallOptions = {}, target: BidiTarget = 'Bidi'): Promise<CallResult> {
    const call = this.matrix[target](grpcJsMetadata(options.metadata ?? []), callOptions(options));
    const result = settle(call, options);
    send(call, requests, options);
    return result;
  }

  async close(): Promise<void> {
    this.matrix.close();
    this.unserved.close();
  }
}

/** @grpc/grpc-js's generated client. */
export const grpcJsClientKind: ClientKind = {
  name: '@grpc/grpc-js client',
  cancelsWithoutHalfClose: {
    lacking: '@grpc/grpc-js clients cancel with Http2Stream.close(CANCEL), which sends END_STREAM before RST_STREAM, so the handler may see the requests end first',
  },
  perCallCompression: { lacking: '@grpc/grpc-js clients have no per-call compression, only the channel option grpc.default_compression_algorithm' },
  async create(port: number, options: { compression?: Encoding } = {}): Promise<ClientAdapter> {
    const pkg = matrixGrpcJsPackage();
    const channelOptions: grpc.ClientOptions = { 'grpc.use_local_subchannel_pool': 1 };
    if (options.compression !== undefined) channelOptions['grpc.default_compression_algorithm'] = ALGORITHMS[options.compression];
    const make = (name: string) =>
      new (pkg[name] as grpc.ServiceClientConstructor)(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), channelOptions) as GrpcJsClient;
    return new GrpcJsClientAdapter(make('Matrix'), make('Unserved'));
  },
};
