/** Test helpers around @grpc/grpc-js, the reference implementation our server and client are checked against. */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import path from 'node:path';

/** The repository's protos folder. */
export const PROTOS = path.resolve('protos');

/** Loads a proto with @grpc/proto-loader (keepCase, as our own stubs) into a grpc-js package object. */
export function loadGrpcJsPackage(file: string): grpc.GrpcObject {
  const definition = protoLoader.loadSync(path.resolve(PROTOS, file), {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [PROTOS],
  });
  return grpc.loadPackageDefinition(definition);
}

/** The grpc-js client constructor of nameko.example. */
export function exampleClientConstructor(): grpc.ServiceClientConstructor {
  const pkg = loadGrpcJsPackage('example.proto');
  return (pkg.nameko as grpc.GrpcObject).example as grpc.ServiceClientConstructor;
}

/** A grpc-js client for nameko.example at `127.0.0.1:port`. */
export function exampleGrpcJsClient(port: number, options: grpc.ClientOptions = {}): grpc.Client & Record<string, any> {
  const Client = exampleClientConstructor();
  return new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), options) as grpc.Client & Record<string, any>;
}

/** Promisified unary call on a grpc-js client, resolving with the response, the initial metadata and the status. */
export function grpcJsUnary(
  client: grpc.Client & Record<string, any>,
  method: string,
  request: unknown,
  metadata = new grpc.Metadata(),
  options: grpc.CallOptions = {},
): Promise<{ response: any; headers: grpc.Metadata; status: grpc.StatusObject }> {
  return new Promise((resolve, reject) => {
    let headers = new grpc.Metadata();
    let response: any;
    let error: grpc.ServiceError | null = null;
    const call = client[method](request, metadata, options, (err: grpc.ServiceError | null, value: any) => {
      error = err;
      response = value;
    });
    call.on('metadata', (md: grpc.Metadata) => (headers = md));
    call.on('status', (status: grpc.StatusObject) => {
      if (error) reject(Object.assign(error, { headers }));
      else resolve({ response, headers, status });
    });
  });
}

/** Collects a grpc-js readable call (server or bidi streaming) into its messages and final status. */
export function collect(call: grpc.ClientReadableStream<any> | grpc.ClientDuplexStream<any, any>): Promise<{ messages: any[]; status: grpc.StatusObject; error?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    const messages: any[] = [];
    let error: grpc.ServiceError | undefined;
    call.on('data', (message: any) => messages.push(message));
    call.on('error', (err: grpc.ServiceError) => (error = err));
    call.on('status', (status: grpc.StatusObject) => resolve({ messages, status, error }));
  });
}

/** The seed's example service implemented on a @grpc/grpc-js server, the reference our client is checked against. */
export const grpcJsExampleImplementation: grpc.UntypedServiceImplementation = {
  unary_unary(call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) {
    callback(null, { message: call.request.value.repeat(call.request.multiplier || 1), seqno: 0 });
  },
  unary_stream(call: grpc.ServerWritableStream<any, any>) {
    const message = call.request.value.repeat(call.request.multiplier || 1);
    call.write({ message, seqno: 1 });
    call.write({ message, seqno: 2 });
    call.end();
  },
  stream_unary(call: grpc.ServerReadableStream<any, any>, callback: grpc.sendUnaryData<any>) {
    const messages: string[] = [];
    call.on('data', (request: any) => messages.push(request.value.repeat(request.multiplier || 1)));
    call.on('end', () => callback(null, { message: messages.join(','), seqno: 0 }));
  },
  stream_stream(call: grpc.ServerDuplexStream<any, any>) {
    let seqno = 0;
    call.on('data', (request: any) => call.write({ message: request.value.repeat(request.multiplier || 1), seqno: ++seqno }));
    call.on('end', () => call.end());
  },
};

/** Starts a @grpc/grpc-js server on 127.0.0.1:0 with the given implementation of nameko.example (default: the seed's). */
export async function startGrpcJsServer(
  implementation: grpc.UntypedServiceImplementation = grpcJsExampleImplementation,
  options: grpc.ServerOptions = {},
): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server(options);
  server.addService(exampleClientConstructor().service, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return { server, port };
}
