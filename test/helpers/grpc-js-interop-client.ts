/**
 * The interop client cases (interop/cases.ts) run with a @grpc/grpc-js client instead of ours,
 * with the same requests and checks (interop/case-support.ts), so our server is tested by the
 * reference client. grpc-js cannot show the compressed flag of a response, so the
 * server_compressed_* cases check sizes only; it compresses requests per channel
 * (`grpc.default_compression_algorithm`) and skips single messages written with the NoCompress
 * flag.
 */
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import {
  CASE_NAMES,
  type CaseName,
  type CaseOptions,
  check,
  checkEqual,
  checkStatus,
  checkZeros,
  CODE,
  COMPRESSED_STREAMING_REQUEST_SIZES,
  COMPRESSED_STREAMING_RESPONSES,
  ECHO_INITIAL_KEY,
  ECHO_INITIAL_VALUE,
  ECHO_STATUS,
  ECHO_TRAILING_KEY,
  ECHO_TRAILING_VALUE,
  InteropFailure,
  LARGE_REQUEST_SIZE,
  LARGE_RESPONSE_SIZE,
  soak,
  SPECIAL_STATUS,
  STREAMING_REQUEST_SIZES,
  STREAMING_RESPONSE_SIZES,
  withTimeout,
  zeros,
} from '../../interop/case-support.js';
import { TEST_SERVER_NAME, testTlsFiles } from '../../interop/tls-files.js';
import { collect, reader, unary } from './grpc-js-calls.js';
import { grpcTestingPackage } from './grpc-js-test-service.js';

/** A grpc-js client of TestService or UnimplementedService, with its generated methods. */
export type GrpcJsClient = grpc.Client & Record<string, any>;

/** What a grpc-js case runs with. */
export interface GrpcJsCaseContext {
  client: GrpcJsClient;
  unimplemented: GrpcJsClient;
  /** A TestService client on a new channel with extra channel options; the case closes it. */
  newClient(options?: grpc.ChannelOptions): GrpcJsClient;
  options: CaseOptions;
}

/** grpc-js's per-message flag that sends one message uncompressed on a compressing channel. */
const NO_COMPRESS = 2;
/** grpc-js's channel option value for gzip. */
const GZIP = 2;

const largeRequest = { response_size: LARGE_RESPONSE_SIZE, payload: { body: zeros(LARGE_REQUEST_SIZE) } };

async function largeUnary(client: GrpcJsClient): Promise<void> {
  const { response, status } = await unary(client, 'UnaryCall', largeRequest);
  checkStatus(status, CODE.OK, 'UnaryCall');
  checkEqual(response.payload?.type, 'COMPRESSABLE', 'payload type');
  checkZeros(response.payload?.body, LARGE_RESPONSE_SIZE, 'response');
}

function checkEcho(headers: grpc.Metadata, trailers: grpc.Metadata, what: string): void {
  const initial = headers.get(ECHO_INITIAL_KEY);
  check(initial.length === 1 && initial[0] === ECHO_INITIAL_VALUE, `${what}: initial metadata ${ECHO_INITIAL_KEY} was ${JSON.stringify(initial)}`);
  const trailing = trailers.get(ECHO_TRAILING_KEY);
  check(
    trailing.length === 1 && Buffer.isBuffer(trailing[0]) && trailing[0].equals(ECHO_TRAILING_VALUE),
    `${what}: trailing metadata ${ECHO_TRAILING_KEY} was ${JSON.stringify(trailing)}`,
  );
}

/** Runs `body` with a new client, closing it afterwards. */
async function withClient<T>(context: GrpcJsCaseContext, options: grpc.ChannelOptions, body: (client: GrpcJsClient) => Promise<T>): Promise<T> {
  const client = context.newClient(options);
  try {
    return await body(client);
  } finally {
    client.close();
  }
}

