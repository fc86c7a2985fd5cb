/**
 * The interop server: serves grpc.testing.TestService (a Nest app on GrpcTransport) for any
 * gRPC implementation's interop client, until SIGINT or SIGTERM.
 *
 *   node dist/interop/server.js --port=10000
 *   node dist/interop/server.js --port=10000 --use_tls   # test/fixtures/tls/server.pem, *.test.example.com
 */
import { readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { ServerCredentials } from '../lib/core.js';
import { type FlagSpec, parseFlags, usage, UsageError } from './flags.js';
import { startTestServer, type TestServer } from './test-service.js';
import { testTlsFiles } from './tls-files.js';

const FLAGS = {
  port: { type: 'number', help: 'the port to listen on (required; 0 picks a free one, printed on start)' },
  host: { type: 'string', default: '0.0.0.0', help: 'the address to listen on' },
  use_tls: { type: 'boolean', default: false, help: 'serve TLS (with ALPN h2)' },
  tls_cert_file: { type: 'string', help: "the server certificate chain, PEM (default: this repository's test/fixtures/tls/server.pem)" },
  tls_key_file: { type: 'string', help: "the server key, PEM (default: this repository's test/fixtures/tls/server.key)" },
} satisfies Record<string, FlagSpec>;

/** Where the server reports (the console by default). */
export interface Output {
  log(line: string): void;
  error(line: string): void;
}

/**
 * Starts the server from command-line arguments `argv`. Resolves with the running server and
 * logs `Server listening on port <n>`; resolves with an exit code instead when the arguments
 * are bad (2) or the server cannot start (1).
 */
export async function start(argv: readonly string[], output: Output = console): Promise<TestServer | number> {
  let flags;
  try {
    flags = parseFlags(argv, FLAGS);
    if (flags.help) {
      output.log(usage('interop server', FLAGS));
      return 0;
    }
    if (flags.port === undefined) throw new UsageError('--port is required');
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    output.error(`${error.message}\n${usage('interop server', FLAGS)}`);
    return 2;
  }
  try {
    let credentials: ServerCredentials | undefined;
    if (flags.use_tls) {
      const defaults = flags.tls_cert_file === undefined || flags.tls_key_file === undefined ? testTlsFiles() : undefined;
      credentials = {
        cert: readFileSync(flags.tls_cert_file ?? (defaults as { cert: string }).cert),
        key: readFileSync(flags.tls_key_file ?? (defaults as { key: string }).key),
      };
    }
    const server = await startTestServer({ host: flags.host, port: flags.port, credentials });
    output.log(`Server listening on port ${server.port}${credentials ? ' (TLS)' : ''}`);
    return server;
  } catch (error) {
    output.error(`The server did not start: ${(error as Error)?.message ?? String(error)}`);
    return 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  start(process.argv.slice(2)).then((result) => {
    if (typeof result === 'number') {
      process.exitCode = result;
      return;
    }
    const stop = () => {
      result.close().then(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
