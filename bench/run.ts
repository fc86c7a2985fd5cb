/**
 * `npm run bench [-- options]`: the benchmark suite. For each scenario, every implementation runs
 * in turn (round-robin, the order rotating each round) in a fresh server process pinned to CPU 0,
 * driven by a fresh load-generator process pinned to CPU 1; answers are checked before measuring.
 * Prints a table per scenario and writes bench/results.json and bench/results.md.
 *
 * Options: --quick (short windows, one round: under two minutes), --rounds N, --duration MS,
 * --warmup MS, --only id,id (scenarios), --impl name,name, --bare (add the bare node:http2 +
 * protobufjs reference server), --loadgen frames|http2 (the load generator of the window
 * scenarios (unary, client streaming); default frames), --no-pin,
 * --out file.json.
 * A run filtered with --only or --impl writes to dist/bench-results.json unless --out is given.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { ClientImpl, LoadGenerator, LoadJob } from './common/ipc.js';
import { REPO_ROOT } from './common/paths.js';
import { detectPinning, type Pinning } from './orchestrator/pinning.js';
import { REFERENCE_IMPLS, SERVER_IMPLS, type ServerImpl, spawnLoad, startServer } from './orchestrator/processes.js';
import { addRatios, headerLines, markdown, type RoundResult, type RunReport, type ScenarioReport, scenarioTable, summarise } from './orchestrator/report.js';
import { FULL, QUICK, type Scenario, SCENARIOS, type Timing } from './scenarios.js';

const LABELS: Record<ServerImpl | ClientImpl, string> = {
  'grpc-js': '@grpc/grpc-js server',
  ours: 'GrpcServer (ours)',
  'ours-nest': 'GrpcTransport (ours, Nest)',
  'nest-builtin': 'Nest Transport.GRPC',
  'bare-http2': 'bare node:http2 + protobufjs (reference)',
  'grpc-js-client': '@grpc/grpc-js client',
  'ours-client': 'GrpcClient (ours)',
};
const CLIENT_IMPLS: ClientImpl[] = ['grpc-js-client', 'ours-client'];

const { values: options } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    only: { type: 'string' },
    impl: { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    bare: { type: 'boolean', default: false },
    out: { type: 'string' },
    loadgen: { type: 'string', default: 'frames' },
  },
});

function cpuModel(): string {
  try {
    return /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  } catch {
    return os.cpus()[0]?.model ?? 'unknown';
  }
}

function list(value: string | undefined): string[] | undefined {
  return value?.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
}

/** One measurement: a fresh server (the grpc-js server for client scenarios) and a fresh load process. */
async function measure(scenario: Scenario, impl: ServerImpl | ClientImpl, round: number, timing: Timing, pinning: Pinning, loadgen: LoadGenerator): Promise<RoundResult> {
  const client = scenario.kind === 'client' ? (impl as ClientImpl) : undefined;
  const load = spawnLoad(pinning, client !== undefined);
  let server;
  try {
    server = await startServer(client !== undefined ? 'grpc-js' : (impl as ServerImpl), pinning);
  } catch (error) {
    load.dispose();
    return { round, problem: `failed to start: ${error instanceof Error ? error.message : String(error)}` };
  }
  const job: LoadJob = { type: 'job', scenarioId: scenario.id, port: server.port, timing, client, loadgen };
  const timeoutMs = timing.warmupMs + timing.durationMs + 4 * timing.streamCallCapMs + 60_000;
  try {
    const { result, serverCpuPercent, serverWaitPercent } = await load.run(job, server.pid, timeoutMs);
    const peakRssBytes = client !== undefined ? result.clientPeakRssBytes : await server.peakRss();
    const crash = server.crash;
    if (crash !== undefined) return { round, problem: `crashed: ${crash.split('\n')[0]}`, result, startupMs: server.startupMs };
    if (result.broken !== undefined) return { round, problem: `wrong answer: ${result.broken}`, result, startupMs: server.startupMs };
    return { round, result, serverCpuPercent, serverWaitPercent, peakRssBytes, startupMs: server.startupMs };
  } catch (error) {
    const crash = server.crash;
    return { round, problem: crash !== undefined ? `crashed: ${crash.split('\n')[0]}` : `load generator error: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` };
  } finally {
    await server.stop();
  }
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

async function main(): Promise<void> {
  const began = performance.now();
  const base = options.quick ? QUICK : FULL;
  const timing: Timing = {
    ...base,
    rounds: options.rounds !== undefined ? Number(options.rounds) : base.rounds,
    durationMs: options.duration !== undefined ? Number(options.duration) : base.durationMs,
    warmupMs: options.warmup !== undefined ? Number(options.warmup) : base.warmupMs,
  };
  const only = list(options.only);
  const impls = list(options.impl);
  const unknown = [...(only ?? []).filter((id) => !SCENARIOS.some((s) => s.id === id)), ...(impls ?? []).filter((name) => !(name in LABELS))];
  if (unknown.length > 0) throw new Error(`Unknown scenario or implementation: ${unknown.join(', ')}. Scenarios: ${SCENARIOS.map((s) => s.id).join(', ')}; implementations: ${Object.keys(LABELS).join(', ')}`);
  const scenarios = SCENARIOS.filter((scenario) => only === undefined || only.includes(scenario.id));
  const pinning = detectPinning(options['no-pin']);
  const loadgen = options.loadgen;
  if (loadgen !== 'frames' && loadgen !== 'http2') throw new Error(`--loadgen must be frames or http2, not ${loadgen}`);
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpuModel(),
    cpus: os.availableParallelism(),
    os: `${os.type()} ${os.release()}`,
    loadAverageAtStart: os.loadavg(),
    mode: options.quick ? ('quick' as const) : ('full' as const),
    timing,
    pinning: pinning.note,
    loadgen: loadgen === 'frames' ? 'frame-level HTTP/2 client for the unary and client-streaming scenarios, node:http2 for the rest' : 'node:http2 for every scenario',
  };
  console.log(['nestjs-grpc-transport benchmark', ...headerLines(meta), ''].join('\n'));
  const reports: ScenarioReport[] = [];
  for (const scenario of scenarios) {
    const servers: ServerImpl[] = [...SERVER_IMPLS, ...REFERENCE_IMPLS.filter((impl) => options.bare || impls?.includes(impl))];
    const candidates: (ServerImpl | ClientImpl)[] = scenario.kind === 'client' ? CLIENT_IMPLS : servers;
    const chosen = candidates.filter((impl) => impls === undefined || impls.includes(impl));
    if (chosen.length === 0) continue;
    const rounds = new Map<string, RoundResult[]>(chosen.map((impl) => [impl, []]));
    for (let round = 0; round < timing.rounds; round++) {
      for (const impl of rotate(chosen, round)) {
        const measureStarted = performance.now();
        const result = await measure(scenario, impl, round, timing, pinning, loadgen);
        rounds.get(impl)!.push(result);
        const shown = result.problem ?? `${Math.round(result.result!.rate).toLocaleString('en-US')} ${scenario.unit}`;
        const took = ((performance.now() - measureStarted) / 1000).toFixed(1);
        process.stderr.write(`  ${scenario.id} round ${round + 1}/${timing.rounds} ${impl}: ${shown} (${took} s)\n`);
      }
    }
    const report: ScenarioReport = {
      id: scenario.id,
      title: scenario.title,
      measures: scenario.measures,
      unit: scenario.unit,
      rpc: scenario.rpc,
      connections: scenario.connections,
      streams: scenario.streams,
      reference: scenario.kind === 'client' ? 'grpc-js-client' : 'grpc-js',
      implementations: chosen.map((impl) => summarise(impl, LABELS[impl], rounds.get(impl)!)),
    };
    addRatios(report);
    for (const row of report.implementations) {
      const loadBusy = (row.loadCpuPercent ?? 0) + (row.loadWaitPercent ?? 0);
      if (scenario.kind !== 'client' && loadBusy >= 90) {
        row.notes.push(`the load generator was near saturation (${Math.round(row.loadCpuPercent!)}% CPU + ${Math.round(row.loadWaitPercent ?? 0)}% waiting for it): the server may be faster than this rate`);
      }
      const waits = [
        ['server', row.serverWaitPercent],
        [scenario.kind === 'client' ? 'client' : 'load generator', row.loadWaitPercent],
      ] as const;
      const noisy = waits.filter(([, wait]) => wait !== null && wait >= 10).map(([who, wait]) => `the ${who} ${Math.round(wait!)}%`);
      if (noisy.length > 0) row.notes.push(`noisy: other processes took the pinned CPU (waiting for it: ${noisy.join(', ')} of the window)`);
    }
    if (scenario.id === 'server-stream-1m') {
      const shorter = reports.find((other) => other.id === 'server-stream-100k');
      for (const row of report.implementations) {
        const base100k = shorter?.implementations.find((other) => other.impl === row.impl)?.rate ?? null;
        row.vs100k = base100k !== null && base100k > 0 && row.rate !== null ? row.rate / base100k : null;
      }
    }
    reports.push(report);
    console.log(`${scenarioTable(report)}\n`);
  }
  const run: RunReport = { ...meta, durationS: (performance.now() - began) / 1000, scenarios: reports };
  const filtered = only !== undefined || impls !== undefined;
  const out = path.resolve(options.out ?? (filtered ? path.join(REPO_ROOT, 'dist', 'bench-results.json') : path.join(REPO_ROOT, 'bench', 'results.json')));
  writeFileSync(out, `${JSON.stringify(run, null, 2)}\n`);
  writeFileSync(out.replace(/\.json$/, '.md'), markdown(run));
  console.log(`Run time ${run.durationS.toFixed(0)} s. Results written to ${path.relative(process.cwd(), out)} and ${path.relative(process.cwd(), out.replace(/\.json$/, '.md'))}.`);
}

await main();
