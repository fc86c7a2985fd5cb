import { CASE_NAMES, type CaseName } from '../../interop/case-support.js';
import type { TestServer } from '../../interop/test-service.js';
import { grpcJsCaseContext, runGrpcJsCase } from '../helpers/grpc-js-interop-client.js';
import { startOurTestServer, TEST_CASE_OPTIONS } from '../helpers/interop.js';

const NOT_VISIBLE = '(compressed flags not visible to a grpc-js client; checked on the wire in test-service-wire.test)';

function title(name: CaseName): string {
  return name.startsWith('server_compressed_') ? `${name} ${NOT_VISIBLE}` : name;
}

/** Every interop case with a @grpc/grpc-js client against our TestService (a Nest app on GrpcTransport). */
describe.each([
  { name: 'plaintext', tls: false },
  { name: 'TLS, server name foo.test.example.com', tls: true },
])('interop: @grpc/grpc-js client → our server ($name)', ({ tls }) => {
  let server: TestServer;
  let context: ReturnType<typeof grpcJsCaseContext>;

  beforeAll(async () => {
    server = await startOurTestServer(tls);
    context = grpcJsCaseContext(server.port, tls, TEST_CASE_OPTIONS);
  });

  afterAll(async () => {
    context?.close();
    await server?.close();
  });

  it.each(CASE_NAMES.map((name) => ({ name, title: title(name) })))('$title', async ({ name }) => {
    await runGrpcJsCase(name, context);
  });
});
