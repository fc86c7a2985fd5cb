/**
 * Test helpers for the interop suites: our TestService server and clients, plain or TLS with the
 * checked-in test certificates (test/fixtures/tls), and settings that keep the soak cases short.
 */
import { readFileSync } from 'node:fs';
import { type ClientCredentials, GrpcClient, type ServerCredentials } from '../../lib/index.js';
import { type CaseOptions, DEFAULT_CASE_OPTIONS, type SoakOptions } from '../../interop/case-support.js';
import type { CaseContext } from '../../interop/cases.js';
import { TestServiceStub, UnimplementedServiceStub } from '../../interop/generated/grpc.testing.js';
import { startTestServer, type TestServer } from '../../interop/test-service.js';
import { TEST_SERVER_NAME, testTlsFiles } from '../../interop/tls-files.js';

/** Soak settings for tests: few iterations, generous latency (other suites run in parallel on few cores). */
export const TEST_SOAK: SoakOptions = { iterations: 3, maxFailures: 0, perIterationMaxAcceptableLatencyMs: 5000, overallTimeoutSeconds: 30, minTimeMsBetweenRpcs: 0 };

/** Case options for tests: the defaults with TEST_SOAK. */
export const TEST_CASE_OPTIONS: CaseOptions = { ...DEFAULT_CASE_OPTIONS, soak: TEST_SOAK };

/** The test server certificate and key. */
export function testServerCredentials(): ServerCredentials {
  const files = testTlsFiles();
  return { cert: readFileSync(files.cert), key: readFileSync(files.key) };
}

/** Client TLS settings trusting only the test CA and naming the server foo.test.example.com. */
export function testClientCredentials(): ClientCredentials {
  return { ca: readFileSync(testTlsFiles().ca), serverNameOverride: TEST_SERVER_NAME };
}

/** Starts our TestService (the Nest app) on 127.0.0.1:0. */
export function startOurTestServer(tls: boolean): Promise<TestServer> {
  return startTestServer({ host: '127.0.0.1', port: 0, credentials: tls ? testServerCredentials() : undefined });
}

/** Our clients of TestService and UnimplementedService for `127.0.0.1:port`. */
export function ourCaseContext(port: number, tls: boolean, options: CaseOptions = TEST_CASE_OPTIONS): CaseContext & { close(): void } {
  const target = `127.0.0.1:${port}`;
  const credentials = tls ? testClientCredentials() : undefined;
  const newClient = () => new GrpcClient(target, TestServiceStub, { credentials });
  const client = newClient();
  const unimplemented = new GrpcClient(target, UnimplementedServiceStub, { credentials });
  return {
    client,
    unimplemented,
    newClient,
    options,
    close() {
      client.close();
      unimplemented.close();
    },
  };
}
