/**
 * The neutral load generator, in its own process: a raw node:http2 client (not our GrpcClient)
 * sending pre-encoded requests. It receives one `job` over IPC, checks the server's answers,
 * measures, reports `result` and exits.
 */
import { PATHS } from '../common/bench-service.js';
import type { FromLoad, LoadJob, LoadResult } from '../common/ipc.js';
import { scenarioById } from '../scenarios.js';
import { connect, disconnect, requestHeaders } from './raw-client.js';
import { callBody, framedRequest } from './requests.js';
import { runPingPong, runServerStream, runWindow } from './runners.js';
import { checkAnswers } from './sanity.js';

function send(message: FromLoad): void {
  process.send?.(message);
}

async function run(job: LoadJob): Promise<LoadResult> {
  const scenario = scenarioById(job.scenarioId);
  const onPhase = (phase: 'measure' | 'done') => send({ type: 'phase', phase });
  const sessions = await connect(job.port, scenario.connections);
  try {
    const check = await checkAnswers(scenario, sessions[0], job.port);
    if (check.problem !== undefined) {
      return { broken: check.problem, completed: 0, failures: {}, units: 0, elapsedMs: 0, rate: 0, latency: { p50: NaN, p99: NaN, mean: NaN, max: NaN, samples: 0 }, loadCpuPercent: 0, notes: check.notes };
    }
    const headers = requestHeaders(PATHS[scenario.rpc], job.port, scenario.gzip);
    let result: LoadResult;
    if (scenario.kind === 'window') {
      result = await runWindow(sessions, scenario.streams, headers, callBody(scenario), scenario.messagesPerCall ?? 1, job.timing, onPhase);
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
