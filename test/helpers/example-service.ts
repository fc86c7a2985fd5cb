/** The seed's example service (protos/example.proto) implemented for our server, as nameko-grpc's README shows it. */
import path from 'node:path';
import { Observable } from 'rxjs';
import { GrpcContext, loadStub, type MessageStream } from '../../lib/index.js';

/** The nameko.example stub, loaded from the proto with protobufjs. */
export const exampleStub = loadStub(path.resolve('protos/example.proto'), 'nameko.example');

/** An ExampleRequest as our stubs present it. */
export interface ExampleRequest {
  value: string;
  multiplier: number;
}

/** An ExampleReply as our stubs present it. */
export interface ExampleReply {
  message: string;
  seqno: number;
}

function times(request: ExampleRequest): string {
  return request.value.repeat(request.multiplier || 1);
}

/** The four handlers of the seed's example. */
export const exampleImplementation = {
  unary_unary(request: ExampleRequest): ExampleReply {
    return { message: times(request), seqno: 0 };
  },
  unary_stream(request: ExampleRequest): Observable<ExampleReply> {
    return new Observable((subscriber) => {
      subscriber.next({ message: times(request), seqno: 1 });
      subscriber.next({ message: times(request), seqno: 2 });
      subscriber.complete();
    });
  },
  async stream_unary(requests: MessageStream<ExampleRequest>): Promise<ExampleReply> {
    const messages: string[] = [];
    for await (const request of requests) messages.push(times(request));
    return { message: messages.join(','), seqno: 0 };
  },
  async *stream_stream(requests: MessageStream<ExampleRequest>, _context: GrpcContext): AsyncIterable<ExampleReply> {
    let seqno = 0;
    for await (const request of requests) yield { message: times(request), seqno: ++seqno };
  },
};
