/**
 * The bench service on @grpc/grpc-js, written as its examples do: callbacks for unary
 * responses, `call.write` with 'drain' for the response stream, events for request streams.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { type BenchReply, type BenchRequest, echoOf, streamReply } from '../common/bench-service.js';
import { EXAMPLE_PROTO } from '../common/paths.js';

/** The service definition of nameko.example, loaded with proto-loader (field names kept). */
export function exampleDefinition(): grpc.ServiceClientConstructor {
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(EXAMPLE_PROTO, { keepCase: true }));
  return (pkg.nameko as grpc.GrpcObject).example as grpc.ServiceClientConstructor;
}

function unaryStream(call: grpc.ServerWritableStream<BenchRequest, BenchReply>): void {
  const count = call.request.multiplier;
  let seqno = 0;
  const pump = (): void => {
    while (seqno < count) {
      if (call.cancelled) return;
      if (!call.write(streamReply(seqno++))) {
        call.once('drain', pump);
        return;
      }
    }
    call.end();
  };
  pump();
}

/** Starts it on 127.0.0.1 and a free port. */
export async function start(): Promise<{ port: number }> {
  const server = new grpc.Server();
  server.addService(exampleDefinition().service, {
    unary_unary: (call: grpc.ServerUnaryCall<BenchRequest, BenchReply>, callback: grpc.sendUnaryData<BenchReply>) => callback(null, echoOf(call.request)),
    unary_stream: unaryStream,
    stream_unary: (call: grpc.ServerReadableStream<BenchRequest, BenchReply>, callback: grpc.sendUnaryData<BenchReply>) => {
      let count = 0;
      call.on('data', () => count++);
      call.on('end', () => callback(null, { message: '', seqno: count }));
    },
    stream_stream: (call: grpc.ServerDuplexStream<BenchRequest, BenchReply>) => {
      call.on('data', (request: BenchRequest) => call.write(echoOf(request)));
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return { port };
}
