/**
 * Summarising rounds into one row per implementation, the tables printed and written to
 * bench/results.md, and the shape of bench/results.json.
 */
import type { LoadResult } from '../common/ipc.js';
import type { Scenario, Timing } from '../scenarios.js';

/** One measurement of one implementation in one round. */
export interface RoundResult {
  round: number;
  /** Why there is no measurement: a wrong answer, a crash, a failed start. */
  problem?: string;
  result?: LoadResult;
  serverCpuPercent?: number;
  serverWaitPercent?: number;
  /** Peak RSS of the server (the client process in the client benchmark), bytes. */
  peakRssBytes?: number;
  startupMs?: number;
}

/** The reported row of one implementation: medians over its rounds. */
export interface ImplSummary {
  impl: string;
  label: string;
  status: 'ok' | 'broken' | 'crashed' | 'errors';
  rate: number | null;
  /** rate / the reference implementation's rate in the same run. */
  ratio: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  peakRssMiB: number | null;
  serverCpuPercent: number | null;
  loadCpuPercent: number | null;
  /** How long the server's / load generator's main thread waited for its CPU, in percent of the window: other processes' interference. */
  serverWaitPercent: number | null;
  loadWaitPercent: number | null;
  /** Server streaming 1M only: this rate / the same implementation's 100k rate (1.0 = constant per-message cost). */
  vs100k?: number | null;
  failedCalls: number;
  notes: string[];
  rounds: RoundResult[];
}

/** One scenario's results. */
export interface ScenarioReport {
  id: string;
  title: string;
  measures: string;
  unit: string;
  rpc: string;
  connections: number;
  streams: number;
  reference: string;
  implementations: ImplSummary[];
}

/** The whole run, as written to results.json. */
export interface RunReport {
  date: string;
  node: string;
  cpu: string;
  cpus: number;
  os: string;
  loadAverageAtStart: number[];
  mode: 'quick' | 'full';
  timing: Timing;
  pinning: string;
  /** Which load generator drove which scenarios (`--loadgen`). */
  loadgen: string;
  durationS: number;
  scenarios: ScenarioReport[];
}

