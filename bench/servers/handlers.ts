/**
 * The bench service as handlers for our GrpcServer and GrpcTransport, written as the README
 * and sample show: a plain value for unary, a generator for the long response stream (pulled,
 * so it waits for the peer; an Observable would be pushed into the 16 MiB response buffer),
 * `for await` over the request stream, and an async generator echoing a bidi stream.
 */
import type { MessageStream } from '../../lib/core.js';
import { type BenchReply, type BenchRequest, echoOf, streamReply } from '../common/bench-service.js';

/** unary_unary: echo. */
export function unaryUnary(request: BenchRequest): BenchReply {
  return echoOf(request);
}

/** unary_stream: `multiplier` small replies. */
export function* unaryStream(request: BenchRequest): Iterable<BenchReply> {
  const count = request.multiplier;
  for (let seqno = 0; seqno < count; seqno++) yield streamReply(seqno);
}

/** stream_unary: the number of requests. */
export async function streamUnary(requests: MessageStream<BenchRequest>): Promise<BenchReply> {
  let count = 0;
  for await (const _request of requests) count++;
  return { message: '', seqno: count };
}

/** stream_stream: echo each request as it arrives. */
export async function* streamStream(requests: MessageStream<BenchRequest>): AsyncIterable<BenchReply> {
  for await (const request of requests) yield echoOf(request);
}
