/**
 * Memory and resource measurements for robustness tests: a forced garbage collection without
 * `--expose-gc` on the command line (jest cannot pass it easily), heap and RSS readings, and
 * the process's open handles.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

const MiB = 1024 * 1024;

let gcFunction: (() => void) | undefined;

/** Runs a full garbage collection (V8's `gc`, reached by enabling --expose-gc at run time). */
export function forceGc(): void {
  if (gcFunction === undefined) {
    v8.setFlagsFromString('--expose-gc');
    gcFunction = vm.runInNewContext('gc') as () => void;
  }
  gcFunction();
}

/** The heap in use after a full collection (twice, to also free what finalizers released), in MiB. */
export async function settledHeapMiB(): Promise<number> {
  for (let i = 0; i < 2; i++) {
    forceGc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed / MiB;
}

/** The resident set size now, in MiB. */
export function rssMiB(): number {
  return process.memoryUsage.rss() / MiB;
}

/** The process's active resources (handles and requests) by type, e.g. `{ TCPSocketWrap: 3, Timeout: 1 }`. */
export function activeResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of process.getActiveResourcesInfo()) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}
