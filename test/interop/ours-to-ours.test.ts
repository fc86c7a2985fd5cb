import { CASE_NAMES } from '../../interop/case-support.js';
import { runCase } from '../../interop/cases.js';
import type { TestServer } from '../../interop/test-service.js';
import { ourCaseContext, startOurTestServer } from '../helpers/interop.js';

/** Every interop case with our GrpcClient against our TestService (a Nest app on GrpcTransport). */
describe.each([
  { name: 'plaintext', tls: false },
  { name: 'TLS, server name foo.test.example.com', tls: true },
])('interop: our client → our server ($name)', ({ tls }) => {
  let server: TestServer;
  let context: ReturnType<typeof ourCaseContext>;

  beforeAll(async () => {
    server = await startOurTestServer(tls);
    context = ourCaseContext(server.port, tls);
  });

  afterAll(async () => {
    context?.close();
    await server?.close();
  });

  it.each(CASE_NAMES)('%s', async (name) => {
    await runCase(name, context);
  });
});
