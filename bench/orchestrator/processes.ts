/**
 * Starting and driving the benchmark's child processes: a server per implementation and
 * measurement, and a load generator (or benchmarked client) per measurement.
 */
import type { ChildProcess } from 'node:child_process';
import { compiled } from '../common/paths.js';
import type { FromLoad, FromServer, LoadJob, LoadResult } from '../common/ipc.js';
import { cpuTimeMs, runQueueWaitMs } from '../common/memory.js';
import { forkOn, LOAD_CPU, type Pinning, SERVER_CPU } from './pinning.js';

/** The server implementations, in the order each round runs them. */
export const SERVER_IMPLS = ['grpc-js', 'ours', 'ours-nest', 'nest-builtin'] as const;
/** Run only when asked (`--bare`): bare node:http2 + protobufjs, the platform's headroom. */
export const REFERENCE_IMPLS = ['bare-http2'] as const;
/** A server implementation. */
export type ServerImpl = (typeof SERVER_IMPLS)[number] | (typeof REFERENCE_IMPLS)[number];

/** A running server process. */
export interface ServerProcess {
  port: number;
  pid: number;
  startupMs: number;
  /** The CPUs it may run on, as the kernel reports them (checks the pinning). */
  cpus: string | undefined;
  /** Set once the process reported a crash or exited early. */
  readonly crash: string | undefined;
  /** Its peak RSS in bytes so far. */
  peakRss(): Promise<number | undefined>;
  stop(): Promise<void>;
}

function onceMessage<T extends { type: string }>(child: ChildProcess, types: string[], timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (message: T) => {
      if (types.includes(message.type)) done(undefined, message);
    };
    const onExit = (code: number | null, signal: string | null) => done(new Error(`${what}: exited (${signal ?? `code ${code}`})`));
    const done = (error?: Error, message?: T) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error !== undefined) reject(error);
      else resolve(message!);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** Starts the server of `impl` in its own (pinned) process and waits until it listens. */
export async function startServer(impl: ServerImpl, pinning: Pinning): Promise<ServerProcess> {
  const child = forkOn(pinning, SERVER_CPU, compiled('servers/server-main.js'), [impl]);
  child.on('error', () => undefined);
  let crash: string | undefined;
  let exited = false;
  child.on('message', (message: FromServer) => {
    if (message.type === 'crash') crash = message.message;
  });
  child.on('exit', (code, signal) => {
    exited = true;
    crash ??= code === 0 ? undefined : `the server process exited (${signal ?? `code ${code}`})`;
  });
  let ready: Extract<FromServer, { type: 'ready' | 'crash' }>;
  try {
    ready = await onceMessage(child, ['ready', 'crash'], 30_000, `starting ${impl}`);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  if (ready.type === 'crash') throw new Error(`${impl} crashed while starting: ${ready.message}`);
  return {
    port: ready.port,
    pid: child.pid!,
    startupMs: ready.startupMs,
    cpus: ready.cpus,
    get crash() {
      return crash;
    },
    async peakRss() {
      if (exited) return undefined;
      child.send({ type: 'memory' });
      try {
        const reply = await onceMessage<Extract<FromServer, { type: 'memory' }>>(child, ['memory'], 5000, `memory of ${impl}`);
        return reply.peakRssBytes;
      } catch {
        return undefined;
      }
    },
    async stop() {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    },
  };
}

/** A measurement's result plus the server's CPU use during the measured part. */
export interface Measured {
  result: LoadResult;
  /** Server CPU time / measured wall time, in percent (100 = one core busy). */
  serverCpuPercent: number | undefined;
  /** Time the server's main thread waited for its CPU / measured wall time, in percent. */
  serverWaitPercent: number | undefined;
}

/** A load generator (or benchmarked client) process, started early so its start-up overlaps the server's. */
export interface LoadProcess {
  /** Runs one job; samples the server's CPU time when the measured part starts and ends. */
  run(job: LoadJob, serverPid: number | undefined, timeoutMs: number): Promise<Measured>;
  /** Kills the process if it is still there. */
  dispose(): void;
}

/** Forks a fresh load-generator process (`client`: a client-benchmark process) on the load CPU. */
export function spawnLoad(pinning: Pinning, client: boolean): LoadProcess {
  const child = forkOn(pinning, LOAD_CPU, compiled(client ? 'client/client-main.js' : 'load/loadgen-main.js'));
  const dispose = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  };
  return {
    async run(job, serverPid, timeoutMs) {
      let atStart: { cpu: number; wait: number | undefined; at: number } | undefined;
      let serverCpuPercent: number | undefined;
      let serverWaitPercent: number | undefined;
      child.on('message', (message: FromLoad) => {
        if (message.type !== 'phase' || serverPid === undefined) return;
        const cpu = cpuTimeMs(serverPid);
        const wait = runQueueWaitMs(serverPid);
        if (cpu === undefined) return;
        const at = performance.now();
        if (message.phase === 'measure') atStart = { cpu, wait, at };
        else if (atStart !== undefined) {
          serverCpuPercent = ((cpu - atStart.cpu) / (at - atStart.at)) * 100;
          if (wait !== undefined && atStart.wait !== undefined) serverWaitPercent = ((wait - atStart.wait) / (at - atStart.at)) * 100;
        }
      });
      child.send(job);
      try {
        const reply = await onceMessage<Extract<FromLoad, { type: 'result' | 'error' }>>(child, ['result', 'error'], timeoutMs, `load generator for ${job.scenarioId}`);
        if (reply.type === 'error') throw new Error(reply.message);
        return { result: reply.result, serverCpuPercent, serverWaitPercent };
      } finally {
        dispose();
      }
    },
    dispose,
  };
}
