/**
 * Request streams: what a client-streaming or bidi call sends from an Observable (hot ones
 * included), an AsyncIterable or an Iterable, and what happens when the source fails or the
 * call ends first.
 */
import * as grpc from '@grpc/grpc-js';
import { finalize, lastValueFrom, Subject, toArray } from 'rxjs';
import { GrpcClient, Status } from '../../lib/index.js';
import { grpcJsExampleImplementation, startGrpcJsServer } from '../helpers/grpc-js.js';
import { deferred } from '../helpers/harness.js';
import { typedExampleStub as exampleStub } from '../helpers/typed-example.js';

type Request = { value: string; multiplier: number };

describe('request streams against a grpc-js server', () => {
  let server: grpc.Server;
  let client: GrpcClient<typeof exampleStub>;
  let cancelled = deferred();
  let firstRequest = deferred();

  beforeAll(async () => {
    const running = await startGrpcJsServer({
      ...grpcJsExampleImplementation,
      // Like the seed's, but fails at once on a request 'reject'.
      stream_unary(call: grpc.ServerReadableStream<any, any>, callback: grpc.sendUnaryData<any>) {
        const messages: string[] = [];
        call.on('data', (request: any) => {
          if (request.value === 'reject') callback({ code: grpc.status.INVALID_ARGUMENT, details: 'rejected early' });
          messages.push(request.value.repeat(request.multiplier || 1));
        });
        call.on('end', () => callback(null, { message: messages.join(','), seqno: 0 }));
      },
      // Answers after the first request, without waiting for the rest.
      stream_stream(call: grpc.ServerDuplexStream<any, any>) {
        call.on('cancelled', () => cancelled.resolve());
        call.once('data', (request: any) => {
          firstRequest.resolve();
          if (request.value === 'early') {
            call.write({ message: 'first only', seqno: 1 });
            call.end();
          } else {
            call.on('data', () => undefined);
          }
        });
      },
    });
    server = running.server;
    client = new GrpcClient(`127.0.0.1:${running.port}`, exampleStub);
  });

  beforeEach(() => {
    cancelled = deferred();
    firstRequest = deferred();
  });

  afterAll(() => {
    client.close();
    server.forceShutdown();
  });

  it('a hot Subject fed right after the call starts: every value is sent, and its completion ends the stream', async () => {
    const requests = new Subject<Request>();
    const reply = client.stream_unary(requests);
    requests.next({ value: 'a', multiplier: 1 });
    requests.next({ value: 'b', multiplier: 2 });
    requests.complete();
    await expect(reply).resolves.toEqual({ message: 'a,bb', seqno: 0 });
  });

  it('a hot Subject fed later, on another turn, is sent too', async () => {
    const requests = new Subject<Request>();
    const call = client.call.stream_unary(requests);
    // Another call's full round trip: the first call has long subscribed by then.
    await client.unary_unary({ value: 'meanwhile', multiplier: 1 });
    requests.next({ value: 'late', multiplier: 1 });
    requests.complete();
    await expect(call.response).resolves.toEqual({ message: 'late', seqno: 0 });
  });

  it('a failing request Observable cancels the call; the server sees it cancelled', async () => {
    const requests = new Subject<Request>();
    const call = client.call.stream_stream(requests);
    requests.next({ value: 'x', multiplier: 1 });
    await firstRequest.promise;
    requests.error(new Error('source broke'));
    await expect(call.status).resolves.toMatchObject({ code: Status.CANCELLED });
    await cancelled.promise;
  });

  it('when the server ends the call first, the client unsubscribes from the request Observable', async () => {
    const requests = new Subject<Request>();
    const unsubscribed = deferred();
    const replies = lastValueFrom(client.stream_stream(requests.pipe(finalize(() => unsubscribed.resolve()))).pipe(toArray()));
    requests.next({ value: 'early', multiplier: 1 });
    await expect(replies).resolves.toEqual([{ message: 'first only', seqno: 1 }]);
    await unsubscribed.promise;
    expect(requests.observed).toBe(false);
  });

  it('a server failing the call while requests are still open ends the call at once', async () => {
    const requests = new Subject<Request>();
    const reply = client.stream_unary(requests);
    requests.next({ value: 'reject', multiplier: 1 });
    await expect(reply).rejects.toMatchObject({ code: Status.INVALID_ARGUMENT, message: 'rejected early' });
    expect(requests.observed).toBe(false);
  });

  it('a server refusing a request over its 4 MiB limit while the client is still sending it ends the call RESOURCE_EXHAUSTED', async () => {
    const big = { value: 'x'.repeat(4 * 1024 * 1024 + 1), multiplier: 1 };
    await expect(client.unary_unary(big)).rejects.toMatchObject({ code: Status.RESOURCE_EXHAUSTED });
    await expect(client.stream_unary([{ value: 'small', multiplier: 1 }, big])).rejects.toMatchObject({ code: Status.RESOURCE_EXHAUSTED });
    const requests = new Subject<Request>();
    const call = client.call.stream_stream(requests);
    requests.next(big);
    await expect(call.status).resolves.toMatchObject({ code: Status.RESOURCE_EXHAUSTED });
    expect(requests.observed).toBe(false);
  });

  it('a synchronous Iterable and an AsyncIterable are sent in order', async () => {
    async function* slow() {
      for (let i = 0; i < 5; i++) {
        await new Promise((resolve) => setImmediate(resolve));
        yield { value: String(i), multiplier: 1 };
      }
    }
    await expect(client.stream_unary(slow())).resolves.toEqual({ message: '0,1,2,3,4', seqno: 0 });
    const many = Array.from({ length: 1000 }, (_, i) => ({ value: String(i % 10), multiplier: 1 }));
    await expect(client.stream_unary(many)).resolves.toEqual({ message: many.map((request) => request.value).join(','), seqno: 0 });
  });
});
