/** The bench service on our standalone GrpcServer. */
import { GrpcServer } from '../../lib/core.js';
import { exampleStub } from '../../sample/generated/nameko.js';
import { streamStream, streamUnary, unaryStream, unaryUnary } from './handlers.js';

/** Starts it on 127.0.0.1 and a free port. */
export async function start(): Promise<{ port: number }> {
  const server = new GrpcServer();
  server.addService(exampleStub, {
    unary_unary: unaryUnary,
    unary_stream: unaryStream,
    stream_unary: streamUnary,
    stream_stream: streamStream,
  });
  return { port: await server.listen('127.0.0.1:0') };
}
