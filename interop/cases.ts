/**
 * The interop client cases of gRPC's interop-test-descriptions.md, run with our GrpcClient.
 * Each case takes a CaseContext (typed clients of TestService and UnimplementedService, a
 * factory for fresh channels, the options) and resolves when it passed; it throws
 * InteropFailure (or the unexpected GrpcError) saying why when it did not.
 */
import { type DeepPartial, type GrpcClient, GrpcError, Metadata, type MessageStream, wasCompressed, withoutCompression } from '../lib/core.js';
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
  RequestQueue,
  soak,
  SPECIAL_STATUS,
  STREAMING_REQUEST_SIZES,
  STREAMING_RESPONSE_SIZES,
  withTimeout,
  zeros,
} from './case-support.js';
import type { StreamingOutputCallRequest, TestServiceStub, UnimplementedServiceStub } from './generated/grpc.testing.js';

/** A client of grpc.testing.TestService. */
export type TestServiceClient = GrpcClient<typeof TestServiceStub>;

/** What a case runs with. */
export interface CaseContext {
  /** The client most cases use. */
  client: TestServiceClient;
  /** A client of grpc.testing.UnimplementedService on the same server. */
  unimplemented: GrpcClient<typeof UnimplementedServiceStub>;
  /** A client on a new channel (channel_soak makes one per iteration and closes it). */
  newClient(): TestServiceClient;
  options: CaseOptions;
}

/** One case. */
export type InteropCase = (context: CaseContext) => Promise<void>;

/** The SimpleRequest of large_unary (and of the unary calls of several other cases). */
const largeRequest = { response_size: LARGE_RESPONSE_SIZE, payload: { body: zeros(LARGE_REQUEST_SIZE) } };

/** The streamed request asking for one response of `size` bytes and sending `payloadSize` bytes. */
function outputRequest(size: number, payloadSize: number): DeepPartial<StreamingOutputCallRequest> {
  return { response_parameters: [{ size }], payload: { body: zeros(payloadSize) } };
}

/** Every message of a response stream; throws the call's GrpcError if it fails. */
async function collect<T>(stream: MessageStream<T>): Promise<T[]> {
  const messages: T[] = [];
  for await (const message of stream) messages.push(message);
  return messages;
}

/** The GrpcError a promise rejects with; fails the case if it resolves. */
async function rejection(promise: Promise<unknown>, what: string): Promise<GrpcError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GrpcError) return error;
    throw error;
  }
  throw new InteropFailure(`${what}: expected the call to fail, but it succeeded`);
}

async function largeUnary(client: TestServiceClient): Promise<void> {
  const response = await client.UnaryCall(largeRequest);
  checkEqual(response.payload?.type, 'COMPRESSABLE', 'payload type');
  checkZeros(response.payload?.body, LARGE_RESPONSE_SIZE, 'response');
}

function checkEcho(headers: Metadata, trailers: Metadata, what: string): void {
  const initial = headers.get(ECHO_INITIAL_KEY);
  check(initial.length === 1 && initial[0] === ECHO_INITIAL_VALUE, `${what}: initial metadata ${ECHO_INITIAL_KEY} was ${JSON.stringify(initial)}`);
  const trailing = trailers.get(ECHO_TRAILING_KEY);
  check(
    trailing.length === 1 && Buffer.isBuffer(trailing[0]) && trailing[0].equals(ECHO_TRAILING_VALUE),
    `${what}: trailing metadata ${ECHO_TRAILING_KEY} was ${JSON.stringify(trailing)}`,
  );
}

