/**
 * Promise-shaped calls on a @grpc/grpc-js client for the interop cases: each settles with the
 * response(s), the status (code and message), the initial metadata and the trailers, and never
 * rejects.
 */
import * as grpc from '@grpc/grpc-js';

/** A grpc-js client with its generated methods. */
type GrpcJsClient = grpc.Client & Record<string, any>;

/** How a call ended. */
export interface Outcome {
  response: any;
  status: { code: number; message: string };
  headers: grpc.Metadata;
  trailers: grpc.Metadata;
}

/** A call's final state from its status event. */
function statusOf(status: grpc.StatusObject): { code: number; message: string } {
  return { code: status.code, message: status.details };
}

/** A unary (or client-streaming, when `write` is given) call, settled with its response, status, headers and trailers; never rejects. */
export function unary(client: GrpcJsClient, method: string, request: unknown, options: { metadata?: grpc.Metadata; write?: (call: grpc.ClientWritableStream<any>) => void } = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    let headers = new grpc.Metadata();
    let response: any;
    const callback = (_error: unknown, value: any) => (response = value);
    const metadata = options.metadata ?? new grpc.Metadata();
    const call = options.write ? client[method](metadata, callback) : client[method](request, metadata, callback);
    call.on('metadata', (received: grpc.Metadata) => (headers = received));
    call.on('status', (status: grpc.StatusObject) => resolve({ response, status: statusOf(status), headers, trailers: status.metadata }));
    options.write?.(call);
  });
}

/** A streaming-response call's messages, status, headers and trailers. */
export function collect(call: grpc.ClientReadableStream<any> | grpc.ClientDuplexStream<any, any>): Promise<Omit<Outcome, 'response'> & { messages: any[] }> {
  return new Promise((resolve) => {
    const messages: any[] = [];
    let headers = new grpc.Metadata();
    call.on('metadata', (received: grpc.Metadata) => (headers = received));
    call.on('data', (message: any) => messages.push(message));
    call.on('error', () => undefined);
    call.on('status', (status: grpc.StatusObject) => resolve({ messages, status: statusOf(status), headers, trailers: status.metadata }));
  });
}

/** Reads a duplex call's responses one at a time. */
export function reader(call: grpc.ClientDuplexStream<any, any>): { next(): Promise<any>; status: Promise<{ code: number; message: string }> } {
  const received: any[] = [];
  const waiters: Array<(message: any) => void> = [];
  let ended = false;
  call.on('data', (message: any) => {
    const waiter = waiters.shift();
    if (waiter) waiter(message);
    else received.push(message);
  });
  call.on('error', () => undefined);
  const status = new Promise<{ code: number; message: string }>((resolve) =>
    call.on('status', (value: grpc.StatusObject) => {
      ended = true;
      for (const waiter of waiters.splice(0)) waiter(undefined);
      resolve(statusOf(value));
    }),
  );
  return {
    next: () => (received.length > 0 ? Promise.resolve(received.shift()) : ended ? Promise.resolve(undefined) : new Promise((resolve) => waiters.push(resolve))),
    status,
  };
}