/** The cases, by name, for a grpc-js client. */
export const grpcJsCases: Record<CaseName, (context: GrpcJsCaseContext) => Promise<void>> = {
  async empty_unary({ client }) {
    const { response, status } = await unary(client, 'EmptyCall', {});
    checkStatus(status, CODE.OK, 'EmptyCall');
    check(response !== null && typeof response === 'object', 'EmptyCall returned no message');
  },

  async large_unary({ client }) {
    await largeUnary(client);
  },

  async client_compressed_unary(context) {
    const probe = await unary(context.client, 'UnaryCall', { ...largeRequest, expect_compressed: { value: true } });
    checkStatus(probe.status, CODE.INVALID_ARGUMENT, 'uncompressed probe with expect_compressed');
    const compressed = await withClient(context, { 'grpc.default_compression_algorithm': GZIP }, (gzip) =>
      unary(gzip, 'UnaryCall', { ...largeRequest, expect_compressed: { value: true } }),
    );
    checkStatus(compressed.status, CODE.OK, 'compressed call');
    checkZeros(compressed.response.payload?.body, LARGE_RESPONSE_SIZE, 'compressed call');
    const plain = await unary(context.client, 'UnaryCall', { ...largeRequest, expect_compressed: { value: false } });
    checkStatus(plain.status, CODE.OK, 'uncompressed call');
    checkZeros(plain.response.payload?.body, LARGE_RESPONSE_SIZE, 'uncompressed call');
  },

  async server_compressed_unary({ client }) {
    for (const compressed of [true, false]) {
      const { response, status } = await unary(client, 'UnaryCall', { ...largeRequest, response_compressed: { value: compressed } });
      checkStatus(status, CODE.OK, `response_compressed ${compressed}`);
      checkZeros(response.payload?.body, LARGE_RESPONSE_SIZE, `response_compressed ${compressed}`);
    }
  },

  async client_streaming({ client }) {
    const { response, status } = await unary(client, 'StreamingInputCall', undefined, {
      write: (call) => {
        for (const size of STREAMING_REQUEST_SIZES) call.write({ payload: { body: zeros(size) } });
        call.end();
      },
    });
    checkStatus(status, CODE.OK, 'StreamingInputCall');
    checkEqual(response.aggregated_payload_size, 74922, 'aggregated_payload_size');
  },

  async client_compressed_streaming(context) {
    const [first, second] = COMPRESSED_STREAMING_REQUEST_SIZES;
    const probe = await unary(context.client, 'StreamingInputCall', undefined, {
      write: (call) => {
        call.write({ expect_compressed: { value: true }, payload: { body: zeros(first) } });
        call.end();
      },
    });
    checkStatus(probe.status, CODE.INVALID_ARGUMENT, 'uncompressed probe with expect_compressed');
    const { response, status } = await withClient(context, { 'grpc.default_compression_algorithm': GZIP }, (gzip) =>
      unary(gzip, 'StreamingInputCall', undefined, {
        write: (call) => {
          call.write({ expect_compressed: { value: true }, payload: { body: zeros(first) } });
          call.write({ expect_compressed: { value: false }, payload: { body: zeros(second) } }, NO_COMPRESS as unknown as BufferEncoding);
          call.end();
        },
      }),
    );
    checkStatus(status, CODE.OK, 'compressed StreamingInputCall');
    checkEqual(response.aggregated_payload_size, 73086, 'aggregated_payload_size');
  },

  async server_streaming({ client }) {
    const { messages, status } = await collect(client.StreamingOutputCall({ response_parameters: STREAMING_RESPONSE_SIZES.map((size) => ({ size })) }));
    checkStatus(status, CODE.OK, 'StreamingOutputCall');
    checkEqual(messages.length, STREAMING_RESPONSE_SIZES.length, 'number of responses');
    messages.forEach((message, i) => checkZeros(message.payload?.body, STREAMING_RESPONSE_SIZES[i], `response ${i}`));
  },

  async server_compressed_streaming({ client }) {
    const parameters = COMPRESSED_STREAMING_RESPONSES.map(({ size, compressed }) => ({ size, compressed: { value: compressed } }));
    const { messages, status } = await collect(client.StreamingOutputCall({ response_parameters: parameters }));
    checkStatus(status, CODE.OK, 'StreamingOutputCall');
    checkEqual(messages.length, COMPRESSED_STREAMING_RESPONSES.length, 'number of responses');
    messages.forEach((message, i) => checkZeros(message.payload?.body, COMPRESSED_STREAMING_RESPONSES[i].size, `response ${i}`));
  },

  async ping_pong({ client }) {
    const call: grpc.ClientDuplexStream<any, any> = client.FullDuplexCall();
    const responses = reader(call);
    for (let i = 0; i < STREAMING_RESPONSE_SIZES.length; i++) {
      call.write({ response_parameters: [{ size: STREAMING_RESPONSE_SIZES[i] }], payload: { body: zeros(STREAMING_REQUEST_SIZES[i]) } });
      const response = await responses.next();
      check(response !== undefined, `the stream ended after ${i} responses`);
      checkZeros(response.payload?.body, STREAMING_RESPONSE_SIZES[i], `response ${i}`);
    }
    call.end();
    check((await responses.next()) === undefined, 'the server sent more than four responses');
    checkStatus(await responses.status, CODE.OK, 'FullDuplexCall');
  },

  async empty_stream({ client }) {
    const call: grpc.ClientDuplexStream<any, any> = client.FullDuplexCall();
    const outcome = collect(call);
    call.end();
    const { messages, status } = await outcome;
    checkStatus(status, CODE.OK, 'FullDuplexCall');
    checkEqual(messages.length, 0, 'number of responses');
  },

  async custom_metadata({ client }) {
    const metadata = () => {
      const md = new grpc.Metadata();
      md.set(ECHO_INITIAL_KEY, ECHO_INITIAL_VALUE);
      md.set(ECHO_TRAILING_KEY, ECHO_TRAILING_VALUE);
      return md;
    };
    const unaryOutcome = await unary(client, 'UnaryCall', largeRequest, { metadata: metadata() });
    checkStatus(unaryOutcome.status, CODE.OK, 'UnaryCall');
    checkZeros(unaryOutcome.response.payload?.body, LARGE_RESPONSE_SIZE, 'UnaryCall response');
    checkEcho(unaryOutcome.headers, unaryOutcome.trailers, 'UnaryCall');

    const call: grpc.ClientDuplexStream<any, any> = client.FullDuplexCall(metadata());
    const outcome = collect(call);
    call.write({ response_parameters: [{ size: LARGE_RESPONSE_SIZE }], payload: { body: zeros(LARGE_REQUEST_SIZE) } });
    call.end();
    const { messages, status, headers, trailers } = await outcome;
    checkStatus(status, CODE.OK, 'FullDuplexCall');
    checkEqual(messages.length, 1, 'number of FullDuplexCall responses');
    checkZeros(messages[0].payload?.body, LARGE_RESPONSE_SIZE, 'FullDuplexCall response');
    checkEcho(headers, trailers, 'FullDuplexCall');
  },

  async status_code_and_message({ client }) {
    const { status } = await unary(client, 'UnaryCall', { response_status: ECHO_STATUS });
    checkStatus(status, ECHO_STATUS.code, 'UnaryCall', ECHO_STATUS.message);
    const call: grpc.ClientDuplexStream<any, any> = client.FullDuplexCall();
    const outcome = collect(call);
    call.write({ response_status: ECHO_STATUS });
    call.end();
    checkStatus((await outcome).status, ECHO_STATUS.code, 'FullDuplexCall', ECHO_STATUS.message);
  },

  async special_status_message({ client }) {
    const { status } = await unary(client, 'UnaryCall', { response_status: SPECIAL_STATUS });
    checkStatus(status, SPECIAL_STATUS.code, 'UnaryCall', SPECIAL_STATUS.message);
  },

  async unimplemented_method({ client }) {
    checkStatus((await unary(client, 'UnimplementedCall', {})).status, CODE.UNIMPLEMENTED, 'TestService/UnimplementedCall');
  },

  async unimplemented_service({ unimplemented }) {
    checkStatus((await unary(unimplemented, 'UnimplementedCall', {})).status, CODE.UNIMPLEMENTED, 'UnimplementedService/UnimplementedCall');
  },

  async cancel_after_begin({ client }) {
    const outcome = unary(client, 'StreamingInputCall', undefined, { write: (call) => call.cancel() });
    checkStatus((await outcome).status, CODE.CANCELLED, 'StreamingInputCall');
  },

  async cancel_after_first_response({ client }) {
    const call: grpc.ClientDuplexStream<any, any> = client.FullDuplexCall();
    const responses = reader(call);
    call.write({ response_parameters: [{ size: 31415 }], payload: { body: zeros(27182) } });
    const first = await responses.next();
    check(first !== undefined, 'the stream ended before the first response');
    checkZeros(first.payload?.body, 31415, 'first response');
    call.cancel();
    checkStatus(await responses.status, CODE.CANCELLED, 'FullDuplexCall');
  },

  async timeout_on_sleeping_server({ client }) {
    const call: grpc.ClientDuplexStream<any, any> = client.FullDuplexCall({ deadline: Date.now() + 1 });
    const outcome = collect(call);
    call.write({ payload: { body: zeros(27182) } });
    checkStatus((await outcome).status, CODE.DEADLINE_EXCEEDED, 'FullDuplexCall with a 1 ms timeout');
  },

  async rpc_soak({ client, options }) {
    await soak(options.soak, () => largeUnary(client));
  },

  async channel_soak(context) {
    await soak(context.options.soak, () => withClient(context, {}, largeUnary));
  },
};