/** The cases, by name. */
export const cases: Record<CaseName, InteropCase> = {
  async empty_unary({ client }) {
    const response = await client.EmptyCall({});
    check(response !== null && typeof response === 'object', 'EmptyCall returned no message');
  },

  async large_unary({ client }) {
    await largeUnary(client);
  },

  async client_compressed_unary({ client }) {
    const probe = await rejection(client.UnaryCall({ ...largeRequest, expect_compressed: { value: true } }), 'uncompressed probe');
    checkStatus(probe, CODE.INVALID_ARGUMENT, 'uncompressed probe with expect_compressed');
    for (const compressed of [true, false]) {
      const response = await client.UnaryCall(
        { ...largeRequest, expect_compressed: { value: compressed } },
        { compression: compressed ? 'gzip' : 'identity' },
      );
      checkZeros(response.payload?.body, LARGE_RESPONSE_SIZE, `${compressed ? 'compressed' : 'uncompressed'} call`);
    }
  },

  async server_compressed_unary({ client, options }) {
    for (const compressed of [true, false]) {
      const response = await client.UnaryCall({ ...largeRequest, response_compressed: { value: compressed } });
      checkZeros(response.payload?.body, LARGE_RESPONSE_SIZE, `response_compressed ${compressed}`);
      if (options.checkResponseCompression) checkEqual(wasCompressed(response), compressed, `compressed flag with response_compressed ${compressed}`);
    }
  },

  async client_streaming({ client }) {
    const response = await client.StreamingInputCall(STREAMING_REQUEST_SIZES.map((size) => ({ payload: { body: zeros(size) } })));
    checkEqual(response.aggregated_payload_size, 74922, 'aggregated_payload_size');
  },

  async client_compressed_streaming({ client }) {
    const [first, second] = COMPRESSED_STREAMING_REQUEST_SIZES;
    const probe = await rejection(
      client.StreamingInputCall([{ expect_compressed: { value: true }, payload: { body: zeros(first) } }]),
      'uncompressed probe',
    );
    checkStatus(probe, CODE.INVALID_ARGUMENT, 'uncompressed probe with expect_compressed');
    const response = await client.StreamingInputCall(
      [
        { expect_compressed: { value: true }, payload: { body: zeros(first) } },
        withoutCompression({ expect_compressed: { value: false }, payload: { body: zeros(second) } }),
      ],
      { compression: 'gzip' },
    );
    checkEqual(response.aggregated_payload_size, 73086, 'aggregated_payload_size');
  },

  async server_streaming({ client }) {
    const responses = await collect(client.StreamingOutputCall({ response_parameters: STREAMING_RESPONSE_SIZES.map((size) => ({ size })) }));
    checkEqual(responses.length, STREAMING_RESPONSE_SIZES.length, 'number of responses');
    responses.forEach((response, i) => checkZeros(response.payload?.body, STREAMING_RESPONSE_SIZES[i], `response ${i}`));
  },

  async server_compressed_streaming({ client, options }) {
    const responses = await collect(
      client.StreamingOutputCall({
        response_parameters: COMPRESSED_STREAMING_RESPONSES.map(({ size, compressed }) => ({ size, compressed: { value: compressed } })),
      }),
    );
    checkEqual(responses.length, COMPRESSED_STREAMING_RESPONSES.length, 'number of responses');
    responses.forEach((response, i) => {
      const expected = COMPRESSED_STREAMING_RESPONSES[i];
      checkZeros(response.payload?.body, expected.size, `response ${i}`);
      if (options.checkResponseCompression) checkEqual(wasCompressed(response), expected.compressed, `compressed flag of response ${i}`);
    });
  },

  async ping_pong({ client }) {
    const requests = new RequestQueue<DeepPartial<StreamingOutputCallRequest>>();
    const call = client.call.FullDuplexCall(requests);
    const responses = call.responses[Symbol.asyncIterator]();
    for (let i = 0; i < STREAMING_RESPONSE_SIZES.length; i++) {
      requests.push(outputRequest(STREAMING_RESPONSE_SIZES[i], STREAMING_REQUEST_SIZES[i]));
      const next = await responses.next();
      check(!next.done, `the stream ended after ${i} responses`);
      checkZeros(next.value.payload?.body, STREAMING_RESPONSE_SIZES[i], `response ${i}`);
    }
    requests.end();
    const last = await responses.next();
    check(last.done === true, 'the server sent more than four responses');
    checkStatus(await call.status, CODE.OK, 'FullDuplexCall');
  },

  async empty_stream({ client }) {
    const call = client.call.FullDuplexCall([]);
    const responses = await collect(call.responses);
    checkEqual(responses.length, 0, 'number of responses');
    checkStatus(await call.status, CODE.OK, 'FullDuplexCall');
  },

  async custom_metadata({ client }) {
    const metadata = () => new Metadata().add(ECHO_INITIAL_KEY, ECHO_INITIAL_VALUE).add(ECHO_TRAILING_KEY, ECHO_TRAILING_VALUE);
    const unary = client.call.UnaryCall(largeRequest, { metadata: metadata() });
    checkZeros((await unary.response).payload?.body, LARGE_RESPONSE_SIZE, 'UnaryCall response');
    checkEcho(await unary.headers, await unary.trailers, 'UnaryCall');

    const duplex = client.call.FullDuplexCall([outputRequest(LARGE_RESPONSE_SIZE, LARGE_REQUEST_SIZE)], { metadata: metadata() });
    const responses = await collect(duplex.responses);
    checkEqual(responses.length, 1, 'number of FullDuplexCall responses');
    checkZeros(responses[0].payload?.body, LARGE_RESPONSE_SIZE, 'FullDuplexCall response');
    checkEcho(await duplex.headers, await duplex.trailers, 'FullDuplexCall');
  },

  async status_code_and_message({ client }) {
    const unary = client.call.UnaryCall({ response_status: ECHO_STATUS });
    checkStatus(await unary.status, ECHO_STATUS.code, 'UnaryCall', ECHO_STATUS.message);
    const duplex = client.call.FullDuplexCall([{ response_status: ECHO_STATUS }]);
    duplex.responses.subscribe({ error: () => undefined });
    checkStatus(await duplex.status, ECHO_STATUS.code, 'FullDuplexCall', ECHO_STATUS.message);
  },

  async special_status_message({ client }) {
    const unary = client.call.UnaryCall({ response_status: SPECIAL_STATUS });
    checkStatus(await unary.status, SPECIAL_STATUS.code, 'UnaryCall', SPECIAL_STATUS.message);
  },

  async unimplemented_method({ client }) {
    checkStatus(await client.call.UnimplementedCall({}).status, CODE.UNIMPLEMENTED, 'TestService/UnimplementedCall');
  },

  async unimplemented_service({ unimplemented }) {
    checkStatus(await unimplemented.call.UnimplementedCall({}).status, CODE.UNIMPLEMENTED, 'UnimplementedService/UnimplementedCall');
  },

  async cancel_after_begin({ client }) {
    const requests = new RequestQueue<never>();
    const call = client.call.StreamingInputCall(requests);
    call.cancel();
    checkStatus(await call.status, CODE.CANCELLED, 'StreamingInputCall');
  },

  async cancel_after_first_response({ client }) {
    const requests = new RequestQueue<DeepPartial<StreamingOutputCallRequest>>();
    const call = client.call.FullDuplexCall(requests);
    const responses = call.responses[Symbol.asyncIterator]();
    requests.push(outputRequest(31415, 27182));
    const first = await responses.next();
    check(!first.done, 'the stream ended before the first response');
    checkZeros(first.value.payload?.body, 31415, 'first response');
    call.cancel();
    checkStatus(await call.status, CODE.CANCELLED, 'FullDuplexCall');
  },

  async timeout_on_sleeping_server({ client }) {
    const requests = new RequestQueue<DeepPartial<StreamingOutputCallRequest>>();
    const call = client.call.FullDuplexCall(requests, { timeout: 1 });
    call.responses.subscribe({ error: () => undefined });
    requests.push({ payload: { body: zeros(27182) } });
    checkStatus(await call.status, CODE.DEADLINE_EXCEEDED, 'FullDuplexCall with a 1 ms timeout');
    requests.end();
  },

  async rpc_soak({ client, options }) {
    await soak(options.soak, () => largeUnary(client));
  },

  async channel_soak({ newClient, options }) {
    await soak(options.soak, async () => {
      const client = newClient();
      try {
        await largeUnary(client);
      } finally {
        client.close();
      }
    });
  },
};

/** How long one case may take before it counts as hung (default 60 s; soak cases get their overall timeout on top). */
export const DEFAULT_CASE_TIMEOUT_MS = 60_000;

/** Runs one case, or every case for `all`, each bounded by `timeoutMs`; throws the first failure, naming its case. */
export async function runCase(name: CaseName | 'all', context: CaseContext, timeoutMs = DEFAULT_CASE_TIMEOUT_MS): Promise<void> {
  const names = name === 'all' ? CASE_NAMES : [name];
  for (const each of names) {
    const limit = timeoutMs + (each.endsWith('_soak') ? context.options.soak.overallTimeoutSeconds * 1000 : 0);
    try {
      await withTimeout(cases[each](context), limit, each);
    } catch (error) {
      const reason = error instanceof GrpcError ? `unexpected ${error.toString()}` : ((error as Error)?.message ?? String(error));
      throw new InteropFailure(`${each}: ${reason}`);
    }
  }
}
