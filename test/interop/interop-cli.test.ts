import { GrpcError, GrpcServer, type MessageStream, Status } from '../../lib/index.js';
import { CASE_NAMES, type CaseName } from '../../interop/case-support.js';
import { runCase } from '../../interop/cases.js';
import { main as clientMain } from '../../interop/client.js';
import {
  type SimpleRequest,
  type StreamingInputCallRequest,
  type StreamingOutputCallRequest,
  TestServiceStub,
  UnimplementedServiceStub,
} from '../../interop/generated/grpc.testing.js';
import { start as serverStart } from '../../interop/server.js';
import type { TestServer } from '../../interop/test-service.js';
import { grpcJsCaseContext, runGrpcJsCase } from '../helpers/grpc-js-interop-client.js';
import { ourCaseContext, TEST_CASE_OPTIONS } from '../helpers/interop.js';

/** Collects what a CLI prints. */
function recorder() {
  const lines: string[] = [];
  return { lines, output: { log: (line: string) => lines.push(line), error: (line: string) => lines.push(line) } };
}

const SOAK_FLAGS = ['--soak_iterations=2', '--soak_per_iteration_max_acceptable_latency_ms=5000', '--soak_overall_timeout_seconds=30'];

async function startCliServer(args: string[]): Promise<TestServer> {
  const { lines, output } = recorder();
  const result = await serverStart(['--port=0', '--host=127.0.0.1', ...args], output);
  if (typeof result === 'number') throw new Error(`The server CLI exited ${result}: ${lines.join('\n')}`);
  expect(lines).toEqual([`Server listening on port ${result.port}${args.includes('--use_tls') ? ' (TLS)' : ''}`]);
  return result;
}

describe.each([
  { name: 'plaintext', serverArgs: [], clientArgs: [] },
  {
    name: 'TLS with the default test certificate, the test CA and --server_host_override',
    serverArgs: ['--use_tls'],
    clientArgs: ['--use_tls', '--use_test_ca', '--server_host_override=foo.test.example.com'],
  },
])('interop CLIs ($name)', ({ serverArgs, clientArgs }) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startCliServer(serverArgs);
  });

  afterAll(async () => {
    await server?.close();
  });

  it('the client passes every case (--test_case=all) and exits 0', async () => {
    const { lines, output } = recorder();
    const code = await clientMain(['--server_host=127.0.0.1', `--server_port=${server.port}`, '--test_case=all', ...clientArgs, ...SOAK_FLAGS], output);
    expect(lines).toEqual(['PASSED all']);
    expect(code).toBe(0);
  });
});

describe('interop CLIs over TLS, refused', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startCliServer(['--use_tls']);
  });

  afterAll(async () => {
    await server?.close();
  });

  it('exits 1, with the reason, when the certificate does not name --server_host_override', async () => {
    const { lines, output } = recorder();
    const args = ['--server_host=127.0.0.1', `--server_port=${server.port}`, '--use_tls', '--use_test_ca', '--server_host_override=foo.example.org', '--test_case=empty_unary'];
    expect(await clientMain(args, output)).toBe(1);
    expect(lines.join('\n')).toMatch(/^FAILED empty_unary: unexpected GrpcError: UNAVAILABLE: .*foo\.example\.org/);
  });

  it('exits 1 when the test CA is not trusted (the system roots are)', async () => {
    const { lines, output } = recorder();
    const args = ['--server_host=127.0.0.1', `--server_port=${server.port}`, '--use_tls', '--server_host_override=foo.test.example.com', '--test_case=empty_unary'];
    expect(await clientMain(args, output)).toBe(1);
    expect(lines.join('\n')).toMatch(/^FAILED empty_unary: .*UNAVAILABLE/);
  });
});

describe('interop CLI command lines', () => {
  it.each([
    [['--server_port=1', '--test_case=nope'], /Unknown test case nope/],
    [['--server_port=1', '--no_such_flag=1'], /Unknown flag --no_such_flag/],
    [['--test_case=empty_unary'], /--server_port is required/],
    [['--server_port=x'], /--server_port takes a number/],
    [['--server_port=1', '--use_tls=maybe'], /--use_tls takes true or false/],
  ])('the client exits 2 for %j', async (args, message) => {
    const { lines, output } = recorder();
    expect(await clientMain(args, output)).toBe(2);
    expect(lines.join('\n')).toMatch(message);
  });

  it('the server exits 2 without --port, and the client prints its flags for --help', async () => {
    const server = recorder();
    expect(await serverStart([], server.output)).toBe(2);
    expect(server.lines.join('\n')).toMatch(/--port is required/);
    const client = recorder();
    expect(await clientMain(['--help'], client.output)).toBe(0);
    expect(client.lines.join('\n')).toMatch(/--soak_iterations: .*\(default 10\)/);
  });
});

/**
 * A TestService that gets every feature subtly wrong: each case must fail against it, which shows
 * the cases check what the descriptions require. cancel_after_begin and
 * timeout_on_sleeping_server are left out: their outcome is decided by the client alone.
 */
describe('interop cases against a TestService that breaks the descriptions', () => {
  const zeros = (size: number) => ({ type: 'COMPRESSABLE' as const, body: Buffer.alloc(Math.max(0, size)) });
  let server: GrpcServer;
  let port: number;

  beforeAll(async () => {
    server = new GrpcServer();
    server.addService(TestServiceStub, {
      EmptyCall: () => {
        throw new GrpcError(Status.INTERNAL, 'broken');
      },
      UnaryCall: (request: SimpleRequest) => ({ payload: zeros(request.response_size - 1) }),
      async StreamingInputCall(requests: MessageStream<StreamingInputCallRequest>) {
        let total = 1;
        for await (const request of requests) total += request.payload?.body.length ?? 0;
        return { aggregated_payload_size: total };
      },
      async *StreamingOutputCall(request: StreamingOutputCallRequest) {
        for (const param of request.response_parameters.slice(1)) yield { payload: zeros(param.size) };
      },
      async *FullDuplexCall(requests: MessageStream<StreamingOutputCallRequest>) {
        yield { payload: zeros(1) };
        for await (const request of requests) for (const param of request.response_parameters) yield { payload: zeros(param.size + 1) };
      },
      UnimplementedCall: () => ({}),
    });
    server.addService(UnimplementedServiceStub, { UnimplementedCall: () => ({}) });
    port = await server.listen('127.0.0.1:0');
  });

  afterAll(() => server?.forceShutdown());

  const failing = CASE_NAMES.filter((name): name is CaseName => name !== 'cancel_after_begin' && name !== 'timeout_on_sleeping_server');

  it.each(failing)('%s fails with our client', async (name) => {
    const context = ourCaseContext(port, false);
    try {
      await expect(runCase(name, context, 10_000)).rejects.toThrow(new RegExp(`^${name}: `));
    } finally {
      context.close();
    }
  });

  it.each(failing)('%s fails with a grpc-js client', async (name) => {
    const context = grpcJsCaseContext(port, false, TEST_CASE_OPTIONS);
    try {
      await expect(runGrpcJsCase(name, context, 10_000)).rejects.toThrow(new RegExp(`^${name}: `));
    } finally {
      context.close();
    }
  });

  it('the client CLI exits 1 naming the first failed case', async () => {
    const { lines, output } = recorder();
    expect(await clientMain(['--server_host=127.0.0.1', `--server_port=${port}`, '--test_case=all'], output)).toBe(1);
    expect(lines).toEqual([expect.stringMatching(/^FAILED empty_unary: unexpected GrpcError: INTERNAL: broken$/)]);
  });
});