/** Runs one case, or all, with a grpc-js client; throws InteropFailure naming the case that failed. */
export async function runGrpcJsCase(name: CaseName | 'all', context: GrpcJsCaseContext, timeoutMs = 60_000): Promise<void> {
  for (const each of name === 'all' ? CASE_NAMES : [name]) {
    try {
      await withTimeout(grpcJsCases[each](context), timeoutMs, each);
    } catch (error) {
      throw new InteropFailure(`${each}: ${(error as Error)?.message ?? String(error)}`);
    }
  }
}

/** grpc-js clients of TestService and UnimplementedService for `127.0.0.1:port`, over TLS with the test CA and name when `tls`. */
export function grpcJsCaseContext(port: number, tls: boolean, options: CaseOptions): GrpcJsCaseContext & { close(): void } {
  const { TestService, UnimplementedService } = grpcTestingPackage();
  const credentials = tls ? grpc.credentials.createSsl(readFileSync(testTlsFiles().ca)) : grpc.credentials.createInsecure();
  const base: grpc.ChannelOptions = {
    'grpc.use_local_subchannel_pool': 1,
    ...(tls ? { 'grpc.ssl_target_name_override': TEST_SERVER_NAME, 'grpc.default_authority': TEST_SERVER_NAME } : {}),
  };
  const target = `127.0.0.1:${port}`;
  const newClient = (extra: grpc.ChannelOptions = {}) => new TestService(target, credentials, { ...base, ...extra }) as GrpcJsClient;
  const client = newClient();
  const unimplemented = new UnimplementedService(target, credentials, base) as GrpcJsClient;
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
