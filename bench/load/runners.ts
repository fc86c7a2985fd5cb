/**
 * The load generator's measurement loops, with pre-encoded bytes: the window loop over any
 * `WindowCalls` (node:http2 or the frame-level client), and server streaming and ping-pong on
 * raw node:http2. Each runs a warm-up, then measures, then lets in-flight calls finish.
 * Latencies go into a preallocated histogram; nothing grows with the number of calls or messages.
 */
import http2 from 'node:http2';
import { performance } from 'node:perf_hooks';
import type { Latency, LoadResult } from '../common/ipc.js';
import type { Timing } from '../scenarios.js';
import { runQueueWaitMs } from '../common/memory.js';
import { EnvelopeCounter } from './envelope-counter.js';
import { Histogram } from './histogram.js';
import type { CallEnds, WindowCalls } from './window-calls.js';

/** Called when the measured part starts and ends (the parent samples the server's CPU time then). */
export type PhaseListener = (phase: 'measure' | 'done') => void;

const enum Phase {
  Warmup,
  Measure,
  Stopping,
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function latencyOf(histogram: Histogram): Latency {
  return { p50: histogram.quantile(0.5) / 1000, p99: histogram.quantile(0.99) / 1000, mean: histogram.mean / 1000, max: histogram.max / 1000, samples: histogram.count };
}

/** This process's CPU use and run-queue wait over a measured window, in percent of the window. */
export class CpuWindow {
  private readonly cpu = process.cpuUsage();
  private readonly wait = runQueueWaitMs();

  /** Percentages from construction until now, over `elapsedMs`. */
  stop(elapsedMs: number): { loadCpuPercent: number; loadWaitPercent?: number } {
    const used = process.cpuUsage(this.cpu);
    const wait = runQueueWaitMs();
    return {
      loadCpuPercent: ((used.user + used.system) / 1000 / elapsedMs) * 100,
      loadWaitPercent: wait !== undefined && this.wait !== undefined ? ((wait - this.wait) / elapsedMs) * 100 : undefined,
    };
  }
}

/** Counts failures by status ("none" when the stream closed without one). */
function fail(failures: Record<string, number>, status: string | undefined): void {
  const key = status ?? 'none';
  failures[key] = (failures[key] ?? 0) + 1;
}

/** Counts the calls of one window measurement as they end, by phase. */
class WindowLoop implements CallEnds {
  phase = Phase.Warmup;
  readonly histogram = new Histogram();
  readonly failures: Record<string, number> = {};
  /** Calls ended OK in the measured window. */
  completed = 0;
  /** Calls ended in any phase, any status. */
  finished = 0;
  /** The `finished` count at which `atRound` runs (Infinity: none waits). */
  private roundEnd = Infinity;
  private atRound: (() => void) | undefined;

  ended(startedMs: number, status: string | undefined): boolean {
    this.finished++;
    if (this.phase === Phase.Measure) {
      this.histogram.recordMs(performance.now() - startedMs);
      if (status === '0') this.completed++;
      else fail(this.failures, status);
    }
    if (this.finished === this.roundEnd) this.atRound!();
    return this.phase !== Phase.Stopping;
  }

  /**
   * Runs `action` synchronously when the next call ends that makes `finished` a multiple of
   * `slots` (a whole round of calls: with thousands in flight they end in waves of `slots`), or
   * after `maxMs` if none does; resolves with whether the round's end came in time.
   */
  atNextRound(slots: number, maxMs: number, action: () => void): Promise<boolean> {
    return new Promise((resolve) => {
      const run = (inTime: boolean) => {
        clearTimeout(timer);
        this.roundEnd = Infinity;
        this.atRound = undefined;
        action();
        resolve(inTime);
      };
      const timer = setTimeout(() => run(false), maxMs);
      this.roundEnd = (Math.floor(this.finished / slots) + 1) * slots;
      this.atRound = () => run(true);
    });
  }
}

function noop(): void {}

/**
 * Unary-response calls back to back on every slot of `calls` (node:http2 or frame-level); counts
 * calls that end OK within the measured window. Both ends of the window are call ends that
 * complete a round of as many calls as there are slots: at 50×100 the calls end in waves of
 * 5,000, and a window ending mid-wave would count up to a whole wave more or less (rates came
 * out as exact multiples of 2,500/s). So the warm-up lasts at least `warmupMs` and until a round
 * ends, and the window at least `durationMs` and until its next round ends (each at most 5× its
 * nominal length or 3 s; the report notes a cut). Calls still in flight at the end are
 * abandoned (the connections are reset). `unitsPerCall` converts calls to the rate's unit.
 */
export async function runWindow(calls: WindowCalls, unitsPerCall: number, timing: Timing, onPhase: PhaseListener): Promise<LoadResult> {
  const notes: string[] = [];
  const slots = calls.slots;
  const loop = new WindowLoop();
  calls.start(loop);
  let started = 0;
  let cpu!: CpuWindow;
  await sleep(timing.warmupMs);
  const warmed = await loop.atNextRound(slots, Math.max(4 * timing.warmupMs, 3000), () => {
    loop.phase = Phase.Measure;
    onPhase('measure');
    started = performance.now();
    cpu = new CpuWindow();
  });
  if (!warmed) notes.push(`warm-up cut after ${loop.finished} calls ended, before a round of ${slots} did`);
  await sleep(timing.durationMs);
  let elapsedMs = 0;
  let usage!: ReturnType<CpuWindow['stop']>;
  const windowCapMs = Math.max(5 * timing.durationMs, 3000);
  const whole = await loop.atNextRound(slots, windowCapMs - timing.durationMs, () => {
    loop.phase = Phase.Stopping;
    elapsedMs = performance.now() - started;
    usage = cpu.stop(elapsedMs);
    onPhase('done');
  });
  if (!whole) notes.push(`window cut at ${windowCapMs} ms before a round of ${slots} calls ended`);
  const units = loop.completed * unitsPerCall;
  return { completed: loop.completed, failures: loop.failures, units, elapsedMs, rate: (units / elapsedMs) * 1000, latency: latencyOf(loop.histogram), ...usage, notes };
}

/** One response-streaming call's outcome. */
interface StreamCall {
  ms: number;
  messages: number;
  status: string | undefined;
  timedOut: boolean;
}

function streamCall(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body: Buffer, capMs: number): Promise<StreamCall> {
  return new Promise((resolve) => {
    const started = performance.now();
    const counter = new EnvelopeCounter();
    let status: string | undefined;
    let timedOut = false;
    const stream = session.request(headers);
    const timer = setTimeout(() => {
      timedOut = true;
      stream.close(http2.constants.NGHTTP2_CANCEL);
    }, capMs);
    stream.on('response', (received) => {
      if (received['grpc-status'] !== undefined) status = String(received['grpc-status']);
    });
    stream.on('data', (chunk: Buffer) => counter.push(chunk));
    stream.on('trailers', (trailers) => {
      status = String(trailers['grpc-status']);
    });
    stream.on('error', noop);
    stream.on('close', () => {
      clearTimeout(timer);
      resolve({ ms: performance.now() - started, messages: counter.messages, status, timedOut });
    });
    stream.end(body);
  });
}

/**
 * Response-streaming calls one after another on one stream: a warm-up call of `warmupBody`, then
 * calls of `body` (expecting `expected` messages each) until `streamMinMs` of call time was
 * measured. Rate = messages of the measured calls / their total duration, so a stream that slows
 * down as it grows shows as a lower rate for longer streams. A call past `streamCallCapMs` is
 * cancelled and its partial rate reported with a note.
 */
export async function runServerStream(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  warmupBody: Buffer,
  body: Buffer,
  expected: number,
  timing: Timing,
  onPhase: PhaseListener,
): Promise<LoadResult> {
  const notes: string[] = [];
  const failures: Record<string, number> = {};
  const warm = await streamCall(session, headers, warmupBody, timing.streamCallCapMs);
  if (warm.timedOut) notes.push(`the warm-up call was cancelled after ${timing.streamCallCapMs} ms (${warm.messages} messages)`);
  const histogram = new Histogram();
  let messages = 0;
  let callMs = 0;
  let completed = 0;
  onPhase('measure');
  const cpu = new CpuWindow();
  const started = performance.now();
  while (!warm.timedOut) {
    const call = await streamCall(session, headers, body, timing.streamCallCapMs);
    histogram.recordMs(call.ms);
    messages += call.messages;
    callMs += call.ms;
    if (call.timedOut) {
      notes.push(`incomplete: cancelled after ${(call.ms / 1000).toFixed(1)} s with ${call.messages.toLocaleString('en-US')} of ${expected.toLocaleString('en-US')} messages; rate is of the partial stream`);
      break;
    }
    if (call.status !== '0' || call.messages !== expected) {
      fail(failures, call.status);
      if (call.messages !== expected) notes.push(`a call ended (grpc-status ${call.status ?? 'none'}) after ${call.messages} of ${expected} messages`);
      break;
    }
    completed++;
    if (callMs >= timing.streamMinMs) break;
  }
  const usage = cpu.stop(performance.now() - started);
  onPhase('done');
  return { completed, failures, units: messages, elapsedMs: callMs, rate: callMs > 0 ? (messages / callMs) * 1000 : 0, latency: latencyOf(histogram), ...usage, notes };
}

/**
 * Bidi ping-pong: on `streams` long-lived streams per session, write one request, wait for one
 * reply message, write the next. Counts round trips in the measured window; latency per round trip.
 */
export async function runPingPong(
  sessions: http2.ClientHttp2Session[],
  streams: number,
  headers: http2.OutgoingHttpHeaders,
  ping: Buffer,
  timing: Timing,
  onPhase: PhaseListener,
): Promise<LoadResult> {
  let phase = Phase.Warmup;
  const histogram = new Histogram();
  const failures: Record<string, number> = {};
  const notes: string[] = [];
  let roundTrips = 0;
  const closed: Promise<void>[] = [];
  for (const session of sessions) {
    for (let slot = 0; slot < streams; slot++) {
      const stream = session.request(headers);
      const counter = new EnvelopeCounter();
      let sentAt = performance.now();
      let status: string | undefined;
      stream.on('response', (received) => {
        if (received['grpc-status'] !== undefined) status = String(received['grpc-status']);
      });
      stream.on('data', (chunk: Buffer) => {
        const replies = counter.push(chunk);
        if (replies === 0) return;
        if (replies > 1) notes.push(`${replies} replies arrived for one request`);
        if (phase === Phase.Measure) {
          histogram.recordMs(performance.now() - sentAt);
          roundTrips++;
        }
        if (phase === Phase.Stopping) {
          stream.end();
          return;
        }
        sentAt = performance.now();
        stream.write(ping);
      });
      stream.on('trailers', (trailers) => {
        status = String(trailers['grpc-status']);
      });
      stream.on('error', noop);
      closed.push(
        new Promise((resolve) =>
          stream.on('close', () => {
            if (status !== '0') fail(failures, status);
            resolve();
          }),
        ),
      );
      stream.write(ping);
    }
  }
  await sleep(timing.warmupMs);
  phase = Phase.Measure;
  onPhase('measure');
  const started = performance.now();
  const cpu = new CpuWindow();
  await sleep(timing.durationMs);
  phase = Phase.Stopping;
  const elapsedMs = performance.now() - started;
  const usage = cpu.stop(elapsedMs);
  onPhase('done');
  const allClosed = Promise.all(closed).then(() => true);
  if (!(await Promise.race([allClosed, sleep(10_000).then(() => false)]))) notes.push('some streams did not end within 10 s of the window');
  return { completed: roundTrips, failures, units: roundTrips, elapsedMs, rate: (roundTrips / elapsedMs) * 1000, latency: latencyOf(histogram), ...usage, notes: [...new Set(notes)] };
}
