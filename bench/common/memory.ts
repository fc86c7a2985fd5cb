/** Reading a process's peak resident set size, CPU time and run-queue delay from /proc. */
import { readFileSync } from 'node:fs';

/** The `VmHWM` (peak RSS) of a process in bytes from /proc, or undefined where /proc is missing. */
export function peakRss(pid: number | 'self' = 'self'): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** The CPUs a process may run on (`Cpus_allowed_list` from /proc), or undefined. */
export function allowedCpus(pid: number | 'self' = 'self'): string | undefined {
  try {
    return /^Cpus_allowed_list:\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used, in ms, from /proc/<pid>/stat; undefined without /proc. */
export function cpuTimeMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces: fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
    return (ticks * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/**
 * Time a process's main thread spent runnable but waiting for a CPU (run-queue delay from
 * /proc/<pid>/schedstat), in ms; undefined without /proc. On a pinned process this is the time
 * other processes took from its CPU.
 */
export function runQueueWaitMs(pid: number | 'self' = 'self'): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(' ');
    return Number(fields[1]) / 1e6;
  } catch {
    return undefined;
  }
}

/** USER_HZ: 100 on every Linux platform Node runs on. */
const CLOCK_TICKS = 100;

/**
 * Tracks this process's peak RSS: VmHWM where /proc exists, otherwise the largest
 * `process.memoryUsage.rss()` sampled every 20 ms (the timer does not keep the process alive).
 */
export class PeakRssTracker {
  private sampled = process.memoryUsage.rss();
  private readonly timer: NodeJS.Timeout | undefined;

  constructor() {
    if (peakRss() === undefined) {
      this.timer = setInterval(() => this.sample(), 20);
      this.timer.unref();
    }
  }

  private sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.sampled) this.sampled = rss;
  }

  /** The peak so far and where it came from. */
  read(): { peakRssBytes: number; source: 'VmHWM' | 'sampled' } {
    const fromProc = peakRss();
    if (fromProc !== undefined) return { peakRssBytes: fromProc, source: 'VmHWM' };
    this.sample();
    return { peakRssBytes: this.sampled, source: 'sampled' };
  }
}
