/** Where the benchmark finds the repository's files, from its own location (bench/common or dist/bench/common). */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** The repository root: the nearest folder above this file that has protos/example.proto. */
export const REPO_ROOT = (() => {
  for (let folder = HERE; ; folder = path.dirname(folder)) {
    if (existsSync(path.join(folder, 'protos', 'example.proto'))) return folder;
    if (path.dirname(folder) === folder) throw new Error(`No protos/example.proto above ${HERE}`);
  }
})();

/** The seed's example proto, the service every benchmarked server implements. */
export const EXAMPLE_PROTO = path.join(REPO_ROOT, 'protos', 'example.proto');

/** The compiled entry point of a benchmark process, e.g. `compiled('servers/server-main.js')`. */
export function compiled(relative: string): string {
  return path.resolve(HERE, '..', relative);
}
