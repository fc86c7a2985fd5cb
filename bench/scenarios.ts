/**
 * The benchmark's scenarios and timings. Each scenario names the RPC, the load shape
 * (connections × concurrent streams) and the request; the load generator builds the request
 * bytes from it once and sends the same bytes to every implementation.
 */
import { type BenchRequest, type Rpc } from './common/bench-service.js';

/** How a scenario drives its RPC. */
export type ScenarioKind =
  /** Unary calls back to back on every stream slot, counted in a fixed window (also used for client streaming: one pre-encoded body of many messages per call). */
  | 'window'
  /** One response-streaming call after another on one stream; rate = messages of complete calls / their duration. */
  | 'server-stream'
  /** One long bidi stream per slot; one request out, wait for its echo, next request. */
  | 'ping-pong'
  /** Client benchmark: our GrpcClient vs the grpc-js client, unary calls with `streams` in flight. */
  | 'client';

/** One benchmark scenario. */
export interface Scenario {
  id: string;
  title: string;
  /** What it measures, one sentence for the report. */
  measures: string;
  kind: ScenarioKind;
  rpc: Rpc;
  connections: number;
  /** Concurrent streams per connection (for 'client': calls in flight). */
  streams: number;
  /** What the rate counts. */
  unit: 'req/s' | 'msg/s' | 'calls/s';
  /** The request (for server streaming, `multiplier` is the stream length). */
  request: () => BenchRequest;
  /** Request messages per call (client streaming), each the `request`; default 1. */
  messagesPerCall?: number;
  /** Send requests gzip-compressed with `grpc-encoding: gzip` and accept gzip responses. */
  gzip?: boolean;
}

const SMALL: BenchRequest = { value: 'hello world!', multiplier: 7 }; // 16 bytes encoded
const MIB = 1024 * 1024;

/** A 4 KiB request value that compresses about 10× (words, not random bytes). */
function compressibleText(size: number): string {
  const words = ['grpc', 'nest', 'transport', 'benchmark', 'message', 'stream', 'deadline', 'metadata', 'status', 'envelope'];
  let text = '';
  for (let i = 0; text.length < size; i++) text += `${words[(i * 7) % words.length]}-${i % 97} `;
  return text.slice(0, size);
}

/** Every scenario, in the order they run. */
export const SCENARIOS: Scenario[] = [
  { id: 'unary-1x1', title: 'Unary, 1 connection × 1 stream', measures: 'Latency-bound throughput: one unary echo of a 16-byte message at a time', kind: 'window', rpc: 'unary_unary', connections: 1, streams: 1, unit: 'req/s', request: () => SMALL },
  { id: 'unary-10x10', title: 'Unary, 10 connections × 10 streams', measures: 'Unary echo throughput (16-byte messages) with 100 calls in flight over 10 connections', kind: 'window', rpc: 'unary_unary', connections: 10, streams: 10, unit: 'req/s', request: () => SMALL },
  { id: 'unary-50x100', title: 'Unary, 50 connections × 100 streams', measures: 'Unary echo throughput, tail latency and memory with 5,000 calls in flight over 50 connections', kind: 'window', rpc: 'unary_unary', connections: 50, streams: 100, unit: 'req/s', request: () => SMALL },
  { id: 'server-stream-100k', title: 'Server streaming, 100,000 messages per call', measures: 'One call streaming 100,000 ~16-byte replies to a raw HTTP/2 client; rate = messages / call time, p50/p99 = whole-call time', kind: 'server-stream', rpc: 'unary_stream', connections: 1, streams: 1, unit: 'msg/s', request: () => ({ value: 's', multiplier: 100_000 }) },
  { id: 'server-stream-1m', title: 'Server streaming, 1,000,000 messages per call', measures: 'The same with 1,000,000 replies per call; "rate vs 100k" near 1.00× means constant per-message cost', kind: 'server-stream', rpc: 'unary_stream', connections: 1, streams: 1, unit: 'msg/s', request: () => ({ value: 's', multiplier: 1_000_000 }) },
  { id: 'client-stream', title: 'Client streaming, 10,000 messages per call', measures: 'The server counts 10,000 16-byte requests per call (sent as one pre-encoded body); rate = request messages / s, p50/p99 = whole-call time', kind: 'window', rpc: 'stream_unary', connections: 1, streams: 1, unit: 'msg/s', request: () => SMALL, messagesPerCall: 10_000 },
  { id: 'bidi-ping-pong', title: 'Bidi ping-pong, 1 stream', measures: 'Bidi echo on one long-lived stream: one request, wait for its reply, then the next; latency per round trip', kind: 'ping-pong', rpc: 'stream_stream', connections: 1, streams: 1, unit: 'msg/s', request: () => SMALL },
  { id: 'unary-1mib', title: 'Unary 1 MiB messages, 1 connection × 4 streams', measures: 'Unary echo of a 1 MiB request (1 MiB back): copying, framing and flow control', kind: 'window', rpc: 'unary_unary', connections: 1, streams: 4, unit: 'req/s', request: () => ({ value: 'x'.repeat(MIB - 16), multiplier: 1 }) },
  { id: 'unary-gzip', title: 'Unary gzip, 10 connections × 10 streams', measures: 'Unary echo of a 4 KiB request sent gzip-compressed (grpc-accept-encoding: gzip); each server compresses its answer or not as it does by default (see notes)', kind: 'window', rpc: 'unary_unary', connections: 10, streams: 10, unit: 'req/s', request: () => ({ value: compressibleText(4096), multiplier: 3 }), gzip: true },
  { id: 'client-unary', title: 'Client: unary with 100 calls in flight', measures: 'Our GrpcClient vs the @grpc/grpc-js client making unary calls (16 bytes) to a @grpc/grpc-js server; client RSS and CPU are of the client process', kind: 'client', rpc: 'unary_unary', connections: 1, streams: 100, unit: 'calls/s', request: () => SMALL },
];

/** How long each measurement runs. */
export interface Timing {
  warmupMs: number;
  durationMs: number;
  /** Server streaming: messages in the one warm-up call. */
  streamWarmupMessages: number;
  /** Server streaming: keep starting calls until this much call time was measured (at least one call). */
  streamMinMs: number;
  /** Server streaming: a call still running after this long is cancelled and reported incomplete. */
  streamCallCapMs: number;
  /** Interleaved rounds: every implementation runs once per round, the median round is reported. */
  rounds: number;
}

/** `--quick`: the whole run in under two minutes (streams still running after 2 s are cut and reported incomplete). */
export const QUICK: Timing = { warmupMs: 150, durationMs: 500, streamWarmupMessages: 2_000, streamMinMs: 300, streamCallCapMs: 2_000, rounds: 1 };

/** The default: long enough for steady state, three interleaved rounds. */
export const FULL: Timing = { warmupMs: 1000, durationMs: 4000, streamWarmupMessages: 20_000, streamMinMs: 3000, streamCallCapMs: 30_000, rounds: 3 };

/** The scenario with this id; throws for an unknown one. */
export function scenarioById(id: string): Scenario {
  const scenario = SCENARIOS.find((candidate) => candidate.id === id);
  if (scenario === undefined) throw new Error(`Unknown scenario ${id}; known: ${SCENARIOS.map((s) => s.id).join(', ')}`);
  return scenario;
}
