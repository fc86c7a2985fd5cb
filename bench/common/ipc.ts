/** The messages the benchmark's processes exchange over their IPC channels. */
import type { Timing } from '../scenarios.js';

/** Parent → server process. */
export type ToServer = { type: 'memory' } | { type: 'stop' };

/** Server process → parent. */
export type FromServer =
  | { type: 'ready'; port: number; startupMs: number; cpus: string | undefined }
  | { type: 'memory'; peakRssBytes: number; source: 'VmHWM' | 'sampled' }
  | { type: 'crash'; message: string };

/** Parent → load generator or client process: run one scenario against a port. */
export interface LoadJob {
  type: 'job';
  scenarioId: string;
  port: number;
  timing: Timing;
  /** For the client benchmark: which client to drive. */
  client?: ClientImpl;
  /** Which load generator makes window-scenario calls (default 'frames' where it can). */
  loadgen?: LoadGenerator;
}

/**
 * The load generator of window scenarios: the frame-level client over net.Socket ('frames')
 * or node:http2 ('http2'). The other scenarios always use node:http2.
 */
export type LoadGenerator = 'http2' | 'frames';

/** The clients of the client benchmark. */
export type ClientImpl = 'grpc-js-client' | 'ours-client';

/** Latency summary in milliseconds. */
export interface Latency {
  p50: number;
  p99: number;
  mean: number;
  max: number;
  samples: number;
}

/** What one measurement found. */
export interface LoadResult {
  /** Set when the answer check failed: the implementation was not measured. */
  broken?: string;
  /** Completed calls (window, client), round trips (ping-pong) or calls (server streaming) measured. */
  completed: number;
  /** Calls that ended with a non-OK status or no status, by status. */
  failures: Record<string, number>;
  /** Messages (or requests) counted in the rate's unit. */
  units: number;
  elapsedMs: number;
  /** units / s. */
  rate: number;
  latency: Latency;
  /** CPU time of the load generator (or client process) / elapsed, in percent. */
  loadCpuPercent: number;
  /** Time its main thread waited for its CPU / elapsed, in percent (other processes on its CPU). */
  loadWaitPercent?: number;
  /** The client process's own peak RSS (client benchmark). */
  clientPeakRssBytes?: number;
  /** Which load generator made the calls (window scenarios). */
  loadgen?: LoadGenerator;
  /** Things worth reporting (response compression, incomplete streams). */
  notes: string[];
}

/** Load generator → parent. */
export type FromLoad = { type: 'phase'; phase: 'measure' | 'done' } | { type: 'result'; result: LoadResult } | { type: 'error'; message: string };
