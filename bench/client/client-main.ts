/**
 * The client benchmark, in its own process: `ours-client` (our GrpcClient) or `grpc-js-client`
 * (@grpc/grpc-js) makes unary_unary calls with `streams` calls in flight against the server on
 * `port`. It checks one answer first, then warms up, measures, and reports its own CPU use and
 * peak RSS with the result.
 */
import * as grpc from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import { GrpcClient } from '../../lib/core.js';
import { exampleStub } from '../../sample/generated/nameko.js';
import { type BenchReply, type BenchRequest, echoOf } from '../common/bench-service.js';
import type { ClientImpl, FromLoad, LoadJob, LoadResult } from '../common/ipc.js';
import { PeakRssTracker } from '../common/memory.js';
import { Histogram } from '../load/histogram.js';
import { CpuWindow } from '../load/runners.js';
import { scenarioById } from '../scenarios.js';
import { exampleDefinition } from '../servers/grpc-js.js';

/** Makes one call; `done` gets whether it succeeded and the reply. */
type Caller = (done: (ok: boolean, reply?: BenchReply) => void) => void;

function send(message: FromLoad): void {
  process.send?.(message);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function makeCaller(client: ClientImpl, port: number, request: BenchRequest): { call: Caller; close(): void } {
  const target = `127.0.0.1:${port}`;
  if (client === 'ours-client') {
    const ours = new GrpcClient(target, exampleStub);
    return {
      call: (done) => ours.unary_unary(request).then((reply) => done(true, reply), () => done(false)),
      close: () => ours.close(),
    };
  }
  const Client = exampleDefinition();
  const theirs = new Client(target, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    unary_unary(request: BenchRequest, callback: (error: grpc.ServiceError | null, reply?: BenchReply) => void): void;
  };
  return {
    call: (done) => theirs.unary_unary(request, (error, reply) => done(error === null, reply)),
    close: () => theirs.close(),
  };
}

async function run(job: LoadJob, tracker: PeakRssTracker): Promise<LoadResult> {
  const scenario = scenarioById(job.scenarioId);
  const request = scenario.request();
  const { call, close } = makeCaller(job.client!, job.port, request);
  try {
    const expected = echoOf(request);
    const first = await new Promise<BenchReply | undefined>((resolve) => call((ok, reply) => resolve(ok ? reply : undefined)));
    if (first === undefined || first.message !== expected.message || first.seqno !== expected.seqno) {
      return { broken: `first reply ${JSON.stringify(first)} instead of ${JSON.stringify(expected)}`, completed: 0, failures: {}, units: 0, elapsedMs: 0, rate: 0, latency: { p50: NaN, p99: NaN, mean: NaN, max: NaN, samples: 0 }, loadCpuPercent: 0, notes: [] };
    }
    const histogram = new Histogram();
    const failures: Record<string, number> = {};
    let measuring = false;
    let stopping = false;
    let completed = 0;
    let inFlight = 0;
    let drained: (() => void) | undefined;
    const issue = (): void => {
      inFlight++;
      const started = performance.now();
      call((ok) => {
        inFlight--;
        if (measuring) {
          histogram.recordMs(performance.now() - started);
          if (ok) completed++;
          else failures.error = (failures.error ?? 0) + 1;
        }
        if (!stopping) issue();
        else if (inFlight === 0) drained?.();
      });
    };
    for (let slot = 0; slot < scenario.streams; slot++) issue();
    await sleep(job.timing.warmupMs);
    measuring = true;
    send({ type: 'phase', phase: 'measure' });
    const started = performance.now();
    const cpu = new CpuWindow();
    await sleep(job.timing.durationMs);
    measuring = false;
    stopping = true;
    const elapsedMs = performance.now() - started;
    const usage = cpu.stop(elapsedMs);
    send({ type: 'phase', phase: 'done' });
    if (inFlight > 0) await Promise.race([new Promise<void>((resolve) => (drained = resolve)), sleep(10_000)]);
    return {
      completed,
      failures,
      units: completed,
      elapsedMs,
      rate: (completed / elapsedMs) * 1000,
      latency: { p50: histogram.quantile(0.5) / 1000, p99: histogram.quantile(0.99) / 1000, mean: histogram.mean / 1000, max: histogram.max / 1000, samples: histogram.count },
      ...usage,
      clientPeakRssBytes: tracker.read().peakRssBytes,
      notes: [],
    };
  } finally {
    close();
  }
}

const tracker = new PeakRssTracker();
process.once('message', (job: LoadJob) => {
  run(job, tracker).then(
    (result) => {
      send({ type: 'result', result });
      process.exit(0);
    },
    (error: unknown) => {
      send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      process.exit(1);
    },
  );
});
