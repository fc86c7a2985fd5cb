/**
 * CPU pinning of the benchmark's processes with `taskset` (util-linux): the server on CPU 0, the
 * load generator (or benchmarked client) on CPU 1. Where taskset is missing, refused, or the
 * machine has fewer than two CPUs, processes run unpinned and the report says so.
 */
import { type ChildProcess, fork, spawnSync } from 'node:child_process';
import os from 'node:os';

/** Whether pinning works here, and why not if it does not. */
export interface Pinning {
  enabled: boolean;
  note: string;
}

/** CPU of the server process. */
export const SERVER_CPU = 0;
/** CPU of the load generator and of the benchmarked client. */
export const LOAD_CPU = 1;

/** Finds out whether `taskset -c 0` and `-c 1` work; `disabled` (from --no-pin) skips pinning. */
export function detectPinning(disabled: boolean): Pinning {
  if (disabled) return { enabled: false, note: 'not pinned (--no-pin)' };
  const cpus = os.availableParallelism();
  if (cpus < 2) return { enabled: false, note: `not pinned: only ${cpus} CPU available, server and load generator share it` };
  for (const cpu of [SERVER_CPU, LOAD_CPU]) {
    const probe = spawnSync('taskset', ['-c', String(cpu), 'true'], { stdio: 'ignore' });
    if (probe.error !== undefined) return { enabled: false, note: 'not pinned: taskset (util-linux) is not installed' };
    if (probe.status !== 0) return { enabled: false, note: `not pinned: taskset -c ${cpu} failed (exit ${probe.status}), CPU ${cpu} is not available to this process` };
  }
  return { enabled: true, note: `server pinned to CPU ${SERVER_CPU}, load generator / client to CPU ${LOAD_CPU} (taskset)` };
}

/**
 * Forks a Node module with an IPC channel (advanced serialization), under `taskset -c <cpu>` when
 * pinning is enabled: taskset execs node, so the child keeps its pid and the IPC channel.
 */
export function forkOn(pinning: Pinning, cpu: number, modulePath: string, args: string[] = []): ChildProcess {
  const base = { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] as const, serialization: 'advanced' as const };
  if (!pinning.enabled) return fork(modulePath, args, { ...base, stdio: [...base.stdio] });
  return fork(modulePath, args, { ...base, stdio: [...base.stdio], execPath: 'taskset', execArgv: ['-c', String(cpu), process.execPath] });
}
