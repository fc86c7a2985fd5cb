#!/usr/bin/env node
/** The `nestjs-grpc-transport` executable: see runCli. */
import { runCli } from './run-cli.js';

try {
  process.exitCode = runCli(process.argv.slice(2));
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
}
