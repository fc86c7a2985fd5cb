/** The command line of nestjs-grpc-transport. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateTypes } from '../codegen/generate-types.js';
import { loadProtoRoot } from '../protocol/load-stub.js';

const USAGE = 'Usage: nestjs-grpc-transport generate <file.proto>... --out <dir> [--include <dir>]... [--import-from <module>]';

/**
 * Runs `generate <file.proto>... --out <dir> [--include <dir>]... [--import-from <module>]`,
 * which writes typed stubs for the given files (see generateTypes). Returns the exit code
 * (2 with the usage on bad arguments); prints each file it wrote. Unreadable protos throw.
 */
export function runCli(argv: string[]): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      include: { type: 'string', multiple: true },
      'import-from': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...protos] = positionals;
  if (values.help || command !== 'generate' || protos.length === 0 || values.out === undefined) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  const root = loadProtoRoot(protos, { includeDirs: values.include });
  const files = generateTypes(root, { sources: protos, importFrom: values['import-from'] });
  mkdirSync(values.out, { recursive: true });
  for (const file of files) {
    writeFileSync(path.join(values.out, file.path), file.content);
    console.log(`wrote ${path.join(values.out, file.path)}`);
  }
  return 0;
}

