/** The seed's example service as a Nest controller: one handler per call pattern. */
import { Controller } from '@nestjs/common';
import { map, type Observable, of } from 'rxjs';
import { type GrpcContext, GrpcImplementing, GrpcMethod, type MessageStream } from '../lib/index.js';
import { type ExampleReply, type ExampleRequest, exampleStub } from './generated/nameko.js';

function repeat(request: ExampleRequest): string {
  return request.value.repeat(request.multiplier || 1);
}

/** Serves nameko.example as nameko-grpc's README does. */
@Controller()
@GrpcImplementing(exampleStub)
export class ExampleController {
  /** One request, one reply; metadata from the client is at hand on the context. */
  @GrpcMethod()
  unary_unary(request: ExampleRequest, context: GrpcContext): ExampleReply {
    context.setTrailingMetadata(context.metadata.clone());
    return { message: repeat(request), seqno: 0 };
  }

  /** One request, a stream of replies. */
  @GrpcMethod()
  unary_stream(request: ExampleRequest): Observable<ExampleReply> {
    return of(1, 2).pipe(map((seqno) => ({ message: repeat(request), seqno })));
  }

  /** A stream of requests, one reply. */
  @GrpcMethod()
  async stream_unary(requests: MessageStream<ExampleRequest>): Promise<ExampleReply> {
    const messages: string[] = [];
    for await (const request of requests) messages.push(repeat(request));
    return { message: messages.join(','), seqno: 0 };
  }

  /** A stream of requests, a stream of replies. */
  @GrpcMethod()
  async *stream_stream(requests: MessageStream<ExampleRequest>): AsyncIterable<ExampleReply> {
    let seqno = 0;
    for await (const request of requests) yield { message: repeat(request), seqno: ++seqno };
  }
}
