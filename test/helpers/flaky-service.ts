/**
 * nameko.example on our GrpcServer, failing on purpose: each call carries an id (`x-call-id`)
 * and a number of attempts to fail (`x-fail`, with `x-code`, default UNAVAILABLE), so tests can
 * count the attempts a retrying client makes per call and the requests each attempt carried.
 * `x-mode: after-headers` fails after sending response headers, `after-message` after the first
 * response message (both commit the call on the client).
 */
import { GrpcError, Metadata, Status, type GrpcContext, type MessageStream } from '../../lib/index.js';
import type { ExampleReply, ExampleRequest } from './example-service.js';

/** One attempt as the server saw it. */
export interface SeenAttempt {
  method: string;
  requests: string[];
}

/** Per call id, the attempts the server saw. */
export class FlakyService {
  readonly attempts = new Map<string, SeenAttempt[]>();
  private nextId = 0;

  /** Call options for a new call that fails `failures` times (with `code`), then succeeds. */
  call(failures: number, code = Status.UNAVAILABLE, mode = ''): { id: string; metadata: Record<string, string> } {
    const id = `call-${++this.nextId}`;
    return { id, metadata: { 'x-call-id': id, 'x-fail': String(failures), 'x-code': String(code), 'x-mode': mode } };
  }

  /** How many attempts of call `id` reached a handler. */
  count(id: string): number {
    return this.attempts.get(id)?.length ?? 0;
  }

  record(method: string, context: GrpcContext, requests: ExampleRequest[]): { fail: boolean; code: Status; mode: string } {
    const id = String(context.metadata.first('x-call-id'));
    const seen = this.attempts.get(id) ?? [];
    seen.push({ method, requests: requests.map((request) => request.value) });
    this.attempts.set(id, seen);
    const failures = Number(context.metadata.first('x-fail') ?? 0);
    return { fail: seen.length <= failures, code: Number(context.metadata.first('x-code') ?? Status.UNAVAILABLE), mode: String(context.metadata.first('x-mode') ?? '') };
  }

  private static async all(requests: MessageStream<ExampleRequest>): Promise<ExampleRequest[]> {
    const list: ExampleRequest[] = [];
    for await (const request of requests) list.push(request);
    return list;
  }

  /** The handlers, for `server.addService(exampleStub, flaky.implementation())`. */
  implementation() {
    // Generator handlers cannot be arrow functions: they reach the service through this.
    const flaky = this;
    return {
      unary_unary: (request: ExampleRequest, context: GrpcContext): ExampleReply => {
        const plan = this.record('unary_unary', context, [request]);
        if (plan.fail && plan.mode === 'after-headers') context.sendInitialMetadata(new Metadata({ 'x-sent': 'headers' }));
        if (plan.fail) throw new GrpcError(plan.code, 'failing on purpose');
        return { message: request.value, seqno: this.count(String(context.metadata.first('x-call-id'))) };
      },
      unary_stream: async function* (this: void, request: ExampleRequest, context: GrpcContext): AsyncIterable<ExampleReply> {
        const plan = flaky.record('unary_stream', context, [request]);
        if (plan.fail && plan.mode === 'after-message') yield { message: 'first', seqno: 1 };
        if (plan.fail) throw new GrpcError(plan.code, 'failing on purpose');
        yield { message: request.value, seqno: 1 };
        yield { message: request.value, seqno: 2 };
      },
      stream_unary: async (requests: MessageStream<ExampleRequest>, context: GrpcContext): Promise<ExampleReply> => {
        const list = await FlakyService.all(requests);
        const plan = this.record('stream_unary', context, list);
        if (plan.fail) throw new GrpcError(plan.code, 'failing on purpose');
        return { message: list.map((request) => request.value).join(','), seqno: 0 };
      },
      stream_stream: async function* (this: void, requests: MessageStream<ExampleRequest>, context: GrpcContext): AsyncIterable<ExampleReply> {
        const list = await FlakyService.all(requests);
        const plan = flaky.record('stream_stream', context, list);
        if (plan.fail) throw new GrpcError(plan.code, 'failing on purpose');
        let seqno = 0;
        for (const request of list) yield { message: request.value, seqno: ++seqno };
      },
    };
  }
}
