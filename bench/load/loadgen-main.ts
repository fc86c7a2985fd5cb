/**
 * The neutral load generator, in its own process: raw HTTP/2 clients (not our GrpcClient)
 * sending pre-encoded requests: the frame-level client over net.Socket for window scenarios
 * (unless the job asks for node:http2) and node:http2 for the others. It
 * receives one `job` over IPC, checks the server's answers (always with node:http2), measures,
 * reports `result` and exits.
 */
import type http2 from 'node:http2';
import { PATHS } from '../common/bench-service.js';
import type { FromLoad, LoadGenerator, LoadJob, LoadResult } from '../common/ipc.js';
import { type Scenario, scenarioById } from '../scenarios.js';
import { connect, disconnect, requestHeaders } from './raw-client.js';
import { callBody, framedRequest } from './requests.js';
import { type PhaseListener, runPingPong, runServerStream, runWindow } from './runners.js';
import { FrameCalls, Http2Calls, type WindowCalls } from './window-calls.js';
import { checkAnswers } from './sanity.js';

function send(message: FromLoad): void {
  process.send?.(message);
}

/** The generator of a scenario: 'frames' for window scenarios unless asked for 'http2'; node:http2 for the others. */
function generatorFor(scenario: Scenario, asked: LoadGenerator | undefined): LoadGenerator {
  return asked === 'http2' || scenario.kind !== 'window' ? 'http2' : 'frames';
}

/** Measures a window scenario with the chosen generator (frame-level connections are opened after the answer check). */
async function window(scenario: Scenario, job: LoadJob, loadgen: LoadGenerator, headers: http2.OutgoingHttpHeaders, sessions: http2.ClientHttp2Session[], onPhase: PhaseListener): Promise<LoadResult> {
  const body = callBody(scenario);
  const connections = loadgen === 'frames' ? await FrameCalls.connect(job.port, scenario.connections) : [];
  try {
    const calls: WindowCalls = loadgen === 'frames' ? new FrameCalls(connections, scenario.streams, headers, body) : new Http2Calls(sessions, scenario.streams, headers, body);
    return { ...(await runWindow(calls, scenario.messagesPerCall ?? 1, job.timing, onPhase)), loadgen };
  } finally {
    for (const connection of connections) connection.destroy();
  }
}

async function run(job: LoadJob): Promise<LoadResult> {
  const scenario = scenarioById(job.scenarioId);
  const onPhase = (phase: 'measure' | 'done') => send({ type: 'phase', phase });
  const loadgen = generatorFor(scenario, job.loadgen);
  // With the frame-level generator, node:http2 makes only the answer check, on one connection.
  const sessions = await connect(job.port, loadgen === 'frames' ? 1 : scenario.connections);
  try {
    const check = await checkAnswers(scenario, sessions[0], job.port);
    if (check.problem !== undefined) {
      return { broken: check.problem, completed: 0, failures: {}, units: 0, elapsedMs: 0, rate: 0, latency: { p50: NaN, p99: NaN, mean: NaN, max: NaN, samples: 0 }, loadCpuPercent: 0, notes: check.notes };
    }
    const headers = requestHeaders(PATHS[scenario.rpc], job.port, scenario.gzip);
    let result: LoadResult;
    if (scenario.kind === 'window') {
      result = await window(scenario, job, loadgen, headers, sessions, onPhase);
    } else if (scenario.kind === 'server-stream') {
      const length = scenario.request().multiplier;
      const warmup = callBody(scenario, { value: 's', multiplier: Math.min(length, job.timing.streamWarmupMessages) });
      result = await runServerStream(sessions[0], headers, warmup, callBody(scenario), length, job.timing, onPhase);
    } else if (scenario.kind === 'ping-pong') {
      result = await runPingPong(sessions, scenario.streams, headers, framedRequest(scenario), job.timing, onPhase);
    } else {
      throw new Error(`The load generator does not run ${scenario.kind} scenarios`);
    }
    result.notes.unshift(...check.notes);
    return result;
  } finally {
    disconnect(sessions);
  }
}

process.once('message', (job: LoadJob) => {
  run(job).then(
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
