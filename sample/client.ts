/** The sample's client: calls each of the four example RPCs once and returns what came back. */
import { from, lastValueFrom, toArray } from 'rxjs';
import { GrpcClient } from '../lib/index.js';
import { type ExampleReply, exampleStub } from './generated/nameko.js';

/** The replies of one round of the four example calls. */
export interface SampleResults {
  unary_unary: ExampleReply;
  unary_stream: ExampleReply[];
  stream_unary: ExampleReply;
  stream_stream: ExampleReply[];
}

/** Calls unary_unary, unary_stream, stream_unary and stream_stream on the server at `target`. */
export async function callExample(target: string): Promise<SampleResults> {
  await using client = new GrpcClient(target, exampleStub);
  const requests = [
    { value: 'A', multiplier: 1 },
    { value: 'B', multiplier: 2 },
    { value: 'C', multiplier: 3 },
  ];
  return {
    unary_unary: await client.unary_unary({ value: 'A', multiplier: 3 }, { timeout: 5000 }),
    unary_stream: await lastValueFrom(client.unary_stream({ value: 'B', multiplier: 2 }).pipe(toArray())),
    stream_unary: await client.stream_unary(requests),
    stream_stream: await lastValueFrom(client.stream_stream(from(requests)).pipe(toArray())),
  };
}
