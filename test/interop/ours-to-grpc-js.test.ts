import { CASE_NAMES, type CaseName } from '../../interop/case-support.js';
import { runCase } from '../../interop/cases.js';
import { type GrpcJsTestServer, startGrpcJsTestServer } from '../helpers/grpc-js-test-service.js';
import { ourCaseContext, TEST_CASE_OPTIONS } from '../helpers/interop.js';

const NOT_COMPRESSED = '(compressed flags not checked: @grpc/grpc-js servers never compress responses)';

/** The test name: server_compressed_* say what this direction cannot check. */
function title(name: CaseName): string {
  return name.startsWith('server_compressed_') ? `${name} ${NOT_COMPRESSED}` : name;
}

/** Every interop case with our GrpcClient against the reference TestService on @grpc/grpc-js. */
describe.each([
  { name: 'plaintext', tls: false },
  { name: 'TLS, server name foo.test.example.com', tls: true },
])('interop: our client → @grpc/grpc-js server ($name)', ({ tls }) => {
  let server: GrpcJsTestServer;
  let context: ReturnType<typeof ourCaseContext>;

  beforeAll(async () => {
    server = await startGrpcJsTestServer(tls);
    context = ourCaseContext(server.port, tls, { ...TEST_CASE_OPTIONS, checkResponseCompression: false });
  });

  afterAll(() => {
    context?.close();
    server?.close();
  });

  it.each(CASE_NAMES.map((name) => ({ name, title: title(name) })))('$title', async ({ name }) => {
    await runCase(name, context);
  });
});