function median(values: number[]): number | null {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The row of one implementation from its rounds; `ratio` is filled in by `addRatios`. */
export function summarise(impl: string, label: string, rounds: RoundResult[]): ImplSummary {
  const measured = rounds.filter((round) => round.result !== undefined && round.problem === undefined);
  const notes = new Set<string>();
  let failedCalls = 0;
  for (const round of rounds) {
    if (round.problem !== undefined) notes.add(round.problem);
    for (const note of round.result?.notes ?? []) notes.add(note);
    for (const count of Object.values(round.result?.failures ?? {})) failedCalls += count;
    const failures = Object.entries(round.result?.failures ?? {});
    if (failures.length > 0) notes.add(`failed calls by grpc-status: ${failures.map(([status, count]) => `${status}×${count}`).join(', ')}`);
  }
  const broken = rounds.some((round) => round.problem?.startsWith('wrong answer') === true);
  const crashed = rounds.some((round) => round.problem !== undefined && !round.problem.startsWith('wrong answer'));
  return {
    impl,
    label,
    status: broken ? 'broken' : crashed ? 'crashed' : failedCalls > 0 ? 'errors' : 'ok',
    rate: median(measured.map((round) => round.result!.rate)),
    ratio: null,
    p50Ms: median(measured.map((round) => round.result!.latency.p50)),
    p99Ms: median(measured.map((round) => round.result!.latency.p99)),
    peakRssMiB: median(rounds.map((round) => (round.peakRssBytes ?? NaN) / 1048576)),
    serverCpuPercent: median(measured.map((round) => round.serverCpuPercent ?? NaN)),
    loadCpuPercent: median(measured.map((round) => round.result!.loadCpuPercent)),
    serverWaitPercent: median(measured.map((round) => round.serverWaitPercent ?? NaN)),
    loadWaitPercent: median(measured.map((round) => round.result!.loadWaitPercent ?? NaN)),
    failedCalls,
    notes: [...notes],
    rounds,
  };
}

/** Fills in each row's ratio to the reference implementation's rate. */
export function addRatios(report: ScenarioReport): void {
  const reference = report.implementations.find((row) => row.impl === report.reference)?.rate ?? null;
  for (const row of report.implementations) row.ratio = reference !== null && reference > 0 && row.rate !== null ? row.rate / reference : null;
}

function number(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function latency(ms: number | null): string {
  if (ms === null) return '–';
  return number(ms, ms < 10 ? 2 : ms < 100 ? 1 : 0);
}

/** One scenario as a Markdown table with its notes underneath. */
export function scenarioTable(report: ScenarioReport): string {
  const isClient = report.reference === 'grpc-js-client';
  const hasScaling = report.implementations.some((row) => row.vs100k !== undefined);
  const header = ['implementation', report.unit, `vs ${isClient ? 'grpc-js client' : 'grpc-js'}`, 'p50 ms', 'p99 ms', isClient ? 'client peak RSS MiB' : 'peak RSS MiB', 'server CPU', isClient ? 'client CPU' : 'load CPU'];
  if (hasScaling) header.splice(3, 0, 'rate vs 100k');
  const rows = report.implementations.map((row) => {
    const cells = [
      row.status === 'ok' ? row.label : `${row.label} (${row.status})`,
      number(row.rate),
      row.ratio === null ? '–' : `${number(row.ratio, 2)}×`,
      latency(row.p50Ms),
      latency(row.p99Ms),
      number(row.peakRssMiB),
      row.serverCpuPercent === null ? '–' : `${number(row.serverCpuPercent)}%`,
      row.loadCpuPercent === null ? '–' : `${number(row.loadCpuPercent)}%`,
    ];
    if (hasScaling) cells.splice(3, 0, row.vs100k === null || row.vs100k === undefined ? '–' : `${number(row.vs100k, 2)}×`);
    return cells;
  });
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((cells) => cells[column].length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join(' | ')} |`;
  const rule = `|${widths.map((width, column) => (column === 0 ? `${'-'.repeat(width + 1)}-` : ` ${'-'.repeat(width - 1)}:`.padEnd(width + 2))).join('|')}|`;
  const notes = report.implementations.flatMap((row) => row.notes.map((note) => `- ${row.label}: ${note}`));
  const shape = isClient ? `${report.streams} calls in flight` : `${report.connections} connection${report.connections > 1 ? 's' : ''} × ${report.streams} stream${report.streams > 1 ? 's' : ''}`;
  return [`### ${report.title} (\`${report.id}\`)`, '', `${report.measures}. RPC ${report.rpc}, ${shape}.`, '', line(header), rule, ...rows.map(line), ...(notes.length > 0 ? ['', ...notes] : [])].join('\n');
}

/** The header lines of the report. */
export function headerLines(report: Omit<RunReport, 'scenarios' | 'durationS'>): string[] {
  return [
    `Date: ${report.date}`,
    `Node: ${report.node} on ${report.os}`,
    `CPU: ${report.cpu} (${report.cpus} CPUs); load average at start ${report.loadAverageAtStart.map((load) => load.toFixed(2)).join(' ')}`,
    `Pinning: ${report.pinning}`,
    `Load generator: ${report.loadgen}`,
    `Mode: ${report.mode} (warm-up ${report.timing.warmupMs} ms, measure ${report.timing.durationMs} ms, ${report.timing.rounds} interleaved round${report.timing.rounds > 1 ? 's' : ''}, medians reported; long streams cut at ${report.timing.streamCallCapMs / 1000} s)`,
  ];
}

/** The whole report as Markdown (results.md). */
export function markdown(report: RunReport): string {
  const lines = ['# Benchmark results', '', ...headerLines(report).map((line) => `${line}  `), `Run time: ${report.durationS.toFixed(0)} s`, ''];
  lines.push(
    'Rates are medians over the rounds; "vs grpc-js" is the ratio to @grpc/grpc-js in the same run. Server CPU is the server',
    "process's CPU time over the measured window (100% = its one core busy); load CPU the same for the load generator: near 100%",
    'the load generator, not the server, was the limit. Peak RSS is VmHWM of a fresh process per measurement. A note flags a',
    'measurement where a pinned process waited for its CPU (other processes running there): its numbers are depressed.',
    '',
  );
  for (const scenario of report.scenarios) lines.push(scenarioTable(scenario), '');
  return lines.join('\n');
}
