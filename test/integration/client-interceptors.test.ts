/**
 * Client interceptors: a chain run in order around every call, that can add metadata (an auth
 * token fetched asynchronously), observe the final status (logging), change call options, and
 * end a call itself.
 */
import * as grpc from '@grpc/grpc-js';
import { lastValueFrom, toArray } from 'rxjs';
import { type CallStatus, GrpcClient, GrpcError, type Interceptor, Status } from '../../lib/index.js';
import { grpcJsExampleImplementation, startGrpcJsServer } from '../helpers/grpc-js.js';
import { typedExampleStub as exampleStub } from '../helpers/typed-example.js';

/** A token source that answers asynchronously, as a real one would. */
async function fetchToken(): Promise<string> {
  await new Promise((resolve) => setImmediate(resolve));
  return 'secret-token';
}

/** The auth interceptor of the issue: adds `authorization` after an asynchronous lookup. */
const auth: Interceptor = async (info, next) => {
  info.metadata.set('authorization', `Bearer ${await fetchToken()}`);
  return next(info);
};

function checkAuth(metadata: grpc.Metadata): grpc.ServiceError | null {
  if (metadata.get('authorization')[0] === 'Bearer secret-token') return null;
  return Object.assign(new Error('no token'), { code: grpc.status.UNAUTHENTICATED, details: 'no token', metadata: new grpc.Metadata() });
}

describe('client interceptors against a grpc-js server that requires a token', () => {
  let server: grpc.Server;
  let target: string;
  const handled: string[] = [];

  beforeAll(async () => {
    const running = await startGrpcJsServer({
      ...grpcJsExampleImplementation,
      unary_unary(call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) {
        handled.push(call.request.value);
        const denied = checkAuth(call.metadata);
        if (denied) return callback(denied);
        if (call.request.value === 'fail') return callback({ code: grpc.status.NOT_FOUND, details: 'missing' });
        // Node's HTTP/2 server joins the repeated x-order fields with ", ".
        callback(null, { message: `${call.request.value}:${call.metadata.get('x-order').join('|')}`, seqno: Number(call.getDeadline() !== Infinity) });
      },
      unary_stream(call: grpc.ServerWritableStream<any, any>) {
        const denied = checkAuth(call.metadata);
        if (denied) return call.destroy(denied);
        call.write({ message: 'one', seqno: 1 });
        call.write({ message: 'two', seqno: 2 });
        call.end();
      },
    });
    server = running.server;
    target = `127.0.0.1:${running.port}`;
  });

  afterAll(() => server.forceShutdown());

  it('without the auth interceptor the server refuses the call', async () => {
    const client = new GrpcClient(target, exampleStub);
    try {
      await expect(client.unary_unary({ value: 'A', multiplier: 1 })).rejects.toMatchObject({ code: Status.UNAUTHENTICATED });
    } finally {
      client.close();
    }
  });

  it('an async interceptor adds the token; a logging interceptor observes every status', async () => {
    const log: string[] = [];
    const logging: Interceptor = async (info, next) => {
      const status = await next(info);
      log.push(`${info.method.name} ${Status[status.code]}`);
      return status;
    };
    const client = new GrpcClient(target, exampleStub, { interceptors: [logging, auth] });
    try {
      await expect(client.unary_unary({ value: 'A', multiplier: 1 })).resolves.toMatchObject({ message: 'A:' });
      await expect(client.unary_unary({ value: 'fail', multiplier: 1 })).rejects.toMatchObject({ code: Status.NOT_FOUND, message: 'missing' });
      await expect(lastValueFrom(client.unary_stream({ value: 'S', multiplier: 1 }).pipe(toArray()))).resolves.toHaveLength(2);
      const call = client.call.unary_unary({ value: 'B', multiplier: 1 });
      await call.status;
      expect(log).toEqual(['unary_unary OK', 'unary_unary NOT_FOUND', 'unary_stream OK', 'unary_unary OK']);
    } finally {
      client.close();
    }
  });

  it('interceptors run in the order given, each seeing what the earlier ones set, and unwind in reverse', async () => {
    const trace: string[] = [];
    const step =
      (name: string): Interceptor =>
      async (info, next) => {
        trace.push(`${name} in`);
        info.metadata.add('x-order', name);
        const status = await next(info);
        trace.push(`${name} out ${Status[status.code]}`);
        return status;
      };
    const client = new GrpcClient(target, exampleStub, { interceptors: [step('a'), auth, step('b'), step('c')] });
    try {
      await expect(client.unary_unary({ value: 'O', multiplier: 1 })).resolves.toEqual({ message: 'O:a, b, c', seqno: 0 });
      expect(trace).toEqual(['a in', 'b in', 'c in', 'c out OK', 'b out OK', 'a out OK']);
    } finally {
      client.close();
    }
  });

  it('an interceptor can change the call options: a deadline it adds is sent and enforced', async () => {
    const withDeadline =
      (timeout: number): Interceptor =>
      (info, next) =>
        next({ ...info, options: { ...info.options, timeout } });
    const client = new GrpcClient(target, exampleStub, { interceptors: [auth, withDeadline(10_000)] });
    const never = new GrpcClient(target, exampleStub, { interceptors: [auth, withDeadline(0)] });
    try {
      // seqno 1: the handler saw a finite deadline.
      await expect(client.unary_unary({ value: 'D', multiplier: 1 })).resolves.toMatchObject({ seqno: 1 });
      await expect(never.unary_unary({ value: 'E', multiplier: 1 })).rejects.toMatchObject({ code: Status.DEADLINE_EXCEEDED });
    } finally {
      never.close();
      client.close();
    }
  });

  it('an interceptor can end a call itself without reaching the server, and can replace a status', async () => {
    const refuse: Interceptor = async (info, next) => {
      if ((info.metadata.get('x-block')[0] as string | undefined) === 'yes') throw new GrpcError(Status.PERMISSION_DENIED, 'blocked locally');
      return next(info);
    };
    const hideNotFound: Interceptor = async (info, next) => {
      const status: CallStatus = await next(info);
      return status.code === Status.NOT_FOUND ? { ...status, code: Status.UNAVAILABLE, message: 'try later' } : status;
    };
    const client = new GrpcClient(target, exampleStub, { interceptors: [hideNotFound, refuse, auth] });
    try {
      const before = handled.length;
      await expect(client.unary_unary({ value: 'X', multiplier: 1 }, { metadata: { 'x-block': 'yes' } })).rejects.toMatchObject({
        code: Status.PERMISSION_DENIED,
        message: 'blocked locally',
      });
      expect(handled.length).toBe(before);
      await expect(client.unary_unary({ value: 'fail', multiplier: 1 })).rejects.toMatchObject({ code: Status.UNAVAILABLE, message: 'try later' });
      expect(handled.length).toBe(before + 1);
    } finally {
      client.close();
    }
  });
});
