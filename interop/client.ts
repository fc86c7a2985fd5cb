/**
 * The interop client: runs one case of gRPC's interop-test-descriptions.md (or `all`) with our
 * GrpcClient against any TestService server, and exits 0 only when it passed (1 with the reason
 * when it failed, 2 for a bad command line).
 *
 *   node dist/interop/client.js --server_host=localhost --server_port=10000 --test_case=large_unary
 *   node dist/interop/client.js --server_port=10000 --use_tls --use_test_ca \
 *     --server_host_override=foo.test.example.com --test_case=all
 */
import { readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { type ClientCredentials, GrpcClient } from '../lib/core.js';
import { CASE_NAMES, type CaseName, DEFAULT_SOAK, InteropFailure, isCaseName } from './case-support.js';
import { type CaseContext, runCase, type TestServiceClient } from './cases.js';
import { type FlagSpec, parseFlags, usage, UsageError } from './flags.js';
import { TestServiceStub, UnimplementedServiceStub } from './generated/grpc.testing.js';
import { testTlsFiles } from './tls-files.js';

const FLAGS = {
  server_host: { type: 'string', default: 'localhost', help: 'the server host to connect to' },
  server_port: { type: 'number', help: 'the server port (required)' },
  test_case: { type: 'string', default: 'large_unary', help: `the case to run: ${CASE_NAMES.join(', ')}, or all` },
  use_tls: { type: 'boolean', default: false, help: 'connect with TLS' },
  use_test_ca: { type: 'boolean', default: false, help: "trust only the test CA (--ca_file, or this repository's test/fixtures/tls/ca.pem) instead of the system roots" },
  ca_file: { type: 'string', help: 'PEM file of the CA certificates to trust (implies --use_test_ca)' },
  server_host_override: { type: 'string', help: 'the name to verify the server certificate against and send as :authority (TLS only)' },
  soak_iterations: { type: 'number', default: DEFAULT_SOAK.iterations, help: 'calls made by rpc_soak and channel_soak' },
  soak_max_failures: { type: 'number', default: DEFAULT_SOAK.maxFailures, help: 'failed soak iterations tolerated' },
  soak_per_iteration_max_acceptable_latency_ms: {
    type: 'number',
    default: DEFAULT_SOAK.perIterationMaxAcceptableLatencyMs,
    help: 'a soak iteration slower than this fails',
  },
  soak_overall_timeout_seconds: { type: 'number', default: DEFAULT_SOAK.overallTimeoutSeconds, help: 'time allowed for a whole soak case' },
  soak_min_time_ms_between_rpcs: { type: 'number', default: DEFAULT_SOAK.minTimeMsBetweenRpcs, help: 'least time between the starts of two soak iterations' },
  check_response_compression: {
    type: 'boolean',
    default: true,
    help: 'check the compressed flag of responses in server_compressed_* (turn off for servers without response compression, such as @grpc/grpc-js)',
  },
} satisfies Record<string, FlagSpec>;

/** Where diagnostics go (the console by default). */
export interface Output {
  log(line: string): void;
  error(line: string): void;
}

function credentialsFrom(flags: { use_tls: boolean; use_test_ca: boolean; ca_file?: string; server_host_override?: string }): ClientCredentials | undefined {
  if (!flags.use_tls) return undefined;
  const caFile = flags.ca_file ?? (flags.use_test_ca ? testTlsFiles().ca : undefined);
  return { ca: caFile === undefined ? undefined : readFileSync(caFile), serverNameOverride: flags.server_host_override };
}

/** Runs the client with command-line arguments `argv`; resolves with the exit code. */
export async function main(argv: readonly string[], output: Output = console): Promise<number> {
  let flags;
  try {
    flags = parseFlags(argv, FLAGS);
    if (flags.help) {
      output.log(usage('interop client', FLAGS));
      return 0;
    }
    if (flags.server_port === undefined) throw new UsageError('--server_port is required');
    if (flags.test_case !== 'all' && !isCaseName(flags.test_case)) throw new UsageError(`Unknown test case ${flags.test_case}`);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    output.error(`${error.message}\n${usage('interop client', FLAGS)}`);
    return 2;
  }
  const host = flags.server_host.includes(':') && !flags.server_host.startsWith('[') ? `[${flags.server_host}]` : flags.server_host;
  const target = `${host}:${flags.server_port}`;
  let credentials: ClientCredentials | undefined;
  try {
    credentials = credentialsFrom(flags);
  } catch (error) {
    output.error(`FAILED ${flags.test_case}: cannot read the CA file: ${(error as Error).message}`);
    return 1;
  }
  const opened: Array<{ close(): void }> = [];
  const open = <C extends { close(): void }>(client: C): C => {
    opened.push(client);
    return client;
  };
  const newClient = (): TestServiceClient => new GrpcClient(target, TestServiceStub, { credentials });
  const context: CaseContext = {
    client: open(newClient()),
    unimplemented: open(new GrpcClient(target, UnimplementedServiceStub, { credentials })),
    newClient,
    options: {
      checkResponseCompression: flags.check_response_compression,
      soak: {
        iterations: flags.soak_iterations,
        maxFailures: flags.soak_max_failures,
        perIterationMaxAcceptableLatencyMs: flags.soak_per_iteration_max_acceptable_latency_ms,
        overallTimeoutSeconds: flags.soak_overall_timeout_seconds,
        minTimeMsBetweenRpcs: flags.soak_min_time_ms_between_rpcs,
      },
    },
  };
  try {
    await runCase(flags.test_case as CaseName | 'all', context);
    output.log(`PASSED ${flags.test_case}`);
    return 0;
  } catch (error) {
    // runCase's failures start with the name of the case that failed.
    const reason = error instanceof InteropFailure ? error.message : `${flags.test_case}: unexpected error: ${(error as Error)?.stack ?? String(error)}`;
    output.error(`FAILED ${reason}`);
    return 1;
  } finally {
    for (const client of opened) client.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
    // Calls cut short by a failure may leave timers behind; they must not keep a finished run alive.
    setTimeout(() => process.exit(code), 1000).unref();
  });
}
