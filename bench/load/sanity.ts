/**
 * The answer check run once per scenario and implementation before measuring: one real call,
 * fully decoded and compared with what the bench service must answer. A server that answers
 * wrongly is reported broken and not measured.
 */
import http2 from 'node:http2';
import { gunzipSync, inflateSync } from 'node:zlib';
import { type BenchReply, decodeReply, echoOf, PATHS, streamReply } from '../common/bench-service.js';
import type { Scenario } from '../scenarios.js';
import { collectCall, type CollectedCall, deframe, type Frame, requestHeaders } from './raw-client.js';
import { callBody, framedRequest } from './requests.js';
import { EnvelopeCounter } from './envelope-counter.js';

/** Thrown for a wrong answer. */
class WrongAnswer extends Error {}

function same(actual: BenchReply, expected: BenchReply, what: string): void {
  if (actual.message !== expected.message || actual.seqno !== expected.seqno) {
    const show = (reply: BenchReply) => JSON.stringify({ message: reply.message.length > 40 ? `${reply.message.slice(0, 20)}…(${reply.message.length} chars)` : reply.message, seqno: reply.seqno });
    throw new WrongAnswer(`${what}: expected ${show(expected)}, got ${show(actual)}`);
  }
}

function checkOk(call: CollectedCall): void {
  if (Number(call.headers[':status']) !== 200) throw new WrongAnswer(`HTTP status ${String(call.headers[':status'])}`);
  if (call.status !== '0') throw new WrongAnswer(`grpc-status ${call.status ?? '(none)'} ${call.statusMessage ?? ''}`.trim());
}

function decodeFrame(frame: Frame, encoding: string | undefined): BenchReply {
  if (!frame.compressed) return decodeReply(frame.payload);
  if (encoding === 'gzip') return decodeReply(gunzipSync(frame.payload));
  if (encoding === 'deflate') return decodeReply(inflateSync(frame.payload));
  throw new WrongAnswer(`a compressed message with grpc-encoding ${encoding ?? '(none)'}`);
}

async function checkUnary(scenario: Scenario, session: http2.ClientHttp2Session, port: number, notes: string[]): Promise<void> {
  const call = await collectCall(session, requestHeaders(PATHS[scenario.rpc], port, scenario.gzip), callBody(scenario));
  checkOk(call);
  const frames = deframe(call.body);
  if (frames.length !== 1) throw new WrongAnswer(`${frames.length} response messages instead of 1`);
  const encoding = call.headers['grpc-encoding'] as string | undefined;
  const reply = decodeFrame(frames[0], encoding);
  const expected = scenario.rpc === 'stream_unary' ? { message: '', seqno: scenario.messagesPerCall ?? 1 } : echoOf(scenario.request());
  same(reply, expected, 'reply');
  if (scenario.gzip === true) {
    notes.push(frames[0].compressed ? `responds compressed (grpc-encoding: ${encoding})` : `responds uncompressed (grpc-encoding: ${encoding ?? 'none'})`);
  }
}

async function checkServerStream(scenario: Scenario, session: http2.ClientHttp2Session, port: number): Promise<void> {
  const length = 1000;
  const call = await collectCall(session, requestHeaders(PATHS[scenario.rpc], port), callBody(scenario, { value: 's', multiplier: length }));
  checkOk(call);
  const frames = deframe(call.body);
  if (frames.length !== length) throw new WrongAnswer(`${frames.length} streamed messages instead of ${length}`);
  const encoding = call.headers['grpc-encoding'] as string | undefined;
  frames.forEach((frame, seqno) => same(decodeFrame(frame, encoding), streamReply(seqno), `streamed message ${seqno}`));
}

/** Three round trips, each request different, each reply awaited before the next request. */
function checkPingPong(scenario: Scenario, session: http2.ClientHttp2Session, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = session.request(requestHeaders(PATHS[scenario.rpc], port));
    const counter = new EnvelopeCounter();
    const chunks: Buffer[] = [];
    let round = 0;
    let status: string | undefined;
    const request = (n: number) => ({ value: `ping ${n}`, multiplier: n + 1 });
    const timer = setTimeout(() => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      reject(new WrongAnswer(`no echo within 5 s in round ${round} (does it answer before the request stream ends?)`));
    }, 5000);
    const fail = (error: unknown) => {
      clearTimeout(timer);
      stream.close(http2.constants.NGHTTP2_CANCEL);
      reject(error);
    };
    stream.on('response', (headers) => {
      if (headers['grpc-status'] !== undefined) status = String(headers['grpc-status']);
    });
    stream.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (counter.push(chunk) === 0) return;
      try {
        const frames = deframe(Buffer.concat(chunks));
        if (frames.length !== 1) throw new WrongAnswer(`${frames.length} replies to one request`);
        chunks.length = 0;
        same(decodeFrame(frames[0], undefined), { message: `ping ${round}`, seqno: round + 1 }, `echo ${round}`);
      } catch (error) {
        fail(error);
        return;
      }
      if (++round < 3) stream.write(framedRequest(scenario, request(round)));
      else stream.end();
    });
    stream.on('trailers', (trailers) => {
      status = String(trailers['grpc-status']);
    });
    stream.on('error', () => undefined);
    stream.on('close', () => {
      clearTimeout(timer);
      if (round < 3) return reject(new WrongAnswer(`the stream closed after ${round} round trips (grpc-status ${status ?? 'none'})`));
      if (status !== '0') return reject(new WrongAnswer(`grpc-status ${status ?? '(none)'} at the end of the stream`));
      resolve();
    });
    stream.write(framedRequest(scenario, request(0)));
  });
}

/**
 * Checks one implementation's answers for a scenario. Resolves with notes worth reporting, or
 * with `problem` describing the first wrong answer.
 */
export async function checkAnswers(scenario: Scenario, session: http2.ClientHttp2Session, port: number): Promise<{ problem?: string; notes: string[] }> {
  const notes: string[] = [];
  try {
    if (scenario.kind === 'server-stream') await checkServerStream(scenario, session, port);
    else if (scenario.kind === 'ping-pong') await checkPingPong(scenario, session, port);
    else await checkUnary(scenario, session, port, notes);
    return { notes };
  } catch (error) {
    return { problem: error instanceof Error ? error.message : String(error), notes };
  }
}
