/**
 * A benchmarked server in its own process: `node server-main.js <implementation>`. It starts
 * the implementation, reports `ready` with the port over IPC, answers `memory` with its peak
 * RSS and exits on `stop`. An uncaught error is reported as `crash` before exiting.
 */
import { performance } from 'node:perf_hooks';
import type { FromServer, ToServer } from '../common/ipc.js';
import { allowedCpus, PeakRssTracker } from '../common/memory.js';

const IMPLEMENTATIONS = ['ours', 'ours-nest', 'grpc-js', 'nest-builtin', 'bare-http2'] as const;

function send(message: FromServer): void {
  process.send?.(message);
}

function crash(error: unknown): void {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`[server ${process.argv[2]}] crash: ${message}\n`);
  send({ type: 'crash', message });
  setTimeout(() => process.exit(70), 100);
}

process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);
process.on('disconnect', () => process.exit(0));

const name = process.argv[2] as (typeof IMPLEMENTATIONS)[number];
if (!IMPLEMENTATIONS.includes(name)) throw new Error(`Unknown server implementation ${name}`);
const tracker = new PeakRssTracker();
const began = performance.now();
const implementation = (await import(`./${name}.js`)) as { start(): Promise<{ port: number }> };
const { port } = await implementation.start();
process.on('message', (message: ToServer) => {
  if (message.type === 'memory') send({ type: 'memory', ...tracker.read() });
  else if (message.type === 'stop') process.exit(0);
});
send({ type: 'ready', port, startupMs: performance.now() - began, cpus: allowedCpus() });
