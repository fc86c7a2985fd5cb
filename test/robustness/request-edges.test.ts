/**
 * Issue 9, items 2 and 4: the grpc-timeout values the issue names that server-deadlines.test.ts
 * does not send (`1234s`, `18f6n`, and the legal `3000000S`, beyond Node's timer maximum), and
 * metadata keys that are Object.prototype's own names, sent on the wire.
 */
import path from 'node:path';
import protobuf from 'protobufjs';
import { type GrpcContext, Status } from '../../lib/index.js';
import { type ExampleRequest, exampleImplementation } from '../helpers/example-service.js';
import { expectHealthy, Harness } from '../helpers/harness.js';
import { frame, grpcHeaders, grpcMessage, grpcStatus, parseMessages, rawCall } from '../helpers/raw-http2.js';

const root = protobuf.loadSync(path.resolve('protos/example.proto'));
const ExampleRequestType = root.lookupType('nameko.ExampleRequest');
const ExampleReplyType = root.lookupType('nameko.ExampleReply');
const request = (value: string) => frame(ExampleRequestType.encode(ExampleRequestType.fromObject({ value })).finish());

describe('grpc-timeout values from the issue', () => {
  const harness = new Harness();
  afterEach(() => harness.close());

  it.each(['1234s', '18f6n'])('refuses %j with INTERNAL (grpc-js accepts it: its pattern is unanchored)', async (timeout) => {
    const { port } = await harness.serve(exampleImplementation);
    const session = await harness.raw(port);
    const response = await rawCall(session, grpcHeaders('/nameko.example/unary_unary', { 'grpc-timeout': timeout }), request('a'));
    expect(grpcStatus(response)).toBe(Status.INTERNAL);
    expect(grpcMessage(response)).toMatch(/grpc-timeout/);
    await expectHealthy(harness.client(port));
  });

  it('keeps 3000000S (~34.7 days, past the 2^31-1 ms timer limit) alive', async () => {
    const { port } = await harness.serve({
      async unary_unary(_request: ExampleRequest, ctx: GrpcContext) {
        // A timer set beyond 2^31-1 ms would fire after ~1 ms.
        await new Promise((resolve) => setTimeout(resolve, 30));
        return { message: `${ctx.cancelled ? 'cancelled' : 'alive'} ${Math.round(ctx.timeRemaining / 1000)}`, seqno: 0 };
      },
    });
    const session = await harness.raw(port);
    const response = await rawCall(session, grpcHeaders('/nameko.example/unary_unary', { 'grpc-timeout': '3000000S' }), request('a'));
    expect(grpcStatus(response)).toBe(Status.OK);
    const reply = ExampleReplyType.toObject(ExampleReplyType.decode(parseMessages(response.data)[0].payload));
    const [state, seconds] = String(reply.message).split(' ');
    expect(state).toBe('alive');
    expect(Math.abs(Number(seconds) - 3_000_000)).toBeLessThan(5);
  });
});

describe("metadata keys named after Object.prototype's members", () => {
  const harness = new Harness();
  afterEach(() => harness.close());

  it('are ordinary keys: delivered as sent, nothing polluted, the server healthy', async () => {
    const { port } = await harness.serve({
      unary_unary(req: ExampleRequest, ctx: GrpcContext) {
        if (req.value === 'ok') return exampleImplementation.unary_unary(req);
        const keys = ['__proto__', 'constructor', 'hasownproperty', 'tostring', 'prototype'];
        return { message: JSON.stringify(keys.map((key) => ctx.metadata.get(key).map(String))), seqno: 0 };
      },
    });
    const session = await harness.raw(port);
    const headers = grpcHeaders('/nameko.example/unary_unary', {
      ['__proto__']: 'p',
      constructor: ['c1', 'c2'],
      hasownproperty: 'h',
      tostring: 't',
      prototype: 'x',
    });
    const response = await rawCall(session, headers, request('a'));
    expect(grpcStatus(response)).toBe(Status.OK);
    const reply = ExampleReplyType.toObject(ExampleReplyType.decode(parseMessages(response.data)[0].payload));
    expect(JSON.parse(String(reply.message))).toEqual([['p'], ['c1', 'c2'], ['h'], ['t'], ['x']]);
    expect(({} as Record<string, unknown>).p).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'p')).toBe(false);
    await expectHealthy(harness.client(port));
  });
});
